//! A finished plan as a file: Markdown, or a Word document with a title page, a table of
//! contents and one heading per section. The plan comes from the browser as the writer left it
//! (edits included), so nothing here looks anything up.

pub mod docx;
pub mod markdown;

use serde::Deserialize;

/// The most sections a plan can have; more is not a plan but a mistake.
const MAX_SECTIONS: usize = 50;
/// The most characters a section may hold (a generous page count, far above any model answer).
const MAX_SECTION_CHARS: usize = 50_000;
/// The most characters of a name, a title or the date.
const MAX_NAME_CHARS: usize = 100;
/// The largest form the export endpoints read: every section full, URL-encoded (up to nine
/// bytes a Chinese character).
pub const MAX_FORM_BYTES: usize = 8 * 1024 * 1024;

/// A plan as the writer wants it filed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanDocument {
    pub enterprise_name: String,
    /// The plan type, e.g. 生产安全事故应急预案.
    pub plan_title: String,
    /// The date printed on the title page and in the file name, `YYYY-MM-DD`.
    pub date: String,
    pub sections: Vec<PlanSection>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanSection {
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
    /// Reads and checks a plan sent as JSON.
    pub fn from_json(raw: &str) -> Result<Self, ExportError> {
        let mut plan: Self =
            serde_json::from_str(raw).map_err(|e| ExportError::Malformed(e.to_string()))?;
        plan.enterprise_name = clean(plan.enterprise_name.trim());
        plan.plan_title = clean(plan.plan_title.trim());
        plan.date = clean(plan.date.trim());
        for section in &mut plan.sections {
            section.title = clean(section.title.trim());
            section.content = clean(&section.content);
        }
        for (name, value) in [
            ("企业名称", &plan.enterprise_name),
            ("预案名称", &plan.plan_title),
            ("日期", &plan.date),
        ]
        .into_iter()
        .chain(plan.sections.iter().map(|s| ("章节标题", &s.title)))
        {
            if value.chars().count() > MAX_NAME_CHARS {
                return Err(ExportError::NameTooLong(name));
            }
        }
        if plan.enterprise_name.is_empty() {
            return Err(ExportError::NoEnterprise);
        }
        if plan.sections.is_empty() {
            return Err(ExportError::Empty);
        }
        if plan.sections.len() > MAX_SECTIONS {
            return Err(ExportError::TooManySections);
        }
        if let Some(long) = plan
            .sections
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

/// A two-section plan (总则 with `first`, then 企业概况) for the renderers' tests.
#[cfg(test)]
pub(crate) fn sample_plan(first: &str) -> PlanDocument {
    let section = |title: &str, content: &str| PlanSection {
        title: title.into(),
        content: content.into(),
    };
    PlanDocument {
        enterprise_name: "测试企业".into(),
        plan_title: "生产安全事故应急预案".into(),
        date: "2026-11-25".into(),
        sections: vec![section("总则", first), section("企业概况", "概况")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_json(name: &str, sections: usize) -> String {
        let sections: Vec<_> = (0..sections)
            .map(|i| serde_json::json!({"title": format!("第{i}章"), "content": "正文"}))
            .collect();
        serde_json::json!({
            "enterprise_name": name, "plan_title": "生产安全事故应急预案",
            "date": "2026-11-25", "sections": sections
        })
        .to_string()
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
        let raw = serde_json::json!({
            "enterprise_name": "企\u{0B}业", "plan_title": "预案", "date": "",
            "sections": [{"title": "总则", "content": "## 一、目的\n\n**要求**：迅速\u{0C}处置\n"}]
        });
        let plan = PlanDocument::from_json(&raw.to_string()).unwrap();
        assert_eq!(plan.enterprise_name, "企业");
        let paragraphs: Vec<_> = PlanDocument::paragraphs(&plan.sections[0].content).collect();
        assert_eq!(paragraphs, ["一、目的", "要求：迅速处置"]);
    }

    #[test]
    fn file_names_are_safe() {
        let mut plan = PlanDocument::from_json(&plan_json("A/B:企业", 1)).unwrap();
        assert_eq!(
            plan.file_name("docx"),
            "A_B_企业-生产安全事故应急预案-2026-11-25.docx"
        );
        plan.date = "2026/11/25".into();
        assert!(plan.file_name("md").ends_with("2026_11_25.md"));
    }
}
