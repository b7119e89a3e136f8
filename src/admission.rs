//! The one way a generation comes in, for the JSON API and the pages alike: the request read
//! and checked, its user admitted under their limits (and counted as its payer), and a streamed
//! answer cut at the stream deadline or when the instance stops.

use futures::Stream;

use crate::{
    auth::tokens::User,
    generation::{
        plan::Writing,
        request::{PlanRequest, SectionRequest},
    },
    model::{AppError, GenerateBody, PlanBody, PlanEvent, SectionEvent},
    serve::{self, Cut},
    state::AppState,
};

/// One section asked for by `user`, ready to write.
pub async fn section(
    state: &AppState,
    user: &User,
    body: GenerateBody,
) -> Result<SectionRequest, AppError> {
    let mut request = state.generation.read_section(body)?;
    request.payer = Some(state.generation.accounts().admit(user, 1).await?);
    Ok(request)
}

/// A whole plan asked for by `user`, ready to write: admitted for each of its sections.
pub async fn plan(state: &AppState, user: &User, body: PlanBody) -> Result<PlanRequest, AppError> {
    let mut plan = state.generation.read_plan(body)?;
    let sections = plan.template.sections.len() as u32;
    plan.payer = Some(state.generation.accounts().admit(user, sections).await?);
    Ok(plan)
}

/// One section's events as it is written. A failure before any text is the error.
pub async fn stream_section(
    state: &AppState,
    user: &User,
    body: GenerateBody,
) -> Result<impl Stream<Item = SectionEvent> + Send + 'static, AppError> {
    let request = section(state, user, body).await?;
    let events = state.generation.stream(&request).await?;
    Ok(bounded(state, events, serve::cut_event))
}

/// Every section of a plan as it is written, each event tagged with its section. Cut at the
/// deadline, the sections still open are left for the reader to call interrupted.
pub async fn stream_plan(
    state: &AppState,
    user: &User,
    body: PlanBody,
) -> Result<impl Stream<Item = PlanEvent> + Send + 'static, AppError> {
    let plan = plan(state, user, body).await?;
    let generation = &state.generation;
    let events = generation.plan_events(plan, Writing::Streamed, generation.plan_concurrency());
    Ok(bounded(state, events, |_| None))
}

/// `events` until the stream deadline or the instance's last call; `last` says what ends a
/// stream cut short.
fn bounded<T: Send + 'static>(
    state: &AppState,
    events: impl Stream<Item = T> + Send + 'static,
    last: fn(Cut) -> Option<T>,
) -> impl Stream<Item = T> + Send + 'static {
    serve::with_deadline(events, state.stream_deadline, state.last_call.clone(), last)
}
