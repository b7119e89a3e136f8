//! The server side of the pages: plain services turned into what the pages show. Server
//! functions call these and nothing else.

pub mod docs;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use leptos::prelude::ServerFnError;
use serde::Serialize;

use crate::{
    generation::plan::Writing,
    model::{Dashboard, FieldProblem, GenerateBody, PlanBody, SectionEvent, TemplateView},
    serve,
    state::AppState,
    templates::Registry,
};

pub fn templates(registry: &Registry) -> Vec<TemplateView> {
    registry.templates().iter().map(|t| t.view()).collect()
}

/// Events as newline-delimited JSON, the pages' stream format.
fn ndjson<T: Serialize>(
    events: impl Stream<Item = T> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, ServerFnError>> + Send + 'static {
    events.map(|event| {
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        Ok(Bytes::from(line))
    })
}

/// One section's events. A failure before any text is one `error` event, so the page shows
/// every problem the same way.
pub async fn stream_section(
    state: &AppState,
    body: GenerateBody,
) -> impl Stream<Item = Result<Bytes, ServerFnError>> + Send + 'static {
    let service = &state.generation;
    let events = match service.read_section(body) {
        Ok(request) => service.stream(&request).await,
        Err(e) => Err(e),
    };
    let events = events.unwrap_or_else(|e| {
        Box::pin(futures::stream::iter([SectionEvent::Error {
            code: e.code().to_owned(),
            message: e.to_string(),
        }]))
    });
    ndjson(serve::with_deadline(
        events,
        state.stream_deadline,
        Some(serve::deadline_event()),
    ))
}

/// Every section of a plan as the page writes it: streamed, each event tagged with its section.
/// Cut at the deadline, the sections still open are reported as interrupted by the page.
pub fn stream_plan(
    state: &AppState,
    body: PlanBody,
) -> Result<impl Stream<Item = Result<Bytes, ServerFnError>> + Send + 'static, ServerFnError> {
    let service = &state.generation;
    let plan = service
        .read_plan(body)
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let events = service.plan_events(plan, Writing::Streamed, service.plan_concurrency());
    Ok(ndjson(serve::with_deadline(
        events,
        state.stream_deadline,
        None,
    )))
}

pub fn dashboard(state: &AppState) -> Dashboard {
    Dashboard {
        stats: state.generation.cache().stats(),
        ai: state.generation.ai().stats(),
        history: state.history.points(),
        warmups: state.warmup.jobs(),
    }
}

/// Checks the plan request, then starts warming every section of it.
pub fn start_template_warmup(state: &AppState, body: PlanBody) -> Result<u64, Vec<FieldProblem>> {
    let plan = state.generation.read_plan(body).map_err(|e| match e {
        crate::generation::GenerationError::Invalid(problems) => problems,
        other => vec![FieldProblem {
            field: "template_id".into(),
            message: other.to_string(),
        }],
    })?;
    let label = format!(
        "{} · {}",
        plan.info.name().unwrap_or_default(),
        plan.template.name
    );
    Ok(state
        .warmup
        .start_plan(state.generation.clone(), label, plan))
}
