//! The server functions over the writer's saved plans: what the generator's autosave, the
//! "我的预案" page and the versions page call. Each is scoped to the logged-in user.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::server::Door;
use crate::model::{
    finding::FactFinding, AppError, Plan, PlanSummary, SaveOutcome, SavedPlan, SectionDiff,
    VersionSummary,
};
pub use crate::model::{PlanChange, SaveRequest};

#[server(prefix = "/fn", endpoint = "save_plan", input = leptos::server_fn::codec::Json)]
pub async fn save_plan(request: SaveRequest) -> Result<SaveOutcome, AppError> {
    Door::writer()?.save_plan(request).await
}

#[server(prefix = "/fn", endpoint = "load_plan")]
pub async fn load_plan(id: String) -> Result<SavedPlan, AppError> {
    Door::writer()?.load_plan(&id).await
}

/// Keeps `plan` as a version of plan `id`: a named one, or (`conflict`) the text the writer
/// chose against when a conflict was settled.
#[server(prefix = "/fn", endpoint = "keep_version", input = leptos::server_fn::codec::Json)]
pub async fn keep_version(
    id: String,
    note: String,
    plan: Plan,
    conflict: bool,
) -> Result<VersionSummary, AppError> {
    Door::writer()?
        .keep_version(&id, note, plan, conflict)
        .await
}

/// What the check against the profile plan `id` was made from finds, by section id (nothing
/// for a plan made from no profile).
#[server(prefix = "/fn", endpoint = "plan_findings")]
pub async fn plan_findings(id: String) -> Result<Vec<(String, Vec<FactFinding>)>, AppError> {
    Door::writer()?.plan_findings(&id).await
}

#[server(prefix = "/fn", endpoint = "list_plans")]
pub async fn list_plans(
    search: String,
    trash: bool,
    by_title: bool,
) -> Result<(Vec<PlanSummary>, i64), AppError> {
    Door::writer()?.list_plans(search, trash, by_title).await
}

#[server(prefix = "/fn", endpoint = "plan_action")]
pub async fn plan_action(id: String, action: PlanChange) -> Result<String, AppError> {
    Door::writer()?.plan_action(&id, action).await
}

#[server(prefix = "/fn", endpoint = "plan_versions")]
pub async fn plan_versions(id: String) -> Result<(SavedPlan, Vec<VersionSummary>), AppError> {
    Door::writer()?.plan_versions(&id).await
}

#[server(prefix = "/fn", endpoint = "version_diff")]
pub async fn version_diff(
    id: String,
    section: String,
    from: i64,
    to: i64,
) -> Result<SectionDiff, AppError> {
    Door::writer()?.version_diff(&id, &section, from, to).await
}

#[server(prefix = "/fn", endpoint = "restore_version")]
pub async fn restore_version(id: String, version: i64) -> Result<SavedPlan, AppError> {
    Door::writer()?.restore_version(&id, version).await
}
