//! The writer's saved plans, as the generator's autosave, "我的预案" and the versions page use
//! them. Each is scoped to the door's user.

use super::Door;
use crate::{
    model::{
        finding::FactFinding, AppError, NewPlan, NewVersion, Plan, PlanChange, PlanSummary,
        PlanUpdate, SaveOutcome, SaveRequest, SavedPlan, SectionDiff, VersionSummary,
    },
    plans::ListParams,
};

type Result<T> = std::result::Result<T, AppError>;

impl Door {
    fn owner(&self) -> &str {
        &self.user.name
    }

    /// A save from the page: revision 0 creates the plan under the id the page chose.
    pub async fn save_plan(&self, request: SaveRequest) -> Result<SaveOutcome> {
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
        let plans = &self.state.plans;
        Ok(plans
            .save(self.owner(), &request.id, update, create)
            .await?)
    }

    pub async fn plan_findings(&self, id: &str) -> Result<Vec<(String, Vec<FactFinding>)>> {
        let owner = self.owner();
        let mut saved = self.state.plans.get(owner, id).await?;
        self.state
            .enterprises
            .check_plan(owner, &mut saved.plan)
            .await?;
        Ok(saved
            .plan
            .sections
            .into_iter()
            .filter(|s| !s.facts.is_empty())
            .map(|s| (s.section_id, s.facts))
            .collect())
    }

    pub async fn load_plan(&self, id: &str) -> Result<SavedPlan> {
        Ok(self.state.plans.get(self.owner(), id).await?)
    }

    /// Keeps `plan` as a version of plan `id`: a named one, or (`conflict`) the text the
    /// writer chose against when a conflict was settled.
    pub async fn keep_version(
        &self,
        id: &str,
        note: String,
        plan: Plan,
        conflict: bool,
    ) -> Result<VersionSummary> {
        let plans = &self.state.plans;
        let kept = if conflict {
            plans
                .keep_conflict_copy(self.owner(), id, &plan, &note)
                .await
        } else {
            let new = NewVersion {
                note,
                plan: Some(plan),
            };
            plans.save_version(self.owner(), id, new).await
        };
        Ok(kept?)
    }

    pub async fn list_plans(
        &self,
        search: String,
        trash: bool,
        by_title: bool,
    ) -> Result<(Vec<PlanSummary>, i64)> {
        let params = ListParams {
            search,
            trash,
            by_title,
            limit: None,
            offset: 0,
        };
        Ok(self.state.plans.list(self.owner(), &params).await?)
    }

    /// Does `action` to plan `id`; what the writer is told.
    pub async fn plan_action(&self, id: &str, action: PlanChange) -> Result<String> {
        let (plans, owner) = (&self.state.plans, self.owner());
        let done = match action {
            PlanChange::Rename(title) => {
                let update = PlanUpdate {
                    title: Some(title),
                    ..Default::default()
                };
                plans
                    .update(owner, id, update)
                    .await
                    .map(|p| format!("已重命名为“{}”", p.title))
            }
            PlanChange::Duplicate => plans
                .duplicate(owner, id, Default::default())
                .await
                .map(|p| format!("已复制为“{}”", p.title)),
            PlanChange::Delete => plans
                .delete(owner, id)
                .await
                .map(|()| plans.deleted_note(false)),
            PlanChange::Undelete => plans
                .undelete(owner, id)
                .await
                .map(|p| format!("已恢复“{}”", p.title)),
            PlanChange::Purge => plans
                .remove(owner, id)
                .await
                .map(|()| plans.deleted_note(true)),
        };
        Ok(done?)
    }

    pub async fn plan_versions(&self, id: &str) -> Result<(SavedPlan, Vec<VersionSummary>)> {
        let plans = &self.state.plans;
        let plan = plans.get(self.owner(), id).await?;
        let versions = plans.versions(self.owner(), id).await?;
        Ok((plan, versions))
    }

    pub async fn version_diff(
        &self,
        id: &str,
        section: &str,
        from: i64,
        to: i64,
    ) -> Result<SectionDiff> {
        let plans = &self.state.plans;
        Ok(plans.diff(self.owner(), id, section, from, to).await?)
    }

    pub async fn restore_version(&self, id: &str, version: i64) -> Result<SavedPlan> {
        Ok(self.state.plans.restore(self.owner(), id, version).await?)
    }
}
