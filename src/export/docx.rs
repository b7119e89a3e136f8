//! The plan as a Word document (docx-rs), as GB/T 29639-2020 Annex C lays a plan out: a cover
//! (number, version, enterprise, plan name, issue date), an approval page, the contents (page
//! references to bookmarked headings, which every reader lays out), one 黑体 heading per
//! section with its `一、` sub-headings as level-2 headings and 宋体 body text with a first-line
//! indent, the annexes, the optional self-check table; page numbers in the footer.

use std::io::Cursor;

use docx_rs::{
    AlignmentType, BreakType, Docx, FieldCharType, Footer, InstrPAGEREF, InstrText, LineSpacing,
    PageNum, Paragraph, Run, RunFonts, SpecialIndentType, Style, StyleType, Tab, TabLeaderType,
    TabValueType, Table, TableCell, TableRow,
};

use super::{ExportError, PlanDocument};
use crate::model::check::split_placeholders;

const BODY_FONT: &str = "宋体";
const HEADING_FONT: &str = "黑体";
const LATIN_FONT: &str = "Times New Roman";
/// Sizes are in half-points: 小四 12 pt body, 四号 14 pt sub-headings, 三号 16 pt headings,
/// 二号 22 pt title.
const BODY_SIZE: usize = 24;
const SUB_HEADING_SIZE: usize = 28;
const HEADING_SIZE: usize = 32;
const TITLE_SIZE: usize = 44;
/// Where the writer fills in by hand what the form left empty.
const BLANK: &str = "____________";

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii(LATIN_FONT)
        .hi_ansi(LATIN_FONT)
}

fn heading_style() -> Style {
    // The table of contents finds headings by this style name.
    Style::new("Heading1", StyleType::Paragraph)
        .name("Heading 1")
        .based_on("Normal")
        .next("Normal")
        .q_format(true)
        .outline_lvl(0)
        .fonts(fonts(HEADING_FONT))
        .size(HEADING_SIZE)
        .bold()
}

fn sub_heading_style() -> Style {
    Style::new("Heading2", StyleType::Paragraph)
        .name("Heading 2")
        .based_on("Normal")
        .next("Normal")
        .q_format(true)
        .outline_lvl(1)
        .fonts(fonts(HEADING_FONT))
        .size(SUB_HEADING_SIZE)
        .bold()
}

fn or_blank(value: &str) -> &str {
    if value.is_empty() {
        BLANK
    } else {
        value
    }
}

fn page_break() -> Paragraph {
    Paragraph::new().add_run(Run::new().add_break(BreakType::Page))
}

fn body(text: &str) -> Paragraph {
    Paragraph::new()
        .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
        .line_spacing(LineSpacing::new().line(360))
        .add_run(Run::new().add_text(text))
}

/// The cover (GB/T 29639-2020 Annex C): number, version, enterprise, plan name, issue date.
fn cover(doc: Docx, plan: &PlanDocument) -> Docx {
    let meta = &plan.meta;
    doc.add_paragraph(centered(
        &format!("预案编号：{}", or_blank(&meta.number)),
        BODY_SIZE,
        BODY_FONT,
        0,
    ))
    .add_paragraph(centered(
        &format!("版本号：{}", or_blank(&meta.version)),
        BODY_SIZE,
        BODY_FONT,
        0,
    ))
    .add_paragraph(centered(&plan.enterprise_name, TITLE_SIZE, HEADING_FONT, 3000).bold())
    .add_paragraph(centered(&plan.plan_title, TITLE_SIZE, HEADING_FONT, 480).bold())
    .add_paragraph(centered(
        &format!("颁布日期：{}", plan.date),
        HEADING_SIZE,
        BODY_FONT,
        2400,
    ))
    .add_paragraph(page_break())
}

/// The approval page: the plan takes effect once the enterprise's 主要负责人 signs it.
fn approval(doc: Docx, plan: &PlanDocument) -> Docx {
    let principal = &plan.meta.principal;
    doc.add_paragraph(centered("批 准 页", HEADING_SIZE, HEADING_FONT, 0).bold())
        .add_paragraph(body(&format!(
            "《{}{}》已经本单位组织编制和评审，现予批准发布，自颁布之日起施行。",
            plan.enterprise_name, plan.plan_title
        )))
        .add_paragraph(body(""))
        .add_paragraph(body(&format!(
            "主要负责人：{}　　签字：{BLANK}",
            or_blank(principal)
        )))
        .add_paragraph(body("批准日期：______年____月____日"))
        .add_paragraph(page_break())
}

