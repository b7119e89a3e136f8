//! Generation jobs kept with the plans: started (one open job per plan), claimed by an
//! instance under a lease, and each finished section written straight into the saved plan —
//! in one transaction that first checks the instance still holds the job, so a section is
//! never saved twice, whoever runs the job.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{
    check_id, decode, encode, job_records as jobs, keep_version, live, new_id, record_of, records,
    Access, PlanService, Result, StoreError,
};
use crate::model::job::MAX_JOB_SECTIONS;
use crate::{
    clock::{now_ms, rfc3339},
    model::{
        JobRequest, JobState, PlanSection, SavedSection, SectionOutcome, SectionStatus, VersionKind,
    },
};
pub use jobs::JobRow;

/// The longest `Idempotency-Key` kept.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// A job as `start_job` found or made it.
pub enum JobStart {
    /// Made now.
    New(JobRow),
    /// Made before for the same `Idempotency-Key`.
    Existing(JobRow),
}

/// What saving a settled section came to.
pub enum Settled {
    Saved(Box<(SavedSection, JobRow)>),
    /// The instance no longer holds the job: nothing was written.
    LeaseLost,
}

/// A section's text as a short digest, to tell whether it changed.
fn digest(section: &PlanSection) -> String {
    hex::encode(&Sha256::digest(section.text().as_bytes())[..12])
}

