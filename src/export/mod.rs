//! A finished plan as a file: Markdown, or a Word document with a title page, a table of
//! contents and one chapter per written section. The plan comes from the browser as the writer
//! left it (edits included, `model::Plan`), so nothing here looks anything up.

pub mod docx;
pub mod http;
pub mod markdown;

use crate::model::{Plan, SectionStatus};

/// The most sections a plan can have; more is not a plan but a mistake.
const MAX_SECTIONS: usize = 50;
/// The most characters a section may hold (a generous page count, far above any model answer).
const MAX_SECTION_CHARS: usize = 50_000;
/// The most characters of a name, a title or the date.
const MAX_NAME_CHARS: usize = 100;
/// The largest form the export endpoints read: every section full, URL-encoded (up to nine
/// bytes a Chinese character).
pub const MAX_FORM_BYTES: usize = 8 * 1024 * 1024;

/// A section that failed part-way is exported, marked, so nothing is lost and nobody files it
/// unread.
const INCOMPLETE: &str = "【本章未完整生成，请核对补充】";

/// A plan as it is printed.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDocument {
    pub enterprise_name: String,
    /// The plan type, e.g. 综合应急预案.
    pub plan_title: String,
    /// The date printed on the title page and in the file name, `YYYY-MM-DD`.
    pub date: String,
    pub chapters: Vec<Chapter>,
}

/// A written section as printed: its title and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Chapter {
    pub title: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("预案数据格式不正确，请刷新页面后重试")]
    Malformed(String),
    #[error("{0}过长（最多 {MAX_NAME_CHARS} 字）")]
    NameTooLong(&'static str),
    #[error("请填写企业名称后再导出")]
    NoEnterprise,
    #[error("预案中还没有任何章节")]
    Empty,
    #[error("章节过多（最多 {MAX_SECTIONS} 个）")]
    TooManySections,
    #[error("章节“{0}”过长（最多 {MAX_SECTION_CHARS} 字）")]
    SectionTooLong(String),
    #[error("生成 Word 文档失败: {0}")]
    Docx(String),
}

impl PlanDocument {
    /// Reads and checks a plan sent as JSON: its sections with text become chapters.
    pub fn from_json(raw: &str) -> Result<Self, ExportError> {
        let sent: Plan =
            serde_json::from_str(raw).map_err(|e| ExportError::Malformed(e.to_string()))?;
        if sent.sections.len() > MAX_SECTIONS {
            return Err(ExportError::TooManySections);
        }
        let chapters = sent
            .sections
            .iter()
            .filter(|s| !s.text().trim().is_empty())
            .map(|s| Chapter {
                title: clean(s.section_title.trim()),
                content: if s.status == SectionStatus::Done {
                    clean(s.text())
                } else {
                    format!("{}\n\n{INCOMPLETE}", clean(s.text().trim_end()))
                },
            })
            .collect();
        let plan = Self {
            enterprise_name: clean(sent.enterprise_name.trim()),
            plan_title: clean(sent.template_name.trim()),
            date: String::new(),
            chapters,
        };
        for (name, value) in [
            ("企业名称", &plan.enterprise_name),
            ("预案名称", &plan.plan_title),
            ("日期", &plan.date),
        ]
        .into_iter()
        .chain(plan.chapters.iter().map(|s| ("章节标题", &s.title)))
        {
            if value.chars().count() > MAX_NAME_CHARS {
                return Err(ExportError::NameTooLong(name));
            }
        }
        if plan.enterprise_name.is_empty() {
            return Err(ExportError::NoEnterprise);
        }
        if plan.chapters.is_empty() {
            return Err(ExportError::Empty);
        }
        if let Some(long) = plan
            .chapters
            .iter()
            .find(|s| s.content.chars().count() > MAX_SECTION_CHARS)
        {
            return Err(ExportError::SectionTooLong(long.title.clone()));
        }
        Ok(plan)
    }

