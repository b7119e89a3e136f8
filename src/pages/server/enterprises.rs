//! The enterprise profiles as the 企业档案 pages read and change them, and a plan started from
//! one. Each is scoped to the door's user.

use super::Door;
use crate::model::{
    profile::{NewProfile, Profile, ProfileSummary, ProfileUpdate, SavedProfile},
    profile_check::tidy,
    profile_sheets::{ProfileEditor, ProfileSaveOutcome, ProfileSaved, Sheets},
    AppError, EnterpriseData, FieldInput, JobRequest, PlanFromProfile,
};

type Result<T> = std::result::Result<T, AppError>;

impl Door {
    pub async fn list_profiles(&self) -> Result<Vec<ProfileSummary>> {
        Ok(self.state.enterprises.list(&self.user.name).await?)
    }

    /// A new profile for the enterprise `name`.
    pub async fn new_profile(&self, name: String) -> Result<SavedProfile> {
        let mut profile = Profile::default();
        profile.basics.enterprise_name = name;
        let new = NewProfile {
            profile: tidy(profile),
        };
        Ok(self.state.enterprises.create(&self.user.name, new).await?)
    }

    /// A profile as the page edits it: as sheets of cells, with what its columns offer.
    pub async fn profile_editor(&self, id: &str) -> Result<ProfileEditor> {
        let saved = self.state.enterprises.get(&self.user.name, id).await?;
        let registry = self.state.generation.registry();
        Ok(ProfileEditor {
            id: saved.id,
            revision: saved.revision,
            updated_at: saved.updated_at,
            sheets: Sheets::of(&saved.profile),
            categories: registry.risk().categories.clone(),
            grading: format!("{}；{}", registry.risk().method, registry.risk().describe()),
            levels: levels(&saved.profile),
        })
    }

    /// Saves the page's sheets over revision `revision`: every cell read, tidied as typed
    /// text is, and checked. Nothing is written while any problem is left.
    pub async fn save_profile(
        &self,
        id: &str,
        revision: i64,
        sheets: Sheets,
    ) -> Result<ProfileSaveOutcome> {
        let (profile, mut problems, placement) = sheets.read_placed();
        let profile = tidy(profile);
        let enterprises = &self.state.enterprises;
        match enterprises.check(profile.clone()) {
            Err(crate::plans::StoreError::Fields(more)) => problems.extend(placement.place(more)),
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        if !problems.is_empty() {
            return Ok(ProfileSaveOutcome::Invalid(problems));
        }
        let update = ProfileUpdate {
            base_revision: Some(revision),
            profile,
        };
        let saved = match enterprises.update(&self.user.name, id, update).await {
            Ok(saved) => saved,
            Err(crate::plans::StoreError::ProfileConflict(_)) => {
                return Ok(ProfileSaveOutcome::Conflict)
            }
            Err(e) => return Err(e.into()),
        };
        Ok(ProfileSaveOutcome::Saved(ProfileSaved {
            revision: saved.revision,
            updated_at: saved.updated_at,
            sheets: Sheets::of(&saved.profile),
            levels: levels(&saved.profile),
        }))
    }

    pub async fn delete_profile(&self, id: &str) -> Result<()> {
        Ok(self.state.enterprises.delete(&self.user.name, id).await?)
    }

    /// A new plan of `template_id` written from profile `id` (`scope` names a special plan's
    /// accident category or an on-site plan's post), its writing started on the server; the
    /// plan's id.
    pub async fn plan_from_profile(
        &self,
        id: String,
        template_id: String,
        scope: String,
    ) -> Result<String> {
        let registry = self.state.generation.registry();
        let field = registry
            .template(&template_id)
            .and_then(|t| match &t.scope {
                crate::templates::FactScope::Category { field }
                | crate::templates::FactScope::Post { field } => Some(field.clone()),
                crate::templates::FactScope::Enterprise => None,
            });
        let data = field.map(|field| EnterpriseData {
            enterprise_info: [(field, FieldInput::Text(scope))].into_iter().collect(),
        });
        let owner: &str = &self.user.name;
        let body = PlanFromProfile {
            template_id,
            enterprise_id: id,
            data,
            title: None,
        };
        let saved = self
            .state
            .jobs
            .create_plan_from_profile(owner, body)
            .await?;
        self.state
            .jobs
            .generate(owner, &saved.id, JobRequest::default(), None)
            .await?;
        Ok(saved.id)
    }
}

/// Each risk's level, by row.
fn levels(profile: &Profile) -> Vec<String> {
    profile
        .risks
        .iter()
        .map(|r| r.level.map(|l| l.label().to_owned()).unwrap_or_default())
        .collect()
}
