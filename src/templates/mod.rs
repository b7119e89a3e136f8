//! The template registry (`templates/registry.yaml`): which plans can be written, their sections
//! in order, and the enterprise fields each one asks for. Checked once at load time so the rest of
//! the app can trust it.

use std::{collections::HashSet, path::Path, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

pub use crate::model::{
    profile::{FactPart, FactScope, RiskScale},
    ElementSpec, FieldKind, FieldSpec, SectionView, TemplateView,
};

/// The registry shipped with the binary, used when no file is configured.
pub const EMBEDDED_REGISTRY: &str = include_str!("../../templates/registry.yaml");

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub outline: Vec<String>,
    /// The standard's elements this section covers, in the order it writes them.
    pub elements: Vec<ElementSpec>,
    pub prompt: String,
    /// The parts of an enterprise profile this section is written from.
    pub reads: Vec<FactPart>,
    #[serde(skip)]
    pub ttl: Duration,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The fields this template uses, in form order, with its own required flags.
    pub fields: Vec<FieldSpec>,
    pub sections: Vec<Section>,
    /// The section written first when a whole plan is generated (企业概况); its text is given to
    /// the other sections' prompts so the plan agrees with itself.
    pub context_section: Option<String>,
    /// The clauses of GB/T 29639-2020 a plan of this type must cover, in the standard's order;
    /// each is an element of exactly one section.
    pub clauses: Vec<String>,
    /// How much of a profile a plan of this type is about.
    pub scope: FactScope,
}

impl Template {
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// What the generator page needs of this template.
    pub fn view(&self) -> TemplateView {
        TemplateView {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            fields: self.fields.clone(),
            sections: self
                .sections
                .iter()
                .map(|s| SectionView {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    elements: s.elements.clone(),
                })
                .collect(),
            context_section: self.context_section.clone(),
            clauses: self.clauses.clone(),
        }
    }
}

impl Section {
    /// `text` held against this section's elements of the standard.
    pub fn check(&self, text: &str) -> crate::model::SectionCheck {
        crate::model::SectionCheck::of(&self.elements, &self.title, text)
    }
}

/// Shared, so a checked request holds its template without copying it.
#[derive(Debug, Clone)]
pub struct Registry {
    templates: Vec<Arc<Template>>,
    risk: RiskScale,
    resource_words: Vec<String>,
}

impl Registry {
    pub fn templates(&self) -> &[Arc<Template>] {
        &self.templates
    }

    /// How profiles' risks are graded, and the accident categories they may name.
    pub fn risk(&self) -> &RiskScale {
        &self.risk
    }

    /// Words that name emergency equipment and supplies.
    pub fn resource_words(&self) -> &[String] {
        &self.resource_words
    }

    pub fn template(&self, id: &str) -> Option<&Arc<Template>> {
        self.templates.iter().find(|t| t.id == id)
    }

