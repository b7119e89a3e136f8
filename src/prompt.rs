//! What the model is asked: a system prompt fixing its role and output form, and a user prompt
//! with the section's brief, its outline and the enterprise's facts.

use sha2::{Digest, Sha256};

use crate::{
    domain::{enterprise::EnterpriseInfo, facts::SectionFacts},
    templates::{Section, Template},
};

const SYSTEM_PROMPT: &str = "你是一名资深的生产安全事故应急预案编写专家，熟悉《生产经营单位生产安全事故应急预案编制导则》\
（GB/T 29639-2020）和相关法律法规。请根据用户提供的企业信息，用规范、严谨、可操作的中文编写应急预案的指定章节。\
只输出章节正文，使用“一、（一）1.”的层级编号，小标题单独成行，不要使用 Markdown 标记。\
应急预案是企业的正式文件：名称、电话、数量、距离、人员、设备清单等事实只能来自用户提供的企业信息，\
绝不编造；需要而未提供的事实，在原处写“（待补充：所缺信息）”，例如“（待补充：应急值守电话）”。";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

/// The prompt for one section. `context` is the plan's context section (企业概况) as already
/// written, so the other sections agree with it.
pub fn build(
    template: &Template,
    section: &Section,
    info: &EnterpriseInfo,
    context: Option<&str>,
    facts: Option<&SectionFacts>,
) -> Prompt {
    let mut user = format!(
        "请为下面的企业编写《{}》的第 {} 章“{}”。\n\n{}\n",
        template.name, section.id, section.title, section.prompt
    );
    if !section.outline.is_empty() {
        user.push_str("\n本章依次使用以下小标题：\n");
        for (i, item) in section.outline.iter().enumerate() {
            user.push_str(&format!("{}. {item}\n", i + 1));
        }
    }
    if !section.elements.is_empty() {
        let elements: Vec<String> = section
            .elements
            .iter()
            .map(|e| format!("{} {}", e.clause, e.name))
            .collect();
        user.push_str(&format!(
            "\n本章须完整覆盖 GB/T 29639-2020 的以下要素（评审时逐项核对）：{}。\n",
            elements.join("；")
        ));
    }
    user.push_str("\n企业信息：\n");
    for field in &template.fields {
        if let Some(value) = info.get(&field.id) {
            user.push_str(&format!("- {}：{value}\n", field.label));
        }
    }
    if let Some(facts) = facts {
        user.push_str(
            "\n企业档案中的事实如下（人员、电话、物资、风险、岗位只能取自这些表格，逐项写入正文，不得编造；\
             表中没有的写“（待补充：所缺信息）”）：\n",
        );
        user.push_str(&facts.tables());
    }
    if let Some(context) = context {
        user.push_str(&format!(
            "\n本预案已写好的“{}”一章如下，请与其保持一致，不要重复其内容：\n<<<\n",
            context_title(template)
        ));
        user.push_str(context);
        user.push_str("\n>>>\n");
    }
    Prompt {
        system: SYSTEM_PROMPT.to_owned(),
        user,
    }
}

/// The title of the section whose text the other sections are given.
pub fn context_title(template: &Template) -> &str {
    template
        .context_section
        .as_deref()
        .and_then(|id| template.section(id))
        .map_or("企业概况", |s| s.title.as_str())
}

/// Identifies the wording the model gets for a section, so editing a prompt in the registry (or
/// here) stops old answers from being served.
pub fn version(template: &Template, section: &Section) -> String {
    let mut h = Sha256::new();
    for part in [
        SYSTEM_PROMPT,
        // Bump when the wording `build` adds around the fields or the context changes.
        "wording-3",
        &template.name,
        &section.title,
        &section.prompt,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for item in &section.outline {
        h.update(item.as_bytes());
        h.update([0]);
    }
    for e in &section.elements {
        h.update(e.clause.as_bytes());
        h.update([1]);
        h.update(e.name.as_bytes());
        h.update([0]);
    }
    for field in &template.fields {
        h.update(field.label.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{domain::enterprise::seed_info, templates::Registry};

    #[test]
    fn prompt_carries_the_brief_outline_and_facts() {
        let r = Registry::load(None).unwrap();
        let t = r.template("emergency_plan").unwrap();
        let s = t.section("2").unwrap();
        let info = seed_info(t, json!({}));
        let p = build(t, s, &info, None, None);
        assert!(!p.user.contains("已写好"));
        let with = build(t, s, &info, Some("本公司位于某地"), None);
        assert!(with.user.contains("<<<\n本公司位于某地\n>>>"));
        assert!(p.system.contains("GB/T 29639-2020"));
        assert!(p.user.contains("“企业概况”"));
        assert!(p.user.contains("- 企业名称：测试企业"));
        assert!(p.user.contains("- 从业人员数量：100"));
        assert!(p.user.contains("1. 基本情况"));
        assert!(p.user.contains("9.1 生产经营单位概况"));
        assert!(p.system.contains("（待补充："));
    }

    #[test]
    fn version_changes_with_the_wording() {
        let r = Registry::load(None).unwrap();
        let t = r.template("emergency_plan").unwrap();
        let s = t.section("2").unwrap().clone();
        let mut edited = s.clone();
        edited.prompt.push('。');
        assert_eq!(version(t, &s), version(t, &s));
        assert_ne!(version(t, &s), version(t, &edited));
    }
}
