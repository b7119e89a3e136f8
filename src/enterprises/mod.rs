//! Enterprise profiles (企业档案) on the server: each user's own, checked where they are
//! entered, changed with compare-and-set like plans, kept in the plans' database.

mod records;

use std::sync::Arc;

use crate::{
    clock,
    domain::{
        fact_check::FactBook,
        facts::{profile_form, PlanFacts},
    },
    model::{
        finding::{FactFinding, FindingKind},
        profile::FactPart,
        EnterpriseData, FieldInput, Plan,
    },
    templates::FactScope,
};
use crate::{
    clock::{now_ms, rfc3339},
    model::profile::{
        NewProfile, Profile, ProfileSummary, ProfileUpdate, SavedProfile, MAX_PROFILE_BYTES,
    },
    model::profile_check,
    plans::{check_id, new_id, Access, PlanService, StoreError},
    templates::{Registry, Template},
};

/// The accident categories `plans` answer for: a special plan's categories, an on-site
/// plan's post's risks.
fn covered(
    plans: &[(String, EnterpriseData)],
    profile: &Profile,
    registry: &Registry,
) -> std::collections::BTreeSet<String> {
    let mut covered = std::collections::BTreeSet::new();
    for (template_id, data) in plans {
        let Some(template) = registry.template(template_id) else {
            continue;
        };
        let asked = |field: &str| match data.enterprise_info.get(field) {
            Some(FieldInput::Text(t)) => t.trim().to_owned(),
            _ => String::new(),
        };
        match &template.scope {
            FactScope::Enterprise => {}
            FactScope::Category { field } => {
                let text = asked(field);
                for c in &registry.risk().categories {
                    if text.contains(c.as_str()) {
                        covered.insert(c.clone());
                    }
                }
            }
            FactScope::Post { field } => {
                let post = asked(field);
                for p in profile
                    .posts
                    .iter()
                    .filter(|p| p.post == post || p.area == post)
                {
                    covered.extend(p.risks.iter().cloned());
                }
            }
        }
    }
    covered
}
use records::ProfileRecord;

type Result<T> = std::result::Result<T, StoreError>;

/// The most profiles one list answer holds.
const MAX_LIST: i64 = 1_000;

pub struct EnterpriseService {
    store: Arc<PlanService>,
    registry: Arc<Registry>,
    max_per_user: usize,
}

impl EnterpriseService {
    pub fn new(store: Arc<PlanService>, registry: Arc<Registry>, max_per_user: usize) -> Self {
        Self {
            store,
            registry,
            max_per_user,
        }
    }

    /// `profile` held to the rules, tidied, its risks graded; every problem at once.
    pub fn check(&self, profile: Profile) -> Result<Profile> {
        profile_check::check(profile, self.registry.risk()).map_err(StoreError::Fields)
    }

    pub async fn list(&self, owner: &str) -> Result<Vec<ProfileSummary>> {
        let limit = (self.max_per_user as i64).min(MAX_LIST);
        self.store
            .run("profiles", Access::Read, async |conn| {
                Ok(records::list(conn, owner, limit).await?)
            })
            .await
    }

    pub async fn get(&self, owner: &str, id: &str) -> Result<SavedProfile> {
        check_id(id).map_err(|_| StoreError::NoProfile)?;
        self.store
            .run("profile", Access::Read, async |conn| {
                let record = records::find(conn, owner, id)
                    .await?
                    .ok_or(StoreError::NoProfile)?;
                Ok(saved(record)?)
            })
            .await
    }

