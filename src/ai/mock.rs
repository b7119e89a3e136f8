//! The generator used when no API key is configured: a deterministic, usable first draft built
//! from the enterprise's facts and the section's outline, so the whole app works offline.

use crate::{
    domain::{enterprise::EnterpriseInfo, facts::SectionFacts},
    templates::{Section, Template},
};

pub const MODEL_NAME: &str = "mock";
pub const MARKER: &str = "【这是 AI 生成的模拟内容】";

const NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// Fields the opening paragraph already uses.
const CORE_FIELDS: [&str; 5] = [
    "enterprise_name",
    "industry_type",
    "address",
    "main_products",
    "employees_count",
];

fn numeral(i: usize) -> String {
    NUMERALS
        .get(i)
        .map(|n| n.to_string())
        .unwrap_or_else(|| (i + 1).to_string())
}

/// How many characters one streamed piece of the mock's text holds.
const PIECE_CHARS: usize = 24;

/// The mock's text as a stream of short pieces, `delay` apart, like a model writing.
pub fn pieces(text: String, delay: std::time::Duration) -> super::TextStream {
    use futures::StreamExt;

    let chars: Vec<char> = text.chars().collect();
    let pieces: Vec<String> = chars
        .chunks(PIECE_CHARS)
        .map(|c| c.iter().collect())
        .collect();
    Box::pin(futures::stream::iter(pieces.into_iter().enumerate()).then(
        move |(i, piece)| async move {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(super::Piece::Text(piece))
        },
    ))
}

/// The fields a section needs: in the context section (企业概况), every one of the template's;
/// elsewhere, those its brief names.
fn wanted<'a>(
    template: &'a Template,
    section: &'a Section,
) -> impl Iterator<Item = &'a crate::templates::FieldSpec> {
    let context = template.context_section.as_deref() == Some(section.id.as_str());
    template.fields.iter().filter(move |f| {
        let core = f.label.split('（').next().unwrap_or(&f.label);
        !CORE_FIELDS.contains(&f.id.as_str())
            && (context
                || section.prompt.contains(core)
                || section.outline.iter().any(|o| o.contains(core)))
    })
}