    /// `<enterprise>-<plan title>-<date>.<ext>`, with characters no file system accepts
    /// replaced.
    pub fn file_name(&self, extension: &str) -> String {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
                    c if c.is_control() => '_',
                    c => c,
                })
                .collect()
        };
        format!(
            "{}-{}-{}.{extension}",
            safe(&self.enterprise_name),
            safe(&self.plan_title),
            safe(&self.date)
        )
    }

    /// The body paragraphs of a section: one per line, trimmed, without empty lines and
    /// without the Markdown heading and bold marks a model sometimes adds.
    pub fn paragraphs(content: &str) -> impl Iterator<Item = String> + '_ {
        content
            .lines()
            .map(|l| l.trim().trim_start_matches('#').trim().replace("**", ""))
            .filter(|l| !l.is_empty())
    }
}

/// Drops what XML 1.0 cannot hold (control characters other than tab and line breaks, which
/// pasted text sometimes carries); Word refuses a document with them.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// A two-chapter plan (总则 with `first`, then 企业概况) for the renderers' tests.
#[cfg(test)]
pub(crate) fn sample_plan(first: &str) -> PlanDocument {
    let chapter = |title: &str, content: &str| Chapter {
        title: title.into(),
        content: content.into(),
    };
    PlanDocument {
        enterprise_name: "测试企业".into(),
        plan_title: "生产安全事故应急预案".into(),
        date: "2026-11-25".into(),
        chapters: vec![chapter("总则", first), chapter("企业概况", "概况")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(title: &str, content: &str, status: &str) -> serde_json::Value {
        serde_json::json!({
            "section_id": title, "section_title": title, "content": content,
            "status": status, "cached": false, "stale": false, "error": null
        })
    }

    fn plan_with(name: &str, sections: Vec<serde_json::Value>) -> String {
        serde_json::json!({
            "run": 1, "template_id": "emergency_plan", "template_name": "生产安全事故应急预案",
            "context_section": null, "enterprise_name": name,
            "data": {"enterprise_info": {}}, "sections": sections
        })
        .to_string()
    }

    fn plan_json(name: &str, sections: usize) -> String {
        let sections = (0..sections)
            .map(|i| section(&format!("第{i}章"), "正文", "done"))
            .collect();
        plan_with(name, sections)
    }

    #[test]
    fn checks_what_it_reads() {
        assert!(PlanDocument::from_json(&plan_json("测试企业", 2)).is_ok());
        assert_eq!(
            PlanDocument::from_json(&plan_json("  ", 2)),
            Err(ExportError::NoEnterprise)
        );
        assert_eq!(
            PlanDocument::from_json(&plan_json("测试企业", 0)),
            Err(ExportError::Empty)
        );
        assert!(matches!(
            PlanDocument::from_json("{"),
            Err(ExportError::Malformed(_))
        ));
        assert_eq!(
            PlanDocument::from_json(&plan_json(&"长".repeat(101), 1)),
            Err(ExportError::NameTooLong("企业名称"))
        );
    }

    #[test]
    fn text_is_cleaned_for_word() {
        let raw = plan_with(
            "企\u{0B}业",
            vec![section(
                "总则",
                "## 一、目的\n\n**要求**：迅速\u{0C}处置\n",
                "done",
            )],
        );
        let plan = PlanDocument::from_json(&raw).unwrap();
        assert_eq!(plan.enterprise_name, "企业");
        let paragraphs: Vec<_> = PlanDocument::paragraphs(&plan.chapters[0].content).collect();
        assert_eq!(paragraphs, ["一、目的", "要求：迅速处置"]);
    }

    #[test]
    fn unwritten_sections_are_left_out_and_unfinished_ones_marked() {
        let raw = plan_with(
            "测试企业",
            vec![
                section("总则", "完整", "done"),
                section("企业概况", "", "failed"),
                section("风险评估结果", "写了一半 ", "failed"),
            ],
        );
        let plan = PlanDocument::from_json(&raw).unwrap();
        let titles: Vec<_> = plan.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["总则", "风险评估结果"]);
        assert_eq!(plan.chapters[0].content, "完整");
        assert_eq!(
            plan.chapters[1].content,
            format!("写了一半\n\n{INCOMPLETE}")
        );
    }

    #[test]
    fn file_names_are_safe() {
        let mut plan = PlanDocument::from_json(&plan_json("A/B:企业", 1)).unwrap();
        plan.date = "2026-11-25".into();
        assert_eq!(
            plan.file_name("docx"),
            "A_B_企业-生产安全事故应急预案-2026-11-25.docx"
        );
        plan.date = "2026/11/25".into();
        assert!(plan.file_name("md").ends_with("2026_11_25.md"));
    }
}
