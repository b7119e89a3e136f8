//! The server side of the pages, and their one door: every server function opens a `Door`
//! (the logged-in writer or admin, and the app's state) and calls one of its methods, which
//! turn plain services into what the pages show. Failures come back as `AppError`s.

pub mod docs;
mod enterprises;
mod jobs;
mod plans;

use std::sync::Arc;

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use leptos::prelude::expect_context;
use serde::Serialize;

use crate::{
    admission,
    auth::{tokens::User, viewer::current_user},
    model::{
        AppError, Dashboard, ErrorCode, FieldProblem, GenerateBody, Identity, PlanBody, Quota,
        Role, SectionEvent, TemplateView,
    },
    state::AppState,
    usage::Payer,
};

/// The logged-in user of a server function's request, and what the app holds.
pub struct Door {
    state: AppState,
    user: Arc<User>,
}

impl Door {
    /// For any logged-in user; otherwise the page is told to log in again.
    pub fn writer() -> Result<Self, AppError> {
        let user = current_user().ok_or_else(AppError::login_expired)?;
        Ok(Self {
            state: expect_context(),
            user,
        })
    }

    /// For administrators only.
    pub fn admin() -> Result<Self, AppError> {
        let door = Self::writer()?;
        match door.user.role {
            Role::Admin => Ok(door),
            Role::User => Err(AppError::admins_only()),
        }
    }

    /// What the user may still ask for.
    pub async fn quota(&self) -> Quota {
        self.state.generation.accounts().quota(&self.user).await
    }

    pub fn templates(&self) -> Vec<TemplateView> {
        let registry = self.state.generation.registry();
        registry.templates().iter().map(|t| t.view()).collect()
    }

    /// One section's events. A failure before any text (a bad request, a limit reached, the
    /// model failing) is one `error` event, so the page shows every problem the same way.
    pub async fn stream_section(
        &self,
        body: GenerateBody,
    ) -> impl Stream<Item = Result<Bytes, AppError>> + Send + 'static {
        let events = match admission::stream_section(&self.state, &self.user, body).await {
            Ok(events) => events.boxed(),
            Err(e) => futures::stream::iter([SectionEvent::Error {
                code: e.code.as_str().to_owned(),
                message: e.message,
            }])
            .boxed(),
        };
        ndjson(events)
    }

    pub async fn dashboard(&self) -> Dashboard {
        let state = &self.state;
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

    /// Removes this app's cached answers everywhere; how many there were.
    pub async fn clear_cache(&self) -> Result<u64, AppError> {
        self.state.cache.clear().await.map_err(|_| {
            AppError::new(
                ErrorCode::CacheUnavailable,
                "缓存服务暂时不可用，请稍后重试",
            )
        })
    }

    /// Checks the plan request, then starts warming every section of it, counted to the
    /// admin (without limits).
    pub fn start_template_warmup(&self, body: PlanBody) -> Result<u64, Vec<FieldProblem>> {
        let state = &self.state;
        let mut plan = state.generation.read_plan(body).map_err(|e| match e {
            crate::generation::GenerationError::Invalid(problems) => problems,
            other => vec![FieldProblem {
                field: "template_id".into(),
                message: other.to_string(),
            }],
        })?;
        plan.payer = Some(Payer::unlimited(self.user.name.clone()));
        let label = format!(
            "{} · {}",
            plan.info.name().unwrap_or_default(),
            plan.template.name
        );
        Ok(state
            .warmup
            .start_plan(state.generation.clone(), label, plan))
    }
}

/// Who is logged in, if anyone (asked by every page, logged in or not).
pub fn whoami() -> Option<Identity> {
    current_user().map(|u| Identity {
        name: u.name.to_string(),
        role: u.role,
    })
}

/// The API's documentation as the `/docs` page lists it (public).
pub fn docs_view() -> crate::model::DocsView {
    let state: AppState = expect_context();
    docs::view(std::str::from_utf8(&state.openapi).unwrap_or("{}"))
}

/// Events as newline-delimited JSON, the pages' stream format.
fn ndjson<T: Serialize>(
    events: impl Stream<Item = T> + Send + 'static,
) -> impl Stream<Item = Result<Bytes, AppError>> + Send + 'static {
    events.map(|event| {
        let mut line = serde_json::to_vec(&event).unwrap_or_default();
        line.push(b'\n');
        Ok(Bytes::from(line))
    })
}