/// The bookmark on heading `n` (from 1), which its contents entry refers to.
fn bookmark(n: usize) -> String {
    format!("_Yueen_Heading_{n}")
}

/// A contents entry: the heading's text, a dotted tab, and a PAGEREF field to its bookmark.
/// Any reader that lays the document out (LibreOffice, WPS, Word on updating fields) shows the
/// real page; the cached number is an estimate, and the field is marked dirty so Word updates
/// it on opening. (A TOC field would show its code as text in LibreOffice.)
fn contents_entry(label: &str, n: usize, estimated_page: usize) -> Paragraph {
    Paragraph::new()
        .add_tab(
            Tab::new()
                .val(TabValueType::Right)
                .leader(TabLeaderType::Dot)
                .pos(8300),
        )
        .line_spacing(LineSpacing::new().line(360))
        .add_run(Run::new().add_text(label).add_tab())
        .add_run(
            Run::new()
                .add_field_char(FieldCharType::Begin, true)
                .add_instr_text(InstrText::PAGEREF(
                    InstrPAGEREF::new(bookmark(n)).hyperlink(),
                ))
                .add_field_char(FieldCharType::Separate, false)
                .add_text(estimated_page.to_string())
                .add_field_char(FieldCharType::End, false),
        )
}

/// Where each chapter (and the appendix) probably starts: after the cover, the approval page
/// and the contents, by a rough count of lines (34 characters a line, 38 lines a page).
fn estimated_pages(plan: &PlanDocument) -> Vec<usize> {
    const CHARS_PER_LINE: usize = 34;
    const LINES_PER_PAGE: usize = 38;
    const FIRST_PAGE: usize = 4;
    let mut lines = 0;
    let mut pages = Vec::new();
    for chapter in &plan.chapters {
        pages.push(FIRST_PAGE + lines / LINES_PER_PAGE);
        lines += 3;
        for (text, heading) in chapter.blocks() {
            lines += if heading {
                2
            } else {
                text.chars().count().div_ceil(CHARS_PER_LINE).max(1)
            };
        }
    }
    // The annexes and the appendix each start on a page of their own.
    let mut next = FIRST_PAGE + lines.div_ceil(LINES_PER_PAGE).max(1);
    if let Some(annexes) = &plan.annexes {
        pages.push(next);
        let lines: usize = annexes
            .blocks()
            .map(|(t, _)| t.chars().count().div_ceil(34).max(1))
            .sum();
        next += lines.div_ceil(LINES_PER_PAGE).max(1);
    }
    pages.push(next);
    pages
}

fn centered(text: &str, size: usize, font: &str, before: u32) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(LineSpacing::new().before(before).after(240))
        .add_run(Run::new().add_text(text).size(size).fonts(fonts(font)))
}

