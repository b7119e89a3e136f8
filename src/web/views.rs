//! Plain services turned into what the pages show. Server functions call these and nothing else.

use std::collections::BTreeMap;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use serde_json::{json, Map, Value};

use crate::{
    generation::{request::check_context, GenerateRequest, GenerationError, GenerationService},
    model::{Dashboard, FieldProblem, FieldView, SectionEvent, SectionView, TemplateView},
    templates::{FieldKind, Registry},
};

pub fn templates(registry: &Registry) -> Vec<TemplateView> {
    registry
        .templates()
        .iter()
        .map(|t| TemplateView {
            id: t.id.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            context_section: t.context_section.clone(),
            fields: t
                .fields
                .iter()
                .map(|f| FieldView {
                    id: f.id.clone(),
                    label: f.label.clone(),
                    kind: match f.kind {
                        FieldKind::Text => "text",
                        FieldKind::Textarea => "textarea",
                        FieldKind::Integer => "integer",
                    }
                    .to_owned(),
                    required: f.required,
                    max_len: f.max_len,
                    min: f.min,
                    max: f.max,
                    placeholder: f.placeholder.clone(),
                })
                .collect(),
            sections: t
                .sections
                .iter()
                .map(|s| SectionView {
                    id: s.id.clone(),
                    title: s.title.clone(),
                })
                .collect(),
        })
        .collect()
}

/// What the page sends to write one section of a plan.
pub struct SectionCall {
    pub template_id: String,
    pub section_id: String,
    pub fields: BTreeMap<String, String>,
    pub refresh: bool,
    pub context: Option<String>,
}

fn enterprise_data(fields: BTreeMap<String, String>) -> Value {
    let info: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({ "enterprise_info": info })
}

/// A section as newline-delimited JSON events for the page. A failure before any text is one
/// `error` event, so the page shows every problem the same way.
pub async fn stream_section(
    service: &GenerationService,
    call: SectionCall,
) -> impl Stream<Item = Result<Bytes, leptos::prelude::ServerFnError>> + Send + 'static {
    let context = call
        .context
        .as_deref()
        .map(check_context)
        .transpose()
        .map(Option::flatten);
    let events = match context {
        Ok(context) => {
            let request = GenerateRequest {
                template_id: call.template_id,
                section_id: call.section_id,
                data: enterprise_data(call.fields),
                refresh: call.refresh,
                context,
            };
            service.stream(&request).await
        }
        Err(problem) => Err(GenerationError::Invalid(vec![problem])),
    };
    let events = match events {
        Ok(events) => events,
        Err(e) => {
            let message = match &e {
                GenerationError::Invalid(problems) => problems
                    .iter()
                    .map(|p| p.message.as_str())
                    .collect::<Vec<_>>()
                    .join("；"),
                _ => e.to_string(),
            };
            Box::pin(futures::stream::once(async move {
                SectionEvent::Error {
                    code: e.code().to_owned(),
                    message,
                }
            }))
        }
    };
    events.map(|event| {
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        Ok(Bytes::from(line))
    })
}

pub fn dashboard(
    service: &GenerationService,
    history: &crate::cache::history::History,
    warmup: &crate::warmup::Warmup,
) -> Dashboard {
    let cache = service.cache().stats();
    let ai = service.ai().stats();
    Dashboard {
        backend: cache.backend.to_owned(),
        degraded: cache.degraded,
        redis_configured: service.cache().redis_configured(),
        hits: cache.hits,
        misses: cache.misses,
        sets: cache.sets,
        errors: cache.errors,
        total_requests: cache.total_requests,
        hit_rate: cache.hit_rate,
        l1_enabled: cache.l1_enabled,
        l1_hits: cache.tiers.l1.hits,
        l1_misses: cache.tiers.l1.misses,
        l2_hits: cache.tiers.l2.hits,
        l2_misses: cache.tiers.l2.misses,
        breaker_opened: cache.breaker.opened,
        breaker_closed: cache.breaker.closed,
        stale_served: cache.stale_served,
        ai_mock: ai.mode == "mock",
        ai_model: ai.model,
        ai_calls: ai.calls,
        ai_retries: ai.retries,
        ai_failures: ai.failures,
        history: history.points(),
        warmups: warmup.jobs(),
    }
}

/// Checks the enterprise against the template, then starts warming every section.
pub fn start_template_warmup(
    state: &crate::state::AppState,
    template_id: &str,
    fields: BTreeMap<String, String>,
) -> Result<Result<u64, Vec<FieldProblem>>, leptos::prelude::ServerFnError> {
    let registry = state.generation.registry();
    let Some(template) = registry.template(template_id) else {
        return Ok(Err(vec![FieldProblem {
            field: "template_id".into(),
            message: format!("模板 {template_id} 不存在"),
        }]));
    };
    let data = enterprise_data(fields);
    if let Err(problems) = crate::domain::enterprise::EnterpriseInfo::parse(template, &data) {
        return Ok(Err(problems
            .into_iter()
            .map(|p| FieldProblem {
                field: p.field,
                message: p.message,
            })
            .collect()));
    }
    let name = data
        .pointer("/enterprise_info/enterprise_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let label = format!("{name} · {}", template.name);
    let request = GenerateRequest {
        template_id: template.id.clone(),
        section_id: String::new(),
        data,
        refresh: false,
        context: None,
    };
    Ok(Ok(state.warmup.start_plan(
        state.generation.clone(),
        label,
        request,
        template.sections.len() as u64,
    )))
}
