//! A finished plan as a file: Markdown, or a Word document with a title page, a table of
//! contents and one chapter per written section. The plan comes from the browser as the writer
//! left it (edits included, `model::Plan`), so nothing here looks anything up.

pub mod docx;
pub mod http;
pub mod markdown;

/// The files a plan is exported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Docx,
    Markdown,
}

use crate::{
    model::{
        check::{clause_rows, CoveringSection},
        plan::{MAX_NAME_CHARS, MAX_SECTIONS, MAX_SECTION_CHARS},
        ClauseRow, Plan, PlanMeta, SectionStatus,
    },
    templates::{Registry, Template},
};

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
    /// 预案编号, 版本号 and 主要负责人, as the writer gave them (possibly empty).
    pub meta: PlanMeta,
    pub chapters: Vec<Chapter>,
    /// The annexes (a comprehensive plan's), printed after the chapters without a number.
    pub annexes: Option<Chapter>,
    /// The self-check by clause, printed as an appendix when not empty.
    pub self_check: Vec<ClauseRow>,
    /// What the check against the enterprise's profile found: section, paragraph, kind and
    /// what is wrong; printed in the appendix after the clauses.
    pub findings: Vec<[String; 4]>,
}

impl PlanDocument {
    /// The self-check table's rows: clause, element, section, result.
    pub fn self_check_rows(&self) -> Vec<[String; 4]> {
        self.self_check
            .iter()
            .map(|r| {
                let result = match r.present {
                    Some(true) => "具备",
                    Some(false) => "缺少",
                    None => "未生成",
                };
                [
                    r.clause.clone(),
                    r.name.clone(),
                    r.section_title.clone(),
                    result.to_owned(),
                ]
            })
            .collect()
    }
}

/// The appendix holding the self-check table.
pub const SELF_CHECK_TITLE: &str = "附录 GB/T 29639-2020 要素自查表";
/// The part of the appendix holding what the check against the profile found.
pub const FINDINGS_TITLE: &str = "与企业档案的核对结果";
/// The findings table's header.
pub const FINDINGS_HEADER: [&str; 4] = ["章节", "段落", "类别", "说明"];

/// Every clause `template` covers: where, and whether the text sent for that section has it
/// (`None`: no text), checked here.
fn self_check(template: &Template, sent: &Plan) -> Vec<ClauseRow> {
    let sections: Vec<CoveringSection<'_>> = template
        .sections
        .iter()
        .map(|section| CoveringSection {
            title: &section.title,
            elements: &section.elements,
            check: sent
                .sections
                .iter()
                .find(|s| s.section_id == section.id)
                .map(|s| s.text())
                .filter(|t| !t.trim().is_empty())
                .map(|t| section.check(t)),
        })
        .collect();
    clause_rows(&template.clauses, &sections)
}

/// The annexes of a comprehensive plan (GB/T 29639-2020 clause 9), after its chapters.
pub const ANNEXES_TITLE: &str = "附件";

/// The annexes a comprehensive plan carries: 9.1 and 9.2 are chapters of ours (by title), the
/// rest are the enterprise's own documents, marked to be filled in.
const ANNEXES: [(&str, &str, &str); 8] = [
    ("生产经营单位概况", "企业概况", ""),
    ("风险评估的结果", "风险评估结果", ""),
    ("预案体系与衔接", "", "本单位应急预案体系的构成，以及与上级单位、地方政府和周边单位应急预案的衔接关系"),
    ("应急物资装备的名录或清单", "", "物资装备的名称、型号、数量、存放位置、管理责任人及其联系电话"),
    ("有关应急部门、机构或人员的联系方式", "", "应急指挥部成员、各工作组、上级主管部门、地方政府应急管理部门及相关救援单位的联系人和电话"),
    ("格式化文本", "", "信息接报、信息处理与上报、预警发布、应急响应启动与终止等的规范化格式文本"),
    ("关键的路线、标识和图纸", "", "警报系统分布及覆盖范围、重要防护目标与危险源分布图、应急疏散路线和避难场所图、平面布置图等"),
    ("有关协议或者备忘录", "", "与相关应急救援部门或单位签订的应急救援协议或备忘录"),
];

