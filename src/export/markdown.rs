//! The plan as Markdown, in the Word file's order: the cover's particulars, the approval
//! block, the contents, then one second-level heading per section, its `一、` sub-headings
//! third-level.

use super::PlanDocument;

fn or_blank(value: &str) -> &str {
    if value.is_empty() {
        "（待填写）"
    } else {
        value
    }
}

pub fn render(plan: &PlanDocument) -> String {
    let meta = &plan.meta;
    let mut blocks = vec![
        format!("# {}{}", plan.enterprise_name, plan.plan_title),
        format!(
            "> 预案编号：{}　版本号：{}　颁布日期：{}",
            or_blank(&meta.number),
            or_blank(&meta.version),
            plan.date
        ),
        "## 批准页".to_owned(),
        format!(
            "《{}{}》已经本单位组织编制和评审，现予批准发布，自颁布之日起施行。",
            plan.enterprise_name, plan.plan_title
        ),
        format!(
            "主要负责人：{}　签字：__________　批准日期：____年__月__日",
            or_blank(&meta.principal)
        ),
        "## 目录".to_owned(),
        plan.chapters
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}. {}", i + 1, c.title.trim()))
            .chain(plan.annexes.iter().map(|a| a.title.clone()))
            .collect::<Vec<_>>()
            .join("\n"),
    ];
    let chapters = plan
        .chapters
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("{}. {}", i + 1, c.title.trim()), c))
        .chain(plan.annexes.iter().map(|a| (a.title.clone(), a)));
    for (heading, section) in chapters {
        blocks.push(format!("## {heading}"));
        blocks.extend(section.blocks().map(|(text, sub_heading)| {
            if sub_heading {
                format!("### {text}")
            } else {
                text
            }
        }));
    }
    let rows = plan.self_check_rows();
    if !rows.is_empty() {
        blocks.push(format!("## {}", super::SELF_CHECK_TITLE));
        let mut table = vec![
            "| 条款 | 要素 | 所在章节 | 结果 |".to_owned(),
            "|---|---|---|---|".to_owned(),
        ];
        let cell = |text: &String| text.replace('|', "\\|").replace(['\n', '\r'], " ");
        table.extend(
            rows.iter()
                .map(|r| format!("| {} |", r.iter().map(cell).collect::<Vec<_>>().join(" | "))),
        );
        blocks.push(table.join("\n"));
        if !plan.findings.is_empty() {
            blocks.push(format!("### {}", super::FINDINGS_TITLE));
            let mut table = vec![
                format!("| {} |", super::FINDINGS_HEADER.join(" | ")),
                "|---|---|---|---|".to_owned(),
            ];
            table.extend(
                plan.findings
                    .iter()
                    .map(|r| format!("| {} |", r.iter().map(cell).collect::<Vec<_>>().join(" | "))),
            );
            blocks.push(table.join("\n"));
        }
    }
    let mut out = blocks.join("\n\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::sample_plan;

    #[test]
    fn the_words_order_headings_and_paragraphs() {
        let plan = sample_plan("第一段\n\n  第二段 ");
        let md = render(&plan);
        assert!(md.starts_with(
            "# 测试企业生产安全事故应急预案\n\n> 预案编号：YJYA-2026-01　版本号：V1.0　颁布日期：2026-11-25\n\n## 批准页\n"
        ));
        assert!(md.contains("主要负责人：张三"));
        assert!(md.contains("## 目录\n\n1. 总则\n2. 企业概况\n"));
        assert!(md.contains(
            "\n## 1. 总则\n\n第一段\n\n第二段\n\n## 2. 企业概况\n\n### 一、基本情况\n\n概况\n"
        ));
        assert!(md.ends_with(
            "## 附录 GB/T 29639-2020 要素自查表\n\n| 条款 | 要素 | 所在章节 | 结果 |\n|---|---|---|---|\n| 9.1 | 生产经营单位概况 | 企业概况 | 具备 |\n"
        ));
    }
}
