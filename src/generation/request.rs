//! Requests as the service takes them: read once from the wire types against the registry, so
//! the template and section exist, the enterprise data is checked and normalised, and the
//! context is within its limit.

use std::sync::Arc;

use super::GenerationError;
use crate::{
    domain::{
        enterprise::EnterpriseInfo,
        facts::{PlanFacts, SectionFacts},
    },
    model::{EnterpriseData, FieldProblem, GenerateBody, PlanBody, MAX_CONTEXT_CHARS},
    templates::{Registry, Section, Template},
    usage::Payer,
};

/// A checked request to write one section.
#[derive(Debug, Clone)]
pub struct SectionRequest {
    pub template: Arc<Template>,
    /// Position of the section in the template.
    pub section: usize,
    pub info: EnterpriseInfo,
    /// Skip the cache lookup and write a fresh answer (the "重新生成" button).
    pub refresh: bool,
    /// Text of the plan's context section (企业概况), given to the prompt so the sections of one
    /// plan agree; part of the cache key.
    pub context: Option<String>,
    /// Whose request it is: the model tokens it uses are counted to them.
    pub payer: Option<Payer>,
    /// What the section reads of the enterprise's profile; part of the cache key.
    pub facts: Option<Arc<SectionFacts>>,
}

/// A checked request to write every section of a plan.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub template: Arc<Template>,
    pub info: EnterpriseInfo,
    pub refresh: bool,
    pub payer: Option<Payer>,
    /// Only these sections (by position), when set: a job's sections not yet saved.
    pub only: Option<Vec<usize>>,
    /// The context section's text, when it is not among the sections written.
    pub context: Option<String>,
    /// Once cancelled, no further section is started (those started finish).
    pub stop: tokio_util::sync::CancellationToken,
    /// The enterprise's profile as this plan reads it, when the plan was made from one.
    pub facts: Option<Arc<PlanFacts>>,
}

impl SectionRequest {
    pub fn read(body: GenerateBody, registry: &Registry) -> Result<Self, GenerationError> {
        let template = find_template(registry, &body.template_id)?;
        let section = template
            .sections
            .iter()
            .position(|s| s.id == body.section_id.0)
            .ok_or_else(|| GenerationError::UnknownSection {
                template: body.template_id.clone(),
                section: body.section_id.0.clone(),
            })?;
        let info = read_info(&template, &body.data);
        let context = body.context.as_deref().map(check_context).transpose();
        let (info, context) = match (info, context) {
            (Ok(info), Ok(context)) => (info, context.flatten()),
            (info, context) => {
                let problems = info
                    .err()
                    .into_iter()
                    .flatten()
                    .chain(context.err())
                    .collect();
                return Err(GenerationError::Invalid(problems));
            }
        };
        Ok(Self {
            template,
            section,
            info,
            refresh: body.refresh.unwrap_or(false),
            context,
            payer: None,
            facts: None,
        })
    }

    pub fn section(&self) -> &Section {
        &self.template.sections[self.section]
    }
}

impl PlanRequest {
    pub fn read(body: PlanBody, registry: &Registry) -> Result<Self, GenerationError> {
        let template = find_template(registry, &body.template_id)?;
        let info = read_info(&template, &body.data).map_err(GenerationError::Invalid)?;
        Ok(Self {
            template,
            info,
            refresh: body.refresh.unwrap_or(false),
            payer: None,
            only: None,
            context: None,
            stop: Default::default(),
            facts: None,
        })
    }

    /// Section `index` of this plan, given `context`.
    pub fn section(&self, index: usize, context: Option<String>) -> SectionRequest {
        SectionRequest {
            template: self.template.clone(),
            section: index,
            info: self.info.clone(),
            refresh: self.refresh,
            context,
            payer: self.payer.clone(),
            facts: self
                .facts
                .as_ref()
                .and_then(|f| f.for_section(&self.template.sections[index]))
                .map(Arc::new),
        }
    }
}

fn find_template(registry: &Registry, id: &str) -> Result<Arc<Template>, GenerationError> {
    registry
        .template(id)
        .cloned()
        .ok_or_else(|| GenerationError::UnknownTemplate(id.to_owned()))
}

fn read_info(
    template: &Template,
    data: &EnterpriseData,
) -> Result<EnterpriseInfo, Vec<FieldProblem>> {
    EnterpriseInfo::parse(template, &data.enterprise_info)
}

/// A context as given: at most `MAX_CONTEXT_CHARS` characters as sent, trimmed, `None` when
/// blank.
fn check_context(raw: &str) -> Result<Option<String>, FieldProblem> {
    if raw.chars().count() > MAX_CONTEXT_CHARS {
        return Err(FieldProblem {
            field: "context".into(),
            message: format!("context 不能超过 {MAX_CONTEXT_CHARS} 字"),
        });
    }
    let trimmed = raw.trim();
    Ok(Some(trimmed.to_owned()).filter(|s| !s.is_empty()))
}

/// A context cut to the allowed length, for text this service wrote itself.
pub fn clip_context(text: &str) -> String {
    text.trim().chars().take(MAX_CONTEXT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body(value: serde_json::Value) -> GenerateBody {
        serde_json::from_value(value).unwrap()
    }

    fn seed() -> serde_json::Value {
        json!({
            "template_id": "emergency_plan", "section_id": 2,
            "data": {"enterprise_info": {
                "enterprise_name": "测试企业", "industry_type": "化工制造", "address": "北京市朝阳区",
                "main_products": "化工产品", "employees_count": 100
            }}
        })
    }

    #[test]
    fn the_seed_shape_reads_with_a_numeric_section() {
        let registry = Registry::load(None).unwrap();
        let r = SectionRequest::read(body(seed()), &registry).unwrap();
        assert_eq!(r.section().id, "2");
        assert!(!r.refresh);
        assert_eq!(r.context, None);
    }

    #[test]
    fn unknown_ids_and_bad_fields_are_told_apart() {
        let registry = Registry::load(None).unwrap();
        let mut unknown = seed();
        unknown["section_id"] = json!("99");
        assert!(matches!(
            SectionRequest::read(body(unknown), &registry),
            Err(GenerationError::UnknownSection { .. })
        ));
        let mut bad = seed();
        bad["data"]["enterprise_info"]["enterprise_name"] = json!("");
        bad["context"] = json!("字".repeat(MAX_CONTEXT_CHARS + 1));
        let Err(GenerationError::Invalid(problems)) = SectionRequest::read(body(bad), &registry)
        else {
            panic!("expected field problems");
        };
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["data.enterprise_info.enterprise_name", "context"]);
    }

    #[test]
    fn blank_context_is_none() {
        assert_eq!(check_context("  \n").unwrap(), None);
        assert_eq!(check_context(" 概况 ").unwrap().as_deref(), Some("概况"));
    }
}
