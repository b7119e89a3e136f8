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
    #[error("预案内容无法读取: {0}")]
    Malformed(String),
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
        plan.enterprise_name = plan.enterprise_name.trim().to_owned();
        plan.plan_title = plan.plan_title.trim().to_owned();
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

    /// The body paragraphs of a section: blank-line or line separated text, trimmed, without
    /// empty lines and without the Markdown heading marks a model sometimes adds.
    pub fn paragraphs(content: &str) -> impl Iterator<Item = &str> {
        content.lines().map(str::trim).filter(|l| !l.is_empty())
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