pub fn generate(
    template: &Template,
    section: &Section,
    info: &EnterpriseInfo,
    context: Option<&str>,
    profile: Option<&SectionFacts>,
) -> String {
    let field = |id: &str| info.get(id).map(|v| v.to_string());
    let name = field("enterprise_name").unwrap_or_else(|| "本单位".to_owned());

    let mut facts = Vec::new();
    if let Some(address) = field("address") {
        facts.push(format!("位于{address}"));
    }
    if let Some(industry) = field("industry_type") {
        facts.push(format!("属于{industry}行业"));
    }
    if let Some(products) = field("main_products") {
        facts.push(format!("主要产品为{products}"));
    }
    if let Some(count) = field("employees_count") {
        facts.push(format!("现有从业人员{count}人"));
    }

    let mut text = format!("{MARKER}\n\n{}\n\n", section.title);
    text.push_str(&format!(
        "本章为{name}《{}》的“{}”部分。",
        template.name, section.title
    ));
    if !facts.is_empty() && profile.is_none() {
        text.push_str(&format!("{name}{}。", facts.join("，")));
    }
    if context.is_some() {
        text.push_str(&format!(
            "本章内容与本预案“{}”一章保持一致。",
            crate::prompt::context_title(template)
        ));
    }
    text.push('\n');

    let industry = field("industry_type").unwrap_or_else(|| "本行业".to_owned());
    for (i, item) in section.outline.iter().enumerate() {
        text.push_str(&format!("\n{}、{item}\n", numeral(i)));
        let known = profile
            .map(|f| super::mock_facts::sentences(item, f))
            .unwrap_or_default();
        if known.is_empty() {
            text.push_str(&format!(
                "{name}应结合{industry}生产经营特点，明确{item}的具体内容、责任部门和责任人，\
                 做到职责清晰、程序简明、措施可行，并在日常培训和应急演练中检验、完善。\n"
            ));
        }
        for (n, sentence) in known.iter().enumerate() {
            text.push_str(&format!("{}. {sentence}\n", n + 1));
        }
    }

    let extra: Vec<String> = template
        .fields
        .iter()
        .filter(|f| !CORE_FIELDS.contains(&f.id.as_str()))
        .filter_map(|f| info.get(&f.id).map(|v| format!("- {}：{v}", f.label)))
        .collect();
    if !extra.is_empty() && profile.is_none() {
        text.push_str("\n企业提供的相关信息：\n");
        text.push_str(&extra.join("\n"));
        text.push('\n');
    }
    // Facts the section needs and the form left empty are marked, never made up.
    let wanting: Vec<String> = wanted(template, section)
        .filter(|f| info.get(&f.id).is_none())
        .map(|f| format!("（待补充：{}）", f.label))
        .collect();
    if !wanting.is_empty() {
        text.push_str("\n尚缺的企业信息：");
        text.push_str(&wanting.join("、"));
        text.push('\n');
    }
    text.push_str("\n（以上为模拟生成的参考草稿，请结合企业实际情况核实、补充和完善。）");
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{domain::enterprise::seed_info, templates::Registry};

    #[test]
    fn draft_uses_the_facts_and_the_outline() {
        let r = Registry::load(None).unwrap();
        let t = r.template("emergency_plan").unwrap();
        let s = t.section("2").unwrap();
        let info = seed_info(t, json!({"hazardous_chemicals": "液氯 20 t"}));
        let text = generate(t, s, &info, None, None);
        assert!(text.starts_with(MARKER));
        assert!(text.contains(
            "测试企业位于北京市朝阳区，属于化工制造行业，主要产品为化工产品，现有从业人员100人。"
        ));
        for item in &s.outline {
            assert!(text.contains(item.as_str()), "{item}");
        }
        assert!(text.contains("- 危险化学品（名称、CAS 号、最大储量、储存方式）：液氯 20 t"));
        assert_eq!(
            text,
            generate(t, s, &info, None, None),
            "the mock is deterministic"
        );
        assert!(generate(t, s, &info, Some("概况"), None).contains("保持一致"));
    }

    #[test]
    fn every_mock_section_covers_its_elements_and_marks_what_is_missing() {
        let r = Registry::load(None).unwrap();
        for t in r.templates() {
            // The seed, plus what this template requires beyond it.
            let mut extra = serde_json::Map::new();
            for f in t.fields.iter().filter(|f| f.required) {
                extra.insert(f.id.clone(), json!("示例"));
            }
            extra.retain(|id, _| !CORE_FIELDS.contains(&id.as_str()));
            let info = seed_info(t, serde_json::Value::Object(extra));
            for s in &t.sections {
                let check = s.check(&generate(t, s, &info, None, None));
                assert!(
                    check.complete(),
                    "{} {}: {:?}",
                    t.id,
                    s.id,
                    check.missing_names()
                );
            }
        }
        let t = r.template("emergency_plan").unwrap();
        let empty = seed_info(t, json!({}));
        let overview = generate(t, t.section("2").unwrap(), &empty, None, None);
        assert!(overview.contains("（待补充：应急值守电话）"), "{overview}");
        let reporting = generate(t, t.section("5").unwrap(), &empty, None, None);
        assert!(
            reporting.contains("（待补充：应急值守电话）"),
            "{reporting}"
        );
        assert!(t.section("5").unwrap().check(&reporting).placeholders >= 1);
        let given = seed_info(t, json!({"duty_phone": "0571-12345678"}));
        let reporting = generate(t, t.section("5").unwrap(), &given, None, None);
        assert!(!reporting.contains("（待补充：应急值守电话）"));
        assert!(reporting.contains("0571-12345678"));
    }
}
