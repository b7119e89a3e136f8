//! A section held against the standard: which of its elements (GB/T 29639-2020 clauses) the
//! text covers, and how many facts it leaves to be filled in (`（待补充：…）`). Pure text work,
//! compiled for both sides: the server checks every answer it sends, the page checks again what
//! the writer has edited.

use serde::{Deserialize, Serialize};

/// One element of the standard a section must cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ElementSpec {
    /// The clause of GB/T 29639-2020, e.g. `6.3.2`.
    #[cfg_attr(feature = "ssr", schema(example = "6.3.2"))]
    pub clause: String,
    /// Its name, which the section uses as a sub-heading.
    #[cfg_attr(feature = "ssr", schema(example = "预警"))]
    pub name: String,
    /// Words that show the element is there even under another heading.
    #[serde(default)]
    pub signs: Vec<String>,
}

/// Whether one element is in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ElementCheck {
    #[cfg_attr(feature = "ssr", schema(example = "6.3.2"))]
    pub clause: String,
    #[cfg_attr(feature = "ssr", schema(example = "预警"))]
    pub name: String,
    pub present: bool,
}

/// A section's check: its elements, how many are missing, how many placeholders it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SectionCheck {
    pub elements: Vec<ElementCheck>,
    /// How many elements are missing.
    #[cfg_attr(feature = "ssr", schema(example = 0))]
    #[serde(deserialize_with = "super::whole::u32")]
    pub missing: u32,
    /// How many `（待补充：…）` placeholders the text holds: facts the enterprise data did not
    /// give, to be filled in before the plan is filed.
    #[cfg_attr(feature = "ssr", schema(example = 2))]
    #[serde(deserialize_with = "super::whole::u32")]
    pub placeholders: u32,
}

/// How a placeholder opens: `（待补充：`, also with ASCII brackets or a `:`.
const PLACEHOLDER_OPENINGS: [&str; 4] = ["（待补充：", "（待补充:", "(待补充：", "(待补充:"];

/// The longest line read as a sub-heading (characters).
const HEADING_CHARS: usize = 40;

impl SectionCheck {
    /// Checks the text of the section titled `title` against its `elements`. Placeholders say
    /// nothing is there, so they are left out first. A sub-heading is a short line that is not a
    /// sentence and not the section's own title (however numbered or marked): a section named
    /// after its one element must still write it.
    pub fn of(elements: &[ElementSpec], title: &str, text: &str) -> Self {
        let runs = split_placeholders(text);
        let placeholders = runs.iter().filter(|(_, marked)| *marked).count() as u32;
        let written: String = runs
            .into_iter()
            .filter_map(|(run, marked)| (!marked).then_some(run))
            .collect();
        let headings: Vec<&str> = written
            .lines()
            .map(bare_heading)
            .filter(|l| {
                !l.is_empty()
                    && *l != title.trim()
                    && l.chars().count() <= HEADING_CHARS
                    && !l.ends_with(['。', '；', '！', '？', '.', ';'])
            })
            .collect();
        let elements: Vec<ElementCheck> = elements
            .iter()
            .map(|e| ElementCheck {
                clause: e.clause.clone(),
                name: e.name.clone(),
                present: headings.iter().any(|h| h.contains(e.name.as_str()))
                    || e.signs
                        .iter()
                        .any(|s| !s.is_empty() && written.contains(s.as_str())),
            })
            .collect();
        Self {
            missing: elements.iter().filter(|e| !e.present).count() as u32,
            elements,
            placeholders,
        }
    }

    /// Every element is there.
    pub fn complete(&self) -> bool {
        self.missing == 0
    }

    /// The names of the missing elements, with their clauses.
    pub fn missing_names(&self) -> Vec<String> {
        self.elements
            .iter()
            .filter(|e| !e.present)
            .map(|e| format!("{} {}", e.clause, e.name))
            .collect()
    }
}

/// One row of a plan's self-check: a clause of the standard, the section covering it, and
/// whether that section's text has it (`None`: not written yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClauseRow {
    pub clause: String,
    pub name: String,
    pub section_title: String,
    pub present: Option<bool>,
}

/// A section of a plan as the self-check sees it: its elements and its text's check (`None`:
/// not written yet).
pub struct CoveringSection<'a> {
    pub title: &'a str,
    pub elements: &'a [ElementSpec],
    pub check: Option<SectionCheck>,
}