pub fn render(plan: &PlanDocument) -> Result<Vec<u8>, ExportError> {
    let doc = Docx::new()
        .default_fonts(fonts(BODY_FONT))
        .default_size(BODY_SIZE)
        .add_style(heading_style())
        .add_style(sub_heading_style())
        // Page numbers on every page.
        .footer(
            Footer::new().add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_page_num(PageNum::new()),
            ),
        );
    let doc = approval(cover(doc, plan), plan);
    let mut doc = doc.add_paragraph(centered("目  录", HEADING_SIZE, HEADING_FONT, 0));
    let pages = estimated_pages(plan);
    let rows = plan.self_check_rows();
    let mut entries: Vec<String> = plan
        .chapters
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{} {}", i + 1, c.title.trim()))
        .collect();
    if let Some(annexes) = &plan.annexes {
        entries.push(annexes.title.clone());
    }
    if !rows.is_empty() {
        entries.push(super::SELF_CHECK_TITLE.to_owned());
    }
    for (i, label) in entries.iter().enumerate() {
        doc = doc.add_paragraph(contents_entry(label, i + 1, pages[i]));
    }
    let mut headings = 0;
    let chapters = plan
        .chapters
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{} {}", i + 1, c.title.trim()), c, i == 0))
        .chain(plan.annexes.iter().map(|a| (a.title.clone(), a, true)));
    for (label, section, new_page) in chapters {
        headings += 1;
        doc = doc.add_paragraph(
            Paragraph::new()
                .style("Heading1")
                .page_break_before(new_page)
                .line_spacing(LineSpacing::new().before(360).after(240))
                .add_bookmark_start(headings, bookmark(headings))
                .add_run(Run::new().add_text(label))
                .add_bookmark_end(headings),
        );
        for (text, sub_heading) in section.blocks() {
            let mut paragraph = if sub_heading {
                Paragraph::new()
                    .style("Heading2")
                    .line_spacing(LineSpacing::new().before(240).after(120))
            } else {
                Paragraph::new()
                    .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
                    .line_spacing(LineSpacing::new().line(360))
            };
            // Facts still to be filled in stand out in yellow, as on the page.
            for (run, marked) in split_placeholders(&text) {
                let run = Run::new().add_text(run);
                paragraph = paragraph.add_run(if marked { run.highlight("yellow") } else { run });
            }
            doc = doc.add_paragraph(paragraph);
        }
    }
    if !rows.is_empty() {
        let n = headings + 1;
        let cell = |text: &str| {
            TableCell::new().add_paragraph(Paragraph::new().add_run(Run::new().add_text(text)))
        };
        let header = TableRow::new(["条款", "要素", "所在章节", "结果"].map(cell).to_vec());
        let body = rows
            .iter()
            .map(|r| TableRow::new(r.iter().map(|t| cell(t)).collect()));
        doc = doc
            .add_paragraph(
                Paragraph::new()
                    .style("Heading1")
                    .page_break_before(true)
                    .add_bookmark_start(n, bookmark(n))
                    .add_run(Run::new().add_text(super::SELF_CHECK_TITLE))
                    .add_bookmark_end(n),
            )
            .add_table(Table::new(std::iter::once(header).chain(body).collect()));
        if !plan.findings.is_empty() {
            let header = TableRow::new(super::FINDINGS_HEADER.map(cell).to_vec());
            let body = plan
                .findings
                .iter()
                .map(|r| TableRow::new(r.iter().map(|t| cell(t)).collect()));
            doc = doc
                .add_paragraph(
                    Paragraph::new()
                        .style("Heading2")
                        .line_spacing(LineSpacing::new().before(240).after(120))
                        .add_run(Run::new().add_text(super::FINDINGS_TITLE)),
                )
                .add_table(Table::new(std::iter::once(header).chain(body).collect()));
        }
    }
    let mut out = Cursor::new(Vec::new());
    doc.build()
        .pack(&mut out)
        .map_err(|e| ExportError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::export::sample_plan;

    #[test]
    fn a_zip_with_the_text_in_document_xml() {
        let plan = sample_plan("编制目的 <&> 值守电话（待补充：应急值守电话）。");
        let bytes = render(&plan).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut xml = String::new();
        zip.by_name("word/document.xml")
            .unwrap()
            .read_to_string(&mut xml)
            .unwrap();
        for needle in [
            "测试企业",
            "预案编号：YJYA-2026-01",
            "版本号：V1.0",
            "颁布日期：2026-11-25",
            "批 准 页",
            "主要负责人：张三",
            "1 总则",
            "2 企业概况",
            "附录 GB/T 29639-2020 要素自查表",
            "生产经营单位概况",
            "编制目的 &lt;&amp;&gt; 值守电话",
            "PAGEREF _Yueen_Heading_1 \\h",
        ] {
            assert!(xml.contains(needle), "{needle} missing");
        }
        assert!(
            !xml.contains("TOC \\o"),
            "no TOC field: LibreOffice prints its code"
        );
        // Page numbers in the footer.
        let footer_name = zip
            .file_names()
            .find(|n| n.starts_with("word/footer"))
            .expect("a footer")
            .to_owned();
        let mut footer = String::new();
        zip.by_name(&footer_name)
            .unwrap()
            .read_to_string(&mut footer)
            .unwrap();
        assert!(
            footer.contains("<w:instrText>PAGE</w:instrText>"),
            "{footer}"
        );
        // The chapter's title is its heading only (and a cell of the self-check table); 一、
        // lines are level-2 headings.
        assert_eq!(
            xml.matches(">企业概况<").count(),
            1,
            "as \"2 企业概况\" and in the self-check table only"
        );
        let sub = xml.find("一、基本情况").unwrap();
        let before = &xml[..sub];
        let paragraph = before.rfind("<w:p>").max(before.rfind("<w:p ")).unwrap();
        assert!(xml[paragraph..sub].contains(r#"<w:pStyle w:val="Heading2" />"#));
        // The placeholder is its own run, highlighted.
        let at = xml.find("（待补充：应急值守电话）").unwrap();
        let run_start = xml[..at].rfind("<w:r>").unwrap();
        assert!(
            xml[run_start..at].contains(r#"<w:highlight w:val="yellow" />"#),
            "{}",
            &xml[run_start..at]
        );
    }
}