/// The 附件 of a comprehensive plan, numbered as clause 9 lists them, after `chapters`.
fn annexes(chapters: &[Chapter]) -> Chapter {
    let lines: Vec<String> = ANNEXES
        .iter()
        .enumerate()
        .flat_map(|(i, (name, chapter, wanted))| {
            let body = match chapters.iter().position(|c| c.title == *chapter) {
                Some(at) if !chapter.is_empty() => {
                    format!("见本预案第 {} 章“{chapter}”。", at + 1)
                }
                _ if !chapter.is_empty() => format!("（待补充：{name}）"),
                _ => format!("（待补充：{wanted}）"),
            };
            [format!("附件{} {name}", i + 1), body]
        })
        .collect();
    Chapter {
        title: ANNEXES_TITLE.to_owned(),
        content: lines.join("\n"),
    }
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
    /// The self-check is made here, from the registry's template and the text as sent; a check
    /// the browser sent along is not believed.
    pub fn from_json(raw: &str, registry: &Registry) -> Result<Self, ExportError> {
        let sent: Plan =
            serde_json::from_str(raw).map_err(|e| ExportError::Malformed(e.to_string()))?;
        Self::from_plan(&sent, registry)
    }

    /// A plan (sent by the page, or saved) as it is printed, once checked.
    pub fn from_plan(sent: &Plan, registry: &Registry) -> Result<Self, ExportError> {
        if sent.sections.len() > MAX_SECTIONS {
            return Err(ExportError::TooManySections);
        }
        // The bound is on what the writer wrote: the unfinished mark added below does not
        // count, so a section that could be saved can always be exported.
        if let Some(long) = sent
            .sections
            .iter()
            .find(|s| s.text().chars().count() > MAX_SECTION_CHARS)
        {
            return Err(ExportError::SectionTooLong(clean(
                long.section_title.trim(),
            )));
        }
        let chapters: Vec<Chapter> = sent
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
            meta: PlanMeta {
                number: clean(sent.meta.number.trim()),
                version: clean(sent.meta.version.trim()),
                principal: clean(sent.meta.principal.trim()),
            },
            annexes: (sent.template_id == "emergency_plan").then(|| annexes(&chapters)),
            chapters,
            self_check: registry
                .template(&sent.template_id)
                .map(|t| self_check(t, sent))
                .unwrap_or_default(),
            findings: sent
                .sections
                .iter()
                .flat_map(|s| {
                    s.facts.iter().map(|f| {
                        [
                            clean(s.section_title.trim()),
                            format!("第 {} 段", f.paragraph + 1),
                            f.kind.label().to_owned(),
                            clean(&f.message),
                        ]
                    })
                })
                .collect(),
        };
        for (name, value) in [
            ("企业名称", &plan.enterprise_name),
            ("预案名称", &plan.plan_title),
            ("日期", &plan.date),
            ("预案编号", &plan.meta.number),
            ("版本号", &plan.meta.version),
            ("主要负责人", &plan.meta.principal),
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

impl Chapter {
    /// Its paragraphs as printed under its heading: without a line that only repeats the
    /// chapter's title (the heading says it already), each marked when it is a sub-heading
    /// (`一、…`).
    pub fn blocks(&self) -> impl Iterator<Item = (String, bool)> + '_ {
        let title = self.title.trim();
        PlanDocument::paragraphs(&self.content)
            .filter(move |p| crate::model::check::bare_heading(p) != title)
            .map(|p| {
                let heading = is_sub_heading(&p);
                (p, heading)
            })
    }
}

/// A first-level sub-heading of a chapter: a short line numbered `一、` … `十九、`, or an
/// annex's `附件N …`.
fn is_sub_heading(line: &str) -> bool {
    const NUMERALS: &str = "一二三四五六七八九十";
    if let Some(rest) = line.strip_prefix("附件") {
        return rest.starts_with(|c: char| c.is_ascii_digit()) && line.chars().count() <= 30;
    }
    let numbered = line.chars().take_while(|c| NUMERALS.contains(*c)).count();
    numbered > 0
        && line.chars().nth(numbered) == Some('、')
        && line.chars().count() <= 30
        && !line.ends_with('。')
}

/// Drops what XML 1.0 cannot hold — control characters other than tab and line breaks, which
/// pasted text sometimes carries, and the noncharacters U+FFFE and U+FFFF — and the other
/// control characters (C1), which print as nothing; Word refuses a document with the former.
fn clean(text: &str) -> String {
    text.chars().filter(|&c| xml_char(c)).collect()
}

/// Whether `c` may stand in an XML 1.0 document and prints as something (or breaks a line).
fn xml_char(c: char) -> bool {
    match c {
        '\t' | '\n' | '\r' => true,
        '\u{FFFE}' | '\u{FFFF}' => false,
        c => !c.is_control(),
    }
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
        meta: PlanMeta {
            number: "YJYA-2026-01".into(),
            version: "V1.0".into(),
            principal: "张三".into(),
        },
        chapters: vec![
            chapter("总则", first),
            chapter("企业概况", "企业概况\n一、基本情况\n概况"),
        ],
        annexes: None,
        self_check: vec![ClauseRow {
            clause: "9.1".into(),
            name: "生产经营单位概况".into(),
            section_title: "企业概况".into(),
            present: Some(true),
        }],
        findings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::load(None).unwrap()
    }

    #[test]
    fn the_self_check_is_made_from_the_text_not_taken_from_the_browser() {
        let mut sections = vec![
            section("信息报告与预警", "一、信息接报\n值守电话 123。", "done"),
            section("应急响应", "都写了", "done"),
        ];
        sections[0]["section_id"] = "5".into();
        sections[1]["section_id"] = "6".into();
        // The browser claims everything is there.
        sections[1]["check"] = serde_json::json!({
            "elements": [{"clause": "6.3.3", "name": "响应启动", "present": true}],
            "missing": 0, "placeholders": 0
        });
        let mut raw: serde_json::Value =
            serde_json::from_str(&plan_with("测试企业", sections)).unwrap();
        raw["clauses"] = serde_json::json!(vec!["9.9"; 1000]);
        let plan = PlanDocument::from_json(&raw.to_string(), &registry()).unwrap();
        let row = |clause: &str| {
            plan.self_check
                .iter()
                .find(|r| r.clause == clause)
                .unwrap()
                .present
        };
        assert_eq!(
            plan.self_check.len(),
            16,
            "the registry's clauses, not the sent ones"
        );
        assert_eq!(row("6.3.1"), Some(true));
        assert_eq!(row("6.3.2"), Some(false));
        assert_eq!(row("6.3.3"), Some(false), "not what the browser said");
        assert_eq!(row("6.1.1"), None, "not written");
    }

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
        assert!(PlanDocument::from_json(&plan_json("测试企业", 2), &registry()).is_ok());
        assert_eq!(
            PlanDocument::from_json(&plan_json("  ", 2), &registry()),
            Err(ExportError::NoEnterprise)
        );
        assert_eq!(
            PlanDocument::from_json(&plan_json("测试企业", 0), &registry()),
            Err(ExportError::Empty)
        );
        assert!(matches!(
            PlanDocument::from_json("{", &registry()),
            Err(ExportError::Malformed(_))
        ));
        assert_eq!(
            PlanDocument::from_json(&plan_json(&"长".repeat(101), 1), &registry()),
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
        let plan = PlanDocument::from_json(&raw, &registry()).unwrap();
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
        let plan = PlanDocument::from_json(&raw, &registry()).unwrap();
        let titles: Vec<_> = plan.chapters.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(titles, ["总则", "风险评估结果"]);
        assert_eq!(plan.chapters[0].content, "完整");
        assert_eq!(
            plan.chapters[1].content,
            format!("写了一半\n\n{INCOMPLETE}")
        );
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        let raw = plan_with(
            "企\u{FFFF}业",
            vec![section(
                "总则",
                "甲\u{FFFE}乙\u{1}丙\u{85}丁\t戊\u{10FFFF}",
                "done",
            )],
        );
        let plan = PlanDocument::from_json(&raw, &registry()).unwrap();
        assert_eq!(plan.enterprise_name, "企业");
        assert_eq!(plan.chapters[0].content, "甲乙丙丁\t戊\u{10FFFF}");
    }

    #[test]
    fn an_unfinished_section_as_long_as_may_be_saved_still_exports() {
        let full = "字".repeat(MAX_SECTION_CHARS);
        let raw = plan_with("测试企业", vec![section("总则", &full, "failed")]);
        let plan = PlanDocument::from_json(&raw, &registry()).unwrap();
        assert!(plan.chapters[0].content.ends_with(INCOMPLETE));
        let over = "字".repeat(MAX_SECTION_CHARS + 1);
        let raw = plan_with("测试企业", vec![section("总则", &over, "done")]);
        assert_eq!(
            PlanDocument::from_json(&raw, &registry()),
            Err(ExportError::SectionTooLong("总则".into()))
        );
    }

    #[test]
    fn a_chapter_prints_its_title_once_and_knows_its_sub_headings() {
        let chapter = Chapter {
            title: "信息报告与预警".into(),
            content: "【模拟】\n信息报告与预警\n一、信息接报\n二十、很长的不是标题而是一句完整的话，而且以句号结尾的那种。\n三、预警。\n正文".into(),
        };
        let blocks: Vec<(String, bool)> = chapter.blocks().collect();
        assert_eq!(
            blocks,
            [
                ("【模拟】".to_owned(), false),
                ("一、信息接报".to_owned(), true),
                (
                    "二十、很长的不是标题而是一句完整的话，而且以句号结尾的那种。".to_owned(),
                    false
                ),
                ("三、预警。".to_owned(), false),
                ("正文".to_owned(), false),
            ]
        );
    }

    #[test]
    fn a_comprehensive_plan_lists_its_annexes_and_points_to_its_chapters() {
        let raw = plan_with(
            "测试企业",
            vec![
                section("总则", "x", "done"),
                section("企业概况", "y", "done"),
            ],
        );
        let plan = PlanDocument::from_json(&raw, &registry()).unwrap();
        let annexes = plan.annexes.expect("a comprehensive plan has annexes");
        let blocks: Vec<(String, bool)> = annexes.blocks().collect();
        assert_eq!(blocks.len(), 16);
        assert_eq!(blocks[0], ("附件1 生产经营单位概况".to_owned(), true));
        assert_eq!(blocks[1].0, "见本预案第 2 章“企业概况”。");
        assert_eq!(
            blocks[3].0, "（待补充：风险评估的结果）",
            "its chapter was not written"
        );
        assert!(blocks[9].0.starts_with("（待补充：应急指挥部成员"));
        let mut other = serde_json::from_str::<serde_json::Value>(&raw).unwrap();
        other["template_id"] = "onsite_plan".into();
        assert!(PlanDocument::from_json(&other.to_string(), &registry())
            .unwrap()
            .annexes
            .is_none());
    }

    #[test]
    fn file_names_are_safe() {
        let mut plan = PlanDocument::from_json(&plan_json("A/B:企业", 1), &registry()).unwrap();
        plan.date = "2026-11-25".into();
        assert_eq!(
            plan.file_name("docx"),
            "A_B_企业-生产安全事故应急预案-2026-11-25.docx"
        );
        plan.date = "2026/11/25".into();
        assert!(plan.file_name("md").ends_with("2026_11_25.md"));
    }
}