/// Every one of `clauses`, with the section among `sections` whose element it is and whether
/// that section's check finds it. A clause no section covers is left out.
pub fn clause_rows(clauses: &[String], sections: &[CoveringSection<'_>]) -> Vec<ClauseRow> {
    clauses
        .iter()
        .filter_map(|clause| {
            let (section, element) = sections.iter().find_map(|s| {
                s.elements
                    .iter()
                    .find(|e| &e.clause == clause)
                    .map(|e| (s, e))
            })?;
            Some(ClauseRow {
                clause: clause.clone(),
                name: element.name.clone(),
                section_title: section.title.to_owned(),
                present: section
                    .check
                    .as_ref()
                    .map(|c| c.elements.iter().any(|e| &e.clause == clause && e.present)),
            })
        })
        .collect()
}

/// A line as a heading reads: without Markdown marks (`#`, `**`), a trailing colon and its
/// numbering (`第二章`, `二、`, `（二）`, `2.`, `2、`).
pub fn bare_heading(line: &str) -> &str {
    let mut l = line
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_matches('*')
        .trim();
    l = l.trim_end_matches(['：', ':']).trim();
    if let Some(rest) = l.strip_prefix('第') {
        if let Some(at) = rest.find(['章', '节']) {
            if rest[..at]
                .chars()
                .all(|c| "一二三四五六七八九十0123456789".contains(c))
            {
                l = rest[at..].trim_start_matches(['章', '节']).trim();
            }
        }
    }
    let numbered = |c: char| "一二三四五六七八九十0123456789".contains(c);
    let opened = l.trim_start_matches(['（', '(']);
    let digits = opened.trim_start_matches(numbered);
    if digits.len() < opened.len() {
        if let Some(rest) = digits
            .strip_prefix(['、', '.', '．', '）', ')'])
            .or_else(|| digits.strip_prefix(' '))
        {
            l = rest.trim();
        }
    }
    l
}

/// The text cut into plain runs and placeholders (`true`), in order, for showing placeholders
/// marked.
pub fn split_placeholders(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some((start, end)) = next_placeholder(rest) {
        if start > 0 {
            out.push((&rest[..start], false));
        }
        out.push((&rest[start..end], true));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push((rest, false));
    }
    out
}

/// Where the next placeholder starts and ends (after its closing bracket, or at the line's end
/// when it has none). One pass over the text: each opening bracket is tried in place.
fn next_placeholder(text: &str) -> Option<(usize, usize)> {
    let start = text.match_indices(['（', '(']).map(|(i, _)| i).find(|&i| {
        PLACEHOLDER_OPENINGS
            .iter()
            .any(|o| text[i..].starts_with(o))
    })?;
    let after = &text[start..];
    let close = after
        .char_indices()
        .skip(1)
        .find(|(_, c)| matches!(c, '）' | ')' | '\n'))
        .map_or(
            after.len(),
            |(i, c)| {
                if c == '\n' {
                    i
                } else {
                    i + c.len_utf8()
                }
            },
        );
    Some((start, start + close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(clause: &str, name: &str, signs: &[&str]) -> ElementSpec {
        ElementSpec {
            clause: clause.into(),
            name: name.into(),
            signs: signs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn elements_are_found_by_sub_heading_or_by_their_signs() {
        let elements = [
            spec("6.3.1", "信息报告", &["值守电话"]),
            spec("6.3.2", "预警", &["预警解除"]),
            spec("6.3.3", "响应启动", &[]),
        ];
        let text = "一、信息报告\n公司设应急值守电话（待补充：应急值守电话），24 小时值守。\n\
                    二、其他\n发生险情时按程序发布预警，险情消除后由总指挥宣布预警解除。\n\
                    三、说明\n本段很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长，提到响应启动但不是标题。";
        let check = SectionCheck::of(&elements, "信息报告与预警", text);
        let present: Vec<bool> = check.elements.iter().map(|e| e.present).collect();
        assert_eq!(present, [true, true, false]);
        assert_eq!(check.missing, 1);
        assert!(!check.complete());
        assert_eq!(check.missing_names(), ["6.3.3 响应启动"]);
        assert_eq!(check.placeholders, 1);

        // A placeholder or a sentence covers nothing; the title, however numbered, is no
        // sub-heading.
        let reporting = [
            spec("6.3.1", "信息报告", &["值守电话"]),
            spec("6.3.5", "应急支援", &[]),
        ];
        let hollow = "五、信息报告与预警\n（待补充：应急值守电话）\n本章不涉及应急支援。";
        let check = SectionCheck::of(&reporting, "信息报告与预警", hollow);
        assert_eq!(check.missing, 2, "{check:?}");
        assert_eq!(check.placeholders, 1);
        for line in [
            "## 二、预警：",
            "**（二）预警**",
            "2. 预警",
            "第二章 预警",
            "预警",
        ] {
            assert_eq!(bare_heading(line), "预警", "{line}");
        }
        assert_eq!(bare_heading("二十、很长"), "很长");
        assert_eq!(bare_heading("2026年"), "2026年");

        let named_after = [spec("7.1", "适用范围", &["适用的事故类型"])];
        let bare = "适用范围\n本预案针对火灾事故。";
        assert!(!SectionCheck::of(&named_after, "适用范围", bare).complete());
        let full = "适用范围\n一、适用的事故类型\n火灾。";
        assert!(SectionCheck::of(&named_after, "适用范围", full).complete());
    }

    #[test]
    fn placeholders_are_cut_out_whatever_their_brackets() {
        let text = "电话（待补充：应急值守电话），距离(待补充: 最近居民区距离)。末尾（待补充：储量";
        let runs = split_placeholders(text);
        assert_eq!(
            runs,
            [
                ("电话", false),
                ("（待补充：应急值守电话）", true),
                ("，距离", false),
                ("(待补充: 最近居民区距离)", true),
                ("。末尾", false),
                ("（待补充：储量", true),
            ]
        );
        assert_eq!(SectionCheck::of(&[], "", text).placeholders, 3);
        assert_eq!(split_placeholders("没有"), [("没有", false)]);
        assert!(split_placeholders("").is_empty());
    }
}