impl PlanService {
    /// Starts generating sections of a plan as a job (every section not yet done, unless
    /// `request` names them or forces them). `Conflict`-like `JobRunning` when the plan has an
    /// open job; the same job again for the same `key`.
    pub async fn start_job(
        &self,
        owner: &str,
        plan_id: &str,
        request: JobRequest,
        key: Option<String>,
    ) -> Result<JobStart> {
        check_id(plan_id)?;
        if let Some(key) = &key {
            if key.is_empty()
                || key.len() > MAX_IDEMPOTENCY_KEY
                || !key.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(StoreError::Invalid(format!(
                    "Idempotency-Key 须为 1 到 {MAX_IDEMPOTENCY_KEY} 个可见 ASCII 字符"
                )));
            }
        }
        if let Some(asked) = &request.sections {
            if asked.is_empty() || asked.len() > MAX_JOB_SECTIONS {
                return Err(StoreError::Invalid(format!(
                    "sections 须列出 1 到 {MAX_JOB_SECTIONS} 个章节"
                )));
            }
        }
        let force = request.force.unwrap_or(false);
        self.run("start job", Access::WriteAs(owner), async move |conn| {
            let plan = live(records::find(conn, owner, plan_id).await?)?;
            if let Some(key) = &key {
                if let Some(job) = jobs::by_key(conn, owner, plan_id, key).await? {
                    return Ok(JobStart::Existing(job));
                }
            }
            if let Some(open) = jobs::open(conn, owner, plan_id).await? {
                return Err(StoreError::JobRunning(Box::new(open.view())).into());
            }
            let body = decode(&plan.body)?;
            if let Some(asked) = &request.sections {
                if let Some(unknown) = asked
                    .iter()
                    .find(|id| !body.sections.iter().any(|s| &s.section_id == *id))
                {
                    let shown: String = unknown.chars().take(64).collect();
                    return Err(StoreError::UnknownSection(shown).into());
                }
            }
            // In the template's order, each once.
            let sections: Vec<&PlanSection> = body
                .sections
                .iter()
                .filter(|s| match &request.sections {
                    Some(asked) => asked.contains(&s.section_id),
                    None => force || s.status != SectionStatus::Done,
                })
                .collect();
            let now = now_ms();
            let job = JobRow {
                id: new_id(),
                owner: owner.to_owned(),
                plan_id: plan_id.to_owned(),
                state: if sections.is_empty() {
                    JobState::Done
                } else {
                    JobState::Queued
                },
                bases: sections
                    .iter()
                    .map(|s| (s.section_id.clone(), digest(s)))
                    .collect::<BTreeMap<_, _>>(),
                sections: sections.iter().map(|s| s.section_id.clone()).collect(),
                done: Vec::new(),
                failed: Vec::new(),
                skipped: Vec::new(),
                force,
                idempotency_key: key,
                lease_holder: None,
                lease_until: None,
                resume_at: None,
                message: sections
                    .is_empty()
                    .then(|| "所有章节均已生成，无需再生成；如需重写请指定 force".to_owned()),
                first_event: None,
                created_at: now,
                updated_at: now,
            };
            jobs::insert(conn, &job).await?;
            Ok(JobStart::New(job))
        })
        .await
    }

    /// The plan's latest job; `NotFound` when the plan is not there.
    pub async fn latest_job(&self, owner: &str, plan_id: &str) -> Result<Option<JobRow>> {
        check_id(plan_id)?;
        self.run("job", Access::Read, async |conn| {
            live(records::find(conn, owner, plan_id).await?)?;
            Ok(jobs::latest(conn, owner, plan_id).await?)
        })
        .await
    }

    /// Stops the plan's open job: one nobody runs at once, a running one once the sections in
    /// flight are saved. The job as it then is (a settled one as it was).
    pub async fn cancel_job(&self, owner: &str, plan_id: &str) -> Result<Option<JobRow>> {
        check_id(plan_id)?;
        self.run("cancel job", Access::Write, async |conn| {
            live(records::find(conn, owner, plan_id).await?)?;
            let Some(mut job) = jobs::open(conn, owner, plan_id).await? else {
                return Ok(jobs::latest(conn, owner, plan_id).await?);
            };
            let now = now_ms();
            let held = job.lease_holder.is_some() && job.lease_until.is_some_and(|t| t >= now);
            let state = match job.state {
                JobState::Running | JobState::Cancelling if held => JobState::Cancelling,
                _ => JobState::Cancelled,
            };
            jobs::set_state(conn, &job.id, state, now).await?;
            job.state = state;
            job.updated_at = now;
            Ok(Some(job))
        })
        .await
    }

    /// The job `id`, whoever owns it (for the instance running it).
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>> {
        self.run("job", Access::Read, async |conn| {
            Ok(jobs::find(conn, id).await?)
        })
        .await
    }

    /// Jobs an instance may take now, oldest first.
    pub async fn runnable_jobs(&self, limit: i64) -> Result<Vec<String>> {
        self.run("runnable jobs", Access::Read, async |conn| {
            Ok(jobs::runnable(conn, now_ms(), limit).await?)
        })
        .await
    }

    /// Takes job `id` for instance `me` for `lease`; the job when taken.
    pub async fn claim_job(
        &self,
        id: &str,
        me: &str,
        lease: std::time::Duration,
    ) -> Result<Option<JobRow>> {
        self.run("claim job", Access::Write, async |conn| {
            let now = now_ms();
            if !jobs::claim(conn, id, me, now, now + lease.as_millis() as i64).await? {
                return Ok(None);
            }
            Ok(jobs::find(conn, id).await?)
        })
        .await
    }

    /// Keeps `me`'s claim on job `id` for `lease` more; the job's state, or `None` when `me`
    /// lost it.
    pub async fn renew_job(
        &self,
        id: &str,
        me: &str,
        lease: std::time::Duration,
    ) -> Result<Option<JobState>> {
        self.run("renew job", Access::Write, async |conn| {
            let until = now_ms() + lease.as_millis() as i64;
            if !jobs::renew(conn, id, me, until).await? {
                return Ok(None);
            }
            Ok(jobs::find(conn, id).await?.map(|j| j.state))
        })
        .await
    }

    /// Gives up `me`'s claim on job `id` at once.
    pub async fn release_job(&self, id: &str, me: &str) -> Result<()> {
        self.run("release job", Access::Write, async |conn| {
            Ok(jobs::release(conn, id, me).await?)
        })
        .await
    }

    /// Writes `job`'s state and progress, if `me` still holds it; whether it did.
    pub async fn write_job(&self, job: &JobRow, me: &str) -> Result<bool> {
        self.run("write job", Access::Write, async |conn| {
            Ok(jobs::write(conn, job, me, now_ms()).await?)
        })
        .await
    }

    /// Notes the id of job `id`'s first event.
    pub async fn note_first_event(&self, id: &str, event: &str) -> Result<()> {
        self.run("job event", Access::Write, async |conn| {
            Ok(jobs::set_first_event(conn, id, event).await?)
        })
        .await
    }

    /// Saves section `written` (settled: done or failed) of job `job_id` into its plan, if
    /// `me` still holds the job. A section the writer changed since the job began keeps the
    /// writer's text; the generated one is kept as a version. A done section is followed by an
    /// automatic version, as the page's saves were.
    pub async fn settle_section(
        &self,
        owner: &str,
        job_id: &str,
        me: &str,
        written: PlanSection,
    ) -> Result<Settled> {
        let keep = self.settings.auto_versions as i64;
        self.run("save section", Access::WriteAs(owner), async move |conn| {
            let Some(mut job) = jobs::find(conn, job_id).await?.filter(|j| j.owner == owner) else {
                return Ok(Settled::LeaseLost);
            };
            if job.lease_holder.as_deref() != Some(me) {
                return Ok(Settled::LeaseLost);
            }
            let id = written.section_id.clone();
            let current = live(records::find(conn, owner, &job.plan_id).await?)?;
            let mut plan = decode(&current.body)?;
            let Some(index) = plan.sections.iter().position(|s| s.section_id == id) else {
                return Err(StoreError::NoSection.into());
            };
            let before = plan.sections[index].clone();
            let edited_meanwhile = job.bases.get(&id).is_some_and(|d| *d != digest(&before));
            let failed = written.status != SectionStatus::Done;
            let now = now_ms();
            let outcome = if edited_meanwhile {
                SectionOutcome::Skipped
            } else if failed {
                SectionOutcome::Failed
            } else {
                SectionOutcome::Done
            };
            let bytes_before = records::bytes_of(conn, owner).await?;
            let mut saved_record = current.clone();
            match outcome {
                SectionOutcome::Skipped => {
                    // The writer's text stays; what was generated is kept beside it.
                    if !failed {
                        let mut generated = plan.clone();
                        generated.sections[index] = written.clone();
                        let alternative = record_of(
                            current.id.clone(),
                            current.title.clone(),
                            &generated,
                            encode(&generated)?,
                            current.revision,
                            current.created_at,
                            now,
                        );
                        let note = format!(
                            "生成的“{}”（您在生成期间修改了该章节，已保留您的修改）",
                            written.section_title
                        );
                        keep_version(conn, owner, &alternative, VersionKind::Conflict, &note, now)
                            .await?;
                    }
                    job.skipped.push(id.clone());
                }
                SectionOutcome::Failed | SectionOutcome::Done => {
                    let replaced_edit = before.edited && !failed;
                    if replaced_edit {
                        // Written again over the writer's own text: that text is kept.
                        let note = format!("重新生成前您修改过的“{}”", before.section_title);
                        keep_version(conn, owner, &current, VersionKind::Conflict, &note, now)
                            .await?;
                    }
                    // A done section written again in vain keeps its text as it was.
                    if !(failed && before.status == SectionStatus::Done) {
                        let mut section = written.clone();
                        if failed && section.content.is_none() {
                            section.content = before.content.clone();
                        }
                        plan.sections[index] = section;
                    }
                    let body = encode(&plan)?;
                    let next = record_of(
                        current.id.clone(),
                        current.title.clone(),
                        &plan,
                        body,
                        current.revision + 1,
                        current.created_at,
                        now,
                    );
                    let growth = next.body.len() as i64 - current.body.len() as i64;
                    if !records::update(conn, owner, &next, None, current.revision, growth).await? {
                        // Read and written in one transaction: only a plan gone meanwhile.
                        return Err(StoreError::NotFound.into());
                    }
                    if !failed {
                        // As the page's own notes read: `生成：9. 预案管理`.
                        let verb = if job.force { "重新生成" } else { "生成" };
                        let note = format!("{verb}：{}. {}", index + 1, written.section_title);
                        keep_version(conn, owner, &next, VersionKind::Auto, &note, now).await?;
                    }
                    if replaced_edit || !failed {
                        records::prune_versions(conn, owner, &job.plan_id, keep).await?;
                    }
                    saved_record = next;
                    if failed {
                        job.failed.push(id.clone());
                    } else {
                        job.done.push(id.clone());
                    }
                }
            }
            if outcome == SectionOutcome::Skipped {
                records::prune_versions(conn, owner, &job.plan_id, keep).await?;
            }
            self.check_room(conn, owner, bytes_before).await?;
            if !jobs::write(conn, &job, me, now).await? {
                return Ok(Settled::LeaseLost);
            }
            job.updated_at = now;
            let section = plan.sections[index].clone();
            let saved = SavedSection {
                base_revision: current.revision,
                revision: saved_record.revision,
                updated_at: rfc3339(saved_record.updated_at),
                outcome,
                section,
            };
            Ok(Settled::Saved(Box::new((saved, job))))
        })
        .await
    }
}

/// What a job tells when it ends.
pub fn ending_message(job: &JobRow) -> Option<String> {
    match (job.failed.len(), job.skipped.len()) {
        (0, 0) => None,
        (failed, 0) => Some(format!("{failed} 个章节生成失败，可单独重新生成")),
        (0, skipped) => Some(format!(
            "{skipped} 个章节在生成期间被您修改，已保留您的修改，生成的内容存为版本"
        )),
        (failed, skipped) => Some(format!(
            "{failed} 个章节生成失败；{skipped} 个章节在生成期间被您修改，已保留您的修改"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_tells_texts_apart() {
        let mut a = PlanSection::new("1", "总则");
        let empty = digest(&a);
        a.content = Some("正文".into());
        assert_ne!(digest(&a), empty);
        assert_eq!(digest(&a).len(), 24);
    }
}