    pub async fn create(&self, owner: &str, new: NewProfile) -> Result<SavedProfile> {
        let profile = self.check(new.profile)?;
        let body = encode(&profile)?;
        let now = now_ms();
        let record = ProfileRecord {
            id: new_id(),
            name: profile.basics.enterprise_name.clone(),
            body,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        let max = self.max_per_user;
        self.store
            .run(
                "profile create",
                Access::WriteAs(owner),
                async move |conn| {
                    if records::count(conn, owner).await? >= max as i64 {
                        return Err(StoreError::TooManyProfiles(max).into());
                    }
                    records::insert(conn, owner, &record).await?;
                    Ok(saved_as(record, profile))
                },
            )
            .await
    }

    /// Replaces a profile's content; `ProfileConflict` (nothing written) when `base_revision`
    /// is not the latest.
    pub async fn update(
        &self,
        owner: &str,
        id: &str,
        update: ProfileUpdate,
    ) -> Result<SavedProfile> {
        check_id(id).map_err(|_| StoreError::NoProfile)?;
        if update.base_revision.is_some_and(|r| r < 0) {
            return Err(StoreError::Invalid("base_revision 不能为负数".into()));
        }
        let profile = self.check(update.profile)?;
        let body = encode(&profile)?;
        self.store
            .run(
                "profile update",
                Access::WriteAs(owner),
                async move |conn| {
                    let current = records::find(conn, owner, id)
                        .await?
                        .ok_or(StoreError::NoProfile)?;
                    let unchanged = current.body == body;
                    if let Some(base) = update.base_revision.filter(|r| *r != current.revision) {
                        // The same change sent again (its answer was lost) is already saved.
                        if base.checked_add(1) == Some(current.revision) && unchanged {
                            return Ok(saved(current)?);
                        }
                        return Err(StoreError::ProfileConflict(Box::new(saved(current)?)).into());
                    }
                    if unchanged {
                        return Ok(saved(current)?);
                    }
                    let read = current.revision;
                    let next = ProfileRecord {
                        name: profile.basics.enterprise_name.clone(),
                        body,
                        revision: read + 1,
                        updated_at: now_ms(),
                        ..current
                    };
                    if !records::update(conn, owner, &next, read).await? {
                        let now = records::find(conn, owner, id)
                            .await?
                            .ok_or(StoreError::NoProfile)?;
                        return Err(StoreError::ProfileConflict(Box::new(saved(now)?)).into());
                    }
                    Ok(saved_as(next, profile))
                },
            )
            .await
    }

    /// The form a plan of `template` made from profile `id` is asked with, and the profile
    /// as the plan reads it.
    pub async fn plan_form(
        &self,
        owner: &str,
        id: &str,
        template: &Template,
        asked: &EnterpriseData,
    ) -> Result<(EnterpriseData, PlanFacts)> {
        let profile = self.get(owner, id).await?.profile;
        let form = profile_form(&profile, template, asked);
        let facts = PlanFacts::new(&profile, template, &form, self.registry.risk());
        Ok((form, facts))
    }

    /// Holds `plan`'s sections against the profile it was made from (as the profile is now),
    /// and puts what is found on each section. A plan made from no profile, or from one since
    /// deleted, is left as it is.
    pub async fn check_plan(&self, owner: &str, plan: &mut Plan) -> Result<()> {
        let Some(id) = plan.enterprise_id.clone() else {
            return Ok(());
        };
        let profile = match self.get(owner, &id).await {
            Ok(saved) => saved.profile,
            Err(StoreError::NoProfile) => return Ok(()),
            Err(e) => return Err(e),
        };
        let siblings = self.store.forms_of_enterprise(owner, &id).await?;
        let covered = covered(&siblings, &profile, &self.registry);
        let book = FactBook::new(
            &profile,
            self.registry.resource_words(),
            clock::date(clock::now()),
        );
        for section in &mut plan.sections {
            section.facts = section
                .content
                .as_deref()
                .map(|t| book.check(t))
                .unwrap_or_default();
        }
        // Risks no plan covers are told where the plan speaks of its risks.
        let Some(template) = self.registry.template(&plan.template_id) else {
            return Ok(());
        };
        let Some(at) = template
            .sections
            .iter()
            .position(|s| s.reads.contains(&FactPart::Risks))
        else {
            return Ok(());
        };
        let Some(section) = plan.sections.get_mut(at) else {
            return Ok(());
        };
        let text = section.content.clone().unwrap_or_default();
        for (category, level) in book.uncovered(&covered) {
            let paragraph = text
                .lines()
                .position(|l| l.contains(category.as_str()))
                .unwrap_or(0);
            section.facts.push(FactFinding {
                kind: FindingKind::UncoveredRisk,
                paragraph,
                excerpt: category.clone(),
                message: format!(
                    "{category}评为{}，但本企业还没有针对它的专项应急预案或现场处置方案",
                    level.label()
                ),
            });
        }
        Ok(())
    }

    /// Removes a profile for good. Plans made from it keep their own enterprise data.
    pub async fn delete(&self, owner: &str, id: &str) -> Result<()> {
        check_id(id).map_err(|_| StoreError::NoProfile)?;
        self.store
            .run("profile delete", Access::Write, async |conn| {
                if records::remove(conn, owner, id).await? {
                    Ok(())
                } else {
                    Err(StoreError::NoProfile.into())
                }
            })
            .await
    }
}

fn encode(profile: &Profile) -> Result<String> {
    let body = serde_json::to_string(profile).map_err(|_| StoreError::Internal)?;
    if body.len() > MAX_PROFILE_BYTES {
        return Err(StoreError::Invalid(format!(
            "企业档案过大（上限 {} MiB）",
            MAX_PROFILE_BYTES / 1024 / 1024
        )));
    }
    Ok(body)
}

fn saved(record: ProfileRecord) -> Result<SavedProfile> {
    let profile = serde_json::from_str(&record.body).map_err(|e| {
        tracing::error!("企业档案无法读取: {e}");
        StoreError::Invalid("该企业档案的数据已损坏，无法读取".into())
    })?;
    Ok(saved_as(record, profile))
}

fn saved_as(record: ProfileRecord, profile: Profile) -> SavedProfile {
    SavedProfile {
        id: record.id,
        name: record.name,
        revision: record.revision,
        created_at: rfc3339(record.created_at),
        updated_at: rfc3339(record.updated_at),
        profile,
    }
}
