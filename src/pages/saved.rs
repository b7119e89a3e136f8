//! The server functions over the writer's saved plans: what the generator's autosave, the
//! "我的预案" page and the versions page call. Each is scoped to the logged-in user.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{Plan, PlanSummary, SaveOutcome, SavedPlan, SectionDiff, VersionSummary};

/// A save from the page: `revision` 0 creates the plan under the id the page chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveRequest {
    pub id: String,
    pub revision: i64,
    pub plan: Plan,
    /// A note for an automatic version of the plan as saved (a section was generated).
    pub snapshot: Option<String>,
    /// Settles a conflict for this text, keeping the replaced one as a version.
    pub keep_replaced: bool,
}

#[server(prefix = "/fn", endpoint = "save_plan", input = leptos::server_fn::codec::Json)]
pub async fn save_plan(request: SaveRequest) -> Result<SaveOutcome, ServerFnError> {
    use crate::model::{NewPlan, PlanUpdate};
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let create = (request.revision == 0).then(|| NewPlan {
        id: Some(request.id.clone()),
        title: None,
        plan: request.plan.clone(),
    });
    let update = PlanUpdate {
        title: None,
        base_revision: Some(request.revision),
        snapshot: request.snapshot,
        keep_replaced: request.keep_replaced,
        plan: Some(request.plan),
    };
    let outcome = state
        .plans
        .save(&user.name, &request.id, update, create)
        .await
        .map_err(crate::pages::server::store_error)?;
    Ok(outcome)
}

#[server(prefix = "/fn", endpoint = "load_plan")]
pub async fn load_plan(id: String) -> Result<SavedPlan, ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    state
        .plans
        .get(&user.name, &id)
        .await
        .map_err(crate::pages::server::store_error)
}

/// Keeps `plan` as a version of plan `id`: a named one, or (`conflict`) the text the writer
/// chose against when a conflict was settled.
#[server(prefix = "/fn", endpoint = "keep_version", input = leptos::server_fn::codec::Json)]
pub async fn keep_version(
    id: String,
    note: String,
    plan: Plan,
    conflict: bool,
) -> Result<VersionSummary, ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let kept = if conflict {
        state
            .plans
            .keep_conflict_copy(&user.name, &id, &plan, &note)
            .await
    } else {
        let new = crate::model::NewVersion {
            note,
            plan: Some(plan),
        };
        state.plans.save_version(&user.name, &id, new).await
    };
    kept.map_err(crate::pages::server::store_error)
}

#[server(prefix = "/fn", endpoint = "list_plans")]
pub async fn list_plans(
    search: String,
    trash: bool,
    by_title: bool,
) -> Result<(Vec<PlanSummary>, i64), ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let params = crate::plans::ListParams {
        search,
        trash,
        by_title,
        limit: None,
        offset: 0,
    };
    state
        .plans
        .list(&user.name, &params)
        .await
        .map_err(crate::pages::server::store_error)
}

/// What the list page does to one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanChange {
    Rename(String),
    Duplicate,
    Delete,
    Undelete,
    /// Removes a plan in the trash for good.
    Purge,
}

#[server(prefix = "/fn", endpoint = "plan_action")]
pub async fn plan_action(id: String, action: PlanChange) -> Result<String, ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let plans = &state.plans;
    let owner = &user.name;
    let done = match action {
        PlanChange::Rename(title) => {
            let update = crate::model::PlanUpdate {
                title: Some(title),
                ..Default::default()
            };
            plans
                .update(owner, &id, update)
                .await
                .map(|p| format!("已重命名为“{}”", p.title))
        }
        PlanChange::Duplicate => plans
            .duplicate(owner, &id, Default::default())
            .await
            .map(|p| format!("已复制为“{}”", p.title)),
        PlanChange::Delete => plans
            .delete(owner, &id)
            .await
            .map(|()| format!("已移入回收站，{} 天内可恢复", plans.trash_days())),
        PlanChange::Undelete => plans
            .undelete(owner, &id)
            .await
            .map(|p| format!("已恢复“{}”", p.title)),
        PlanChange::Purge => plans
            .remove(owner, &id)
            .await
            .map(|()| "已永久删除".to_owned()),
    };
    done.map_err(crate::pages::server::store_error)
}

#[server(prefix = "/fn", endpoint = "plan_versions")]
pub async fn plan_versions(id: String) -> Result<(SavedPlan, Vec<VersionSummary>), ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let plan = state
        .plans
        .get(&user.name, &id)
        .await
        .map_err(crate::pages::server::store_error)?;
    let versions = state
        .plans
        .versions(&user.name, &id)
        .await
        .map_err(crate::pages::server::store_error)?;
    Ok((plan, versions))
}

#[server(prefix = "/fn", endpoint = "version_diff")]
pub async fn version_diff(
    id: String,
    section: String,
    from: i64,
    to: i64,
) -> Result<SectionDiff, ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    state
        .plans
        .diff(&user.name, &id, &section, from, to)
        .await
        .map_err(crate::pages::server::store_error)
}

#[server(prefix = "/fn", endpoint = "restore_version")]
pub async fn restore_version(id: String, version: i64) -> Result<SavedPlan, ServerFnError> {
    let user = crate::auth::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    state
        .plans
        .restore(&user.name, &id, version)
        .await
        .map_err(crate::pages::server::store_error)
}
