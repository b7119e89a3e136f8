//! The cache key of a section: the app's prefix plus a hash of everything that decides the
//! answer, so equal requests share an entry however they were typed.

use sha2::{Digest, Sha256};

use crate::domain::enterprise::EnterpriseInfo;

/// Everything that decides a section's answer.
pub struct KeyParts<'a> {
    pub template: &'a str,
    pub section: &'a str,
    pub info: &'a EnterpriseInfo,
    pub model: &'a str,
    pub prompt_version: &'a str,
    /// The plan's context section text, when the prompt carries it.
    pub context: Option<&'a str>,
    /// The profile's facts the section reads (`SectionFacts::digest_input`), when it has any.
    pub facts: Option<&'a [u8]>,
}

/// `<prefix>gen:<template>:<section>:<sha256 hex>`; template and section stay readable so an
/// operator can find a plan's entries in Redis. The digest covers the model, the prompt
/// version, the context and the canonical fields (NUL-separated, so no two inputs collide).
pub fn generation_key(prefix: &str, parts: &KeyParts<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        parts.template,
        parts.section,
        parts.model,
        parts.prompt_version,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (id, value) in parts.info.canonical() {
        hash_part(&mut h, id.as_bytes());
        hash_part(&mut h, value.as_bytes());
    }
    // Length-prefixed, before the context, which ends the input.
    if let Some(facts) = parts.facts {
        h.update([3]);
        hash_part(&mut h, facts);
    }
    if let Some(context) = parts.context {
        h.update([2]);
        h.update(context.as_bytes());
    }
    let mut key =
        String::with_capacity(prefix.len() + parts.template.len() + parts.section.len() + 70);
    key.push_str(prefix);
    key.push_str("gen:");
    key.push_str(parts.template);
    key.push(':');
    key.push_str(parts.section);
    key.push(':');
    let mut digest = [0u8; 64];
    hex::encode_to_slice(h.finalize(), &mut digest).expect("32 bytes fill 64 hex digits");
    key.push_str(std::str::from_utf8(&digest).expect("hex digits are ASCII"));
    key
}

/// Feeds `bytes` with its length in front.
fn hash_part(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::templates::Registry;

    fn key_for(data: serde_json::Value, model: &str) -> String {
        let r = Registry::load(None).unwrap();
        let t = r.template("emergency_plan").unwrap();
        let info = EnterpriseInfo::parse(t, &serde_json::from_value(data).unwrap()).unwrap();
        generation_key(
            "yueen:",
            &KeyParts {
                template: "emergency_plan",
                section: "2",
                info: &info,
                model,
                prompt_version: "v1",
                context: None,
                facts: None,
            },
        )
    }

    fn seed() -> serde_json::Value {
        json!({"enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
               "main_products": "化工产品", "employees_count": 100})
    }

    #[test]
    fn the_facts_a_section_reads_are_part_of_its_key() {
        let r = Registry::load(None).unwrap();
        let t = r.template("emergency_plan").unwrap();
        let info = EnterpriseInfo::parse(t, &serde_json::from_value(seed()).unwrap()).unwrap();
        let key = |facts: Option<&[u8]>, context: Option<&str>| {
            generation_key(
                "yueen:",
                &KeyParts {
                    template: "emergency_plan",
                    section: "4",
                    info: &info,
                    model: "mock",
                    prompt_version: "v1",
                    context,
                    facts,
                },
            )
        };
        let a: &[u8] = br#"{"mobile":"13905710001"}"#;
        let b: &[u8] = br#"{"mobile":"13905719999"}"#;
        assert_eq!(key(Some(a), None), key(Some(a), None));
        assert_ne!(key(Some(a), None), key(Some(b), None));
        assert_ne!(key(Some(a), None), key(None, None));
        // Facts and context cannot stand in for each other.
        assert_ne!(key(Some(b"x"), Some("y")), key(None, Some("x\u{3}y")));
    }

    #[test]
    fn key_has_prefix_and_readable_ids() {
        let key = key_for(seed(), "gpt-4");
        assert!(key.starts_with("yueen:gen:emergency_plan:2:"), "{key}");
        assert_eq!(key.len(), "yueen:gen:emergency_plan:2:".len() + 64);
    }

    #[test]
    fn order_spacing_unicode_and_number_form_do_not_change_the_key() {
        let reordered = json!({"employees_count": "100", "main_products": "化工产品",
            "address": "北京市朝阳区 ", "industry_type": "化工  制造", "enterprise_name": "测试企业"});
        // Differs only inside a word: "化工  制造" collapses to "化工 制造", not "化工制造".
        assert_ne!(
            key_for(seed(), "gpt-4"),
            key_for(reordered.clone(), "gpt-4")
        );
        let mut same = reordered;
        same["industry_type"] = json!("化工制造");
        same["enterprise_name"] = json!("\u{3000}测试企业\t");
        same["employees_count"] = json!("１００");
        assert_eq!(key_for(seed(), "gpt-4"), key_for(same, "gpt-4"));
        // Composed and decomposed forms of the same letter are one key.
        let mut composed = seed();
        composed["enterprise_name"] = json!("Caf\u{e9}");
        let mut decomposed = seed();
        decomposed["enterprise_name"] = json!("Cafe\u{301}");
        assert_eq!(key_for(composed, "gpt-4"), key_for(decomposed, "gpt-4"));
    }

    #[test]
    fn model_and_data_change_the_key() {
        let mut other = seed();
        other["employees_count"] = json!(101);
        assert_ne!(key_for(seed(), "gpt-4"), key_for(other, "gpt-4"));
        assert_ne!(key_for(seed(), "gpt-4"), key_for(seed(), "qwen-max"));
    }
}