    /// Reads the registry from `path`, or the embedded copy when `path` is `None`.
    pub fn load(path: Option<&Path>) -> Result<Self, RegistryError> {
        match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| RegistryError {
                    message: format!("无法读取模板文件 {}: {e}", path.display()),
                })?;
                Self::parse(&text).map_err(|e| RegistryError {
                    message: format!("模板文件 {} 有误: {}", path.display(), e.message),
                })
            }
            None => Self::parse(EMBEDDED_REGISTRY),
        }
    }

    pub fn parse(text: &str) -> Result<Self, RegistryError> {
        let raw: RawRegistry = serde_norway::from_str(text).map_err(|e| RegistryError {
            message: e.to_string(),
        })?;
        raw.check()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RegistryError {
    pub message: String,
}

fn fail<T>(message: String) -> Result<T, RegistryError> {
    Err(RegistryError { message })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistry {
    version: u32,
    fields: Vec<FieldSpec>,
    /// Absent in a registry written before profiles: the embedded grading.
    risk: Option<RiskScale>,
    /// Absent in a registry written before profiles: the embedded words.
    resource_words: Option<Vec<String>>,
    templates: Vec<RawTemplate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplate {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    ttl_secs: u64,
    fields: Vec<FieldRef>,
    sections: Vec<RawSection>,
    context_section: Option<String>,
    #[serde(default)]
    clauses: Vec<String>,
    #[serde(default)]
    scope: FactScope,
}

/// A template names a catalogue field, optionally changing whether it is required.
#[derive(Deserialize)]
#[serde(untagged)]
enum FieldRef {
    Id(String),
    WithRequired { id: String, required: bool },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: String,
    title: String,
    #[serde(default)]
    outline: Vec<String>,
    #[serde(default)]
    elements: Vec<ElementSpec>,
    prompt: String,
    ttl_secs: Option<u64>,
    #[serde(default)]
    reads: Vec<FactPart>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl RawRegistry {
    fn check(self) -> Result<Registry, RegistryError> {
        if self.version != 1 {
            return fail(format!("不支持的模板文件版本 {}", self.version));
        }
        let mut field_ids = HashSet::new();
        for f in &self.fields {
            if !is_id(&f.id) || !field_ids.insert(f.id.as_str()) {
                return fail(format!("字段 id {:?} 无效或重复", f.id));
            }
            if f.label.trim().is_empty() {
                return fail(format!("字段 {} 缺少名称", f.id));
            }
            if let (Some(min), Some(max)) = (f.min, f.max) {
                if min > max {
                    return fail(format!("字段 {} 的 min 大于 max", f.id));
                }
            }
        }
        if self.templates.is_empty() {
            return fail("至少需要一个模板".to_owned());
        }
        let mut template_ids = HashSet::new();
        let mut templates = Vec::with_capacity(self.templates.len());
        for t in self.templates {
            if !is_id(&t.id) || !template_ids.insert(t.id.clone()) {
                return fail(format!("模板 id {:?} 无效或重复", t.id));
            }
            if t.ttl_secs == 0 {
                return fail(format!("模板 {} 的 ttl_secs 必须大于 0", t.id));
            }
            let mut fields = Vec::with_capacity(t.fields.len());
            let mut seen = HashSet::new();
            for r in &t.fields {
                let (id, required) = match r {
                    FieldRef::Id(id) => (id, None),
                    FieldRef::WithRequired { id, required } => (id, Some(*required)),
                };
                let Some(spec) = self.fields.iter().find(|f| &f.id == id) else {
                    return fail(format!("模板 {} 引用了未定义的字段 {id}", t.id));
                };
                if !seen.insert(id.clone()) {
                    return fail(format!("模板 {} 重复引用字段 {id}", t.id));
                }
                let mut spec = spec.clone();
                if let Some(required) = required {
                    spec.required = required;
                }
                fields.push(spec);
            }
            if t.sections.is_empty() {
                return fail(format!("模板 {} 没有章节", t.id));
            }
            let mut section_ids = HashSet::new();
            let mut sections = Vec::with_capacity(t.sections.len());
            for s in t.sections {
                if !is_id(&s.id) || !section_ids.insert(s.id.clone()) {
                    return fail(format!("模板 {} 的章节 id {:?} 无效或重复", t.id, s.id));
                }
                if s.title.trim().is_empty() || s.prompt.trim().is_empty() {
                    return fail(format!("模板 {} 的章节 {} 缺少标题或提示词", t.id, s.id));
                }
                let ttl_secs = s.ttl_secs.unwrap_or(t.ttl_secs);
                if ttl_secs == 0 {
                    return fail(format!(
                        "模板 {} 的章节 {} 的 ttl_secs 必须大于 0",
                        t.id, s.id
                    ));
                }
                for e in &s.elements {
                    if e.clause.trim().is_empty()
                        || e.name.trim().is_empty()
                        || e.signs.iter().any(|sign| sign.trim().is_empty())
                    {
                        return fail(format!(
                            "模板 {} 的章节 {} 有缺少条款号、名称或判断依据为空的要素",
                            t.id, s.id
                        ));
                    }
                }
                sections.push(Section {
                    id: s.id,
                    title: s.title,
                    outline: s.outline,
                    elements: s.elements,
                    prompt: s.prompt,
                    reads: s.reads,
                    ttl: Duration::from_secs(ttl_secs),
                });
            }
            if let Some(context) = &t.context_section {
                if !section_ids.contains(context) {
                    return fail(format!(
                        "模板 {} 的 context_section {context:?} 不是它的章节",
                        t.id
                    ));
                }
            }
            for clause in &t.clauses {
                let covering = sections
                    .iter()
                    .filter(|s| s.elements.iter().any(|e| &e.clause == clause))
                    .count();
                if covering != 1 {
                    return fail(format!(
                        "模板 {} 的条款 {clause} 应由恰好一个章节覆盖（现为 {covering} 个）",
                        t.id
                    ));
                }
            }
            if let FactScope::Category { field } | FactScope::Post { field } = &t.scope {
                if !fields.iter().any(|f| &f.id == field && f.required) {
                    return fail(format!(
                        "模板 {} 的 scope 字段 {field} 应是该模板的必填字段",
                        t.id
                    ));
                }
            }
            templates.push(Arc::new(Template {
                id: t.id,
                name: t.name,
                description: t.description,
                fields,
                sections,
                context_section: t.context_section,
                clauses: t.clauses,
                scope: t.scope,
            }));
        }
        let (risk, resource_words) = match (self.risk, self.resource_words) {
            (Some(risk), Some(words)) => (risk, words),
            (risk, words) => {
                let embedded = embedded_profile_data()?;
                (
                    risk.unwrap_or(embedded.risk),
                    words.unwrap_or(embedded.resource_words),
                )
            }
        };
        check_risk(&risk)?;
        if resource_words.iter().any(|w| w.trim().is_empty()) {
            return fail("resource_words 不能有空项".to_owned());
        }
        Ok(Registry {
            templates,
            risk,
            resource_words,
        })
    }
}

#[derive(Deserialize)]
struct ProfileData {
    risk: RiskScale,
    resource_words: Vec<String>,
}

/// What profiles are read with, from the embedded registry.
fn embedded_profile_data() -> Result<ProfileData, RegistryError> {
    serde_norway::from_str::<ProfileData>(EMBEDDED_REGISTRY).map_err(|e| RegistryError {
        message: e.to_string(),
    })
}

/// Bands from the highest level down, each lower than the last and at least 1; categories
/// named once each.
fn check_risk(risk: &RiskScale) -> Result<(), RegistryError> {
    if risk.bands.is_empty() || risk.bands.last().is_some_and(|b| b.min != 1) {
        return fail("risk.bands 须从最高等级排到最低等级，最低一档的 min 为 1".to_owned());
    }
    let descending = risk
        .bands
        .windows(2)
        .all(|w| w[0].min > w[1].min && w[0].level < w[1].level);
    if !descending || risk.bands.iter().any(|b| b.min > 25) {
        return fail("risk.bands 的 min 须逐档递减（不超过 25），等级由高到低".to_owned());
    }
    let mut seen = HashSet::new();
    if risk.categories.is_empty()
        || risk
            .categories
            .iter()
            .any(|c| c.trim().is_empty() || c.chars().count() > 20 || !seen.insert(c.as_str()))
    {
        return fail("risk.categories 须非空、不重复，每项不超过 20 个字".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_registry_follows_the_standard() {
        let r = Registry::load(None).unwrap();
        let plan = r.template("emergency_plan").unwrap();
        assert_eq!(plan.name, "综合应急预案");
        let titles: Vec<_> = plan.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "总则",
                "企业概况",
                "风险评估结果",
                "应急组织机构及职责",
                "信息报告与预警",
                "应急响应",
                "后期处置",
                "应急保障",
                "预案管理"
            ]
        );
        assert_eq!(plan.section("2").unwrap().title, "企业概况");
        assert_eq!(r.template("special_plan").unwrap().sections.len(), 5);
        assert_eq!(r.template("onsite_plan").unwrap().sections.len(), 4);
    }

    /// The clauses a template lists that one of its sections covers, in the listed order.
    fn covered(t: &Template) -> Vec<String> {
        t.clauses
            .iter()
            .filter(|c| {
                t.sections
                    .iter()
                    .any(|s| s.elements.iter().any(|e| &e.clause == *c))
            })
            .cloned()
            .collect()
    }

    #[test]
    fn each_plan_type_covers_every_clause_of_the_standard() {
        let r = Registry::load(None).unwrap();
        let clauses = |id: &str| covered(r.template(id).unwrap());
        assert_eq!(
            clauses("emergency_plan"),
            [
                "6.1.1", "6.1.2", "6.2", "6.3.1", "6.3.2", "6.3.3", "6.3.4", "6.3.5", "6.3.6",
                "6.4", "6.5.1", "6.5.2", "6.5.3", "6.5.4", "9.1", "9.2"
            ]
        );
        assert_eq!(clauses("special_plan"), ["7.1", "7.2", "7.3", "7.4", "7.5"]);
        assert_eq!(clauses("onsite_plan"), ["8.1", "8.2", "8.3", "8.4"]);
        let plan = r.template("emergency_plan").unwrap();
        let overview = plan.section("2").unwrap();
        assert!(overview.elements.iter().any(|e| e.clause == "9.1"));
        // Every element is one of its section's sub-headings (by name or by a sign), in the
        // same order: the prompt asks for those sub-headings, the mock writes them.
        for t in r.templates() {
            for s in &t.sections {
                let at: Vec<usize> = s
                    .elements
                    .iter()
                    .map(|e| {
                        s.outline
                            .iter()
                            .position(|o| o == &e.name || e.signs.contains(o))
                            .unwrap_or_else(|| panic!("{} {} {}", t.id, s.id, e.name))
                    })
                    .collect();
                assert!(at.windows(2).all(|w| w[0] < w[1]), "{} {}", t.id, s.id);
            }
        }
    }

    #[test]
    fn a_clause_covered_twice_or_never_is_rejected() {
        let text = |clauses: &str| {
            format!(
                r#"
version: 1
fields: []
templates:
  - id: t
    name: T
    ttl_secs: 60
    fields: []
    clauses: [{clauses}]
    sections:
      - {{id: "1", title: One, prompt: p, outline: [A], elements: [{{clause: "1", name: A}}]}}
      - {{id: "2", title: Two, prompt: p, outline: [A], elements: [{{clause: "1", name: A}}]}}
"#
            )
        };
        assert!(Registry::parse(&text("\"1\""))
            .unwrap_err()
            .message
            .contains("恰好一个章节"));
        assert!(Registry::parse(&text("\"2\"")).is_err());
        assert!(Registry::parse(&text("")).is_ok());
    }

    #[test]
    fn seed_fields_are_required_in_the_main_template() {
        let r = Registry::load(None).unwrap();
        let plan = r.template("emergency_plan").unwrap();
        for id in [
            "enterprise_name",
            "industry_type",
            "address",
            "main_products",
            "employees_count",
        ] {
            assert!(plan.fields.iter().any(|f| f.id == id && f.required), "{id}");
        }
    }

    #[test]
    fn template_can_make_a_field_required() {
        let r = Registry::load(None).unwrap();
        let onsite = r.template("onsite_plan").unwrap();
        assert!(onsite
            .fields
            .iter()
            .any(|f| f.id == "post_or_facility" && f.required));
    }

    #[test]
    fn ttl_comes_from_the_section_or_its_template() {
        let text = r#"
version: 1
fields: [{id: a, label: A, kind: text}]
templates:
  - id: t
    name: T
    ttl_secs: 60
    fields: [a]
    sections:
      - {id: "1", title: One, prompt: p}
      - {id: "2", title: Two, prompt: p, ttl_secs: 5}
"#;
        let r = Registry::parse(text).unwrap();
        let t = r.template("t").unwrap();
        assert_eq!(t.section("1").unwrap().ttl, Duration::from_secs(60));
        assert_eq!(t.section("2").unwrap().ttl, Duration::from_secs(5));
    }

    #[test]
    fn broken_registries_are_rejected() {
        let unknown_field = "version: 1\nfields: []\ntemplates: [{id: t, name: T, ttl_secs: 1, fields: [x], sections: [{id: '1', title: A, prompt: p}]}]";
        assert!(Registry::parse(unknown_field)
            .unwrap_err()
            .message
            .contains("未定义的字段 x"));
        let duplicate_section = "version: 1\nfields: []\ntemplates: [{id: t, name: T, ttl_secs: 1, fields: [], sections: [{id: '1', title: A, prompt: p}, {id: '1', title: B, prompt: p}]}]";
        assert!(Registry::parse(duplicate_section)
            .unwrap_err()
            .message
            .contains("重复"));
        let zero_ttl = "version: 1\nfields: []\ntemplates: [{id: t, name: T, ttl_secs: 0, fields: [], sections: [{id: '1', title: A, prompt: p}]}]";
        assert!(Registry::parse(zero_ttl)
            .unwrap_err()
            .message
            .contains("ttl_secs"));
        assert!(Registry::parse("version: 1\nfields: []\ntemplates: []").is_err());
    }
}
