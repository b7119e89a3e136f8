//! The plan as Markdown: a title block, then one second-level heading per section.

use super::PlanDocument;

pub fn render(plan: &PlanDocument) -> String {
    let mut blocks = vec![
        format!("# {}{}", plan.enterprise_name, plan.plan_title),
        format!("> 编制日期：{}", plan.date),
    ];
    for (i, section) in plan.chapters.iter().enumerate() {
        blocks.push(format!("## {}. {}", i + 1, section.title.trim()));
        blocks.extend(PlanDocument::paragraphs(&section.content));
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
    fn headings_in_order_and_paragraphs_kept() {
        let plan = sample_plan("第一段\n\n  第二段 ");
        let md = render(&plan);
        assert!(md.starts_with("# 测试企业生产安全事故应急预案\n\n> 编制日期：2026-11-25\n"));
        assert!(md.contains("\n## 1. 总则\n\n第一段\n\n第二段\n\n## 2. 企业概况\n\n概况\n"));
        assert!(md.ends_with("概况\n"));
    }
}
