//! The server side of the pages: plain services turned into what the pages show. Server
//! functions call these and nothing else.

pub mod docs;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use leptos::prelude::ServerFnError;
use serde::Serialize;

use crate::{
    auth::tokens::User,
    generation::{plan::Writing, stream::SectionEvents},
    model::{Dashboard, FieldProblem, GenerateBody, PlanBody, Quota, SectionEvent, TemplateView},
    serve,
    state::AppState,
    templates::Registry,
    usage::Payer,
};

/// What `user` may still ask for.
pub async fn quota(state: &AppState, user: &User) -> Quota {
    state.generation.accounts().quota(user).await
}

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

fn error_event(code: &str, message: String) -> SectionEvents {
    Box::pin(futures::stream::iter([SectionEvent::Error {
        code: code.to_owned(),
        message,
    }]))
}

/// One section's events, for `user`. A failure before any text (a bad request, a limit
/// reached, the model failing) is one `error` event, so the page shows every problem the same
/// way.
pub async fn stream_section(
    state: &AppState,
    user: &User,
    body: GenerateBody,
) -> impl Stream<Item = Result<Bytes, ServerFnError>> + Send + 'static {
    let service = &state.generation;
    let events = match service.read_section(body) {
        Ok(mut request) => match service.accounts().admit(user, 1).await {
            Ok(payer) => {
                request.payer = Some(payer);
                service
                    .stream(&request)
                    .await
                    .unwrap_or_else(|e| error_event(e.code(), e.to_string()))
            }
            Err(limit) => error_event(limit.code, limit.message),
        },
        Err(e) => error_event(e.code(), e.to_string()),
    };
    ndjson(serve::with_deadline(
        events,
        state.stream_deadline,
        state.last_call.clone(),
        serve::cut_event,
    ))
}

/// Every section of a plan as the page writes it: streamed, each event tagged with its section.
/// Cut at the deadline, the sections still open are reported as interrupted by the page.
pub async fn stream_plan(
    state: &AppState,
    user: &User,
    body: PlanBody,
) -> Result<impl Stream<Item = Result<Bytes, ServerFnError>> + Send + 'static, ServerFnError> {
    let service = &state.generation;
    let mut plan = service
        .read_plan(body)
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    let sections = plan.template.sections.len() as u32;
    let payer = service
        .accounts()
        .admit(user, sections)
        .await
        .map_err(|limit| ServerFnError::new(limit.message))?;
    plan.payer = Some(payer);
    let events = service.plan_events(plan, Writing::Streamed, service.plan_concurrency());
    Ok(ndjson(serve::with_deadline(
        events,
        state.stream_deadline,
        state.last_call.clone(),
        |_| None,
    )))
}

pub async fn dashboard(state: &AppState) -> Dashboard {
    let view = state.deployment.view().await;
    Dashboard {
        scope: view.scope,
        stats: view.stats,
        ai: view.ai,
        usage: view.usage,
        instances: view.instances,
        history: view.history,
        history_step_secs: view.history_step_secs,
        warmups: state.warmup.jobs(),
        plans: state.plans.counts().await,
    }
}

/// Checks the plan request, then starts warming every section of it, counted to `admin`.
pub fn start_template_warmup(
    state: &AppState,
    admin: &User,
    body: PlanBody,
) -> Result<u64, Vec<FieldProblem>> {
    let mut plan = state.generation.read_plan(body).map_err(|e| match e {
        crate::generation::GenerationError::Invalid(problems) => problems,
        other => vec![FieldProblem {
            field: "template_id".into(),
            message: other.to_string(),
        }],
    })?;
    plan.payer = Some(Payer::unlimited(admin.name.clone()));
    let label = format!(
        "{} · {}",
        plan.info.name().unwrap_or_default(),
        plan.template.name
    );
    Ok(state
        .warmup
        .start_plan(state.generation.clone(), label, plan))
}

/// A failure of the plans' store, as the page shows it.
pub fn store_error(e: crate::plans::StoreError) -> ServerFnError {
    ServerFnError::new(e.to_string())
}
