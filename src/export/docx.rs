//! The plan as a Word document (docx-rs): a title page with the enterprise, the plan type and
//! the date; a table of contents; one 黑体 heading per section in template order; 宋体 body text
//! with a first-line indent, as Chinese official documents are set.

use std::io::Cursor;

use docx_rs::{
    AlignmentType, BreakType, Docx, LineSpacing, Paragraph, Run, RunFonts, SpecialIndentType,
    Style, StyleType, TableOfContents,
};

use super::{ExportError, PlanDocument};
use crate::model::check::split_placeholders;

const BODY_FONT: &str = "宋体";
const HEADING_FONT: &str = "黑体";
const LATIN_FONT: &str = "Times New Roman";
/// Sizes are in half-points: 小四 12 pt body, 三号 16 pt headings, 二号 22 pt title.
const BODY_SIZE: usize = 24;
const HEADING_SIZE: usize = 32;
const TITLE_SIZE: usize = 44;

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

fn centered(text: &str, size: usize, font: &str, before: u32) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(LineSpacing::new().before(before).after(240))
        .add_run(Run::new().add_text(text).size(size).fonts(fonts(font)))
}

pub fn render(plan: &PlanDocument) -> Result<Vec<u8>, ExportError> {
    let mut doc = Docx::new()
        .default_fonts(fonts(BODY_FONT))
        .default_size(BODY_SIZE)
        .add_style(heading_style())
        // Title page.
        .add_paragraph(centered(&plan.enterprise_name, TITLE_SIZE, HEADING_FONT, 3600).bold())
        .add_paragraph(centered(&plan.plan_title, TITLE_SIZE, HEADING_FONT, 480).bold())
        .add_paragraph(centered(
            &format!("编制日期：{}", plan.date),
            HEADING_SIZE,
            BODY_FONT,
            2400,
        ))
        .add_paragraph(Paragraph::new().add_run(Run::new().add_break(BreakType::Page)))
        .add_paragraph(centered("目  录", HEADING_SIZE, HEADING_FONT, 0))
        // Filled in now so every reader shows it; marked dirty so Word offers to refresh the
        // page numbers when the file opens.
        .add_table_of_contents(
            TableOfContents::new()
                .heading_styles_range(1, 1)
                .alias("目录")
                .auto()
                .dirty(),
        );
    for (i, section) in plan.chapters.iter().enumerate() {
        doc = doc.add_paragraph(
            Paragraph::new()
                .style("Heading1")
                .page_break_before(i == 0)
                .line_spacing(LineSpacing::new().before(360).after(240))
                .add_run(Run::new().add_text(format!("{} {}", i + 1, section.title.trim()))),
        );
        for text in PlanDocument::paragraphs(&section.content) {
            let mut paragraph = Paragraph::new()
                .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
                .line_spacing(LineSpacing::new().line(360));
            // Facts still to be filled in stand out in yellow, as on the page.
            for (run, marked) in split_placeholders(&text) {
                let run = Run::new().add_text(run);
                paragraph = paragraph.add_run(if marked { run.highlight("yellow") } else { run });
            }
            doc = doc.add_paragraph(paragraph);
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
            "1 总则",
            "2 企业概况",
            "编制目的 &lt;&amp;&gt; 值守电话",
            "TOC \\o",
        ] {
            assert!(xml.contains(needle), "{needle} missing");
        }
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
