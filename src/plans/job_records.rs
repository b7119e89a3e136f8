//! The SQL of generation jobs: rows of `plan_jobs`, claimed by one instance at a time under a
//! lease. Every write of a running job names the instance holding it, so an instance that lost
//! its claim (it stalled, another took the job over) changes nothing.

use std::collections::BTreeMap;

use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    clock::rfc3339,
    model::{JobState, PlanJob},
};

/// A job's row.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: String,
    pub owner: String,
    pub plan_id: String,
    pub state: JobState,
    pub sections: Vec<String>,
    pub done: Vec<String>,
    pub failed: Vec<String>,
    pub skipped: Vec<String>,
    /// Each section's text digest when the job began.
    pub bases: BTreeMap<String, String>,
    pub force: bool,
    pub idempotency_key: Option<String>,
    pub lease_holder: Option<String>,
    pub lease_until: Option<i64>,
    pub resume_at: Option<i64>,
    pub message: Option<String>,
    pub first_event: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl JobRow {
    /// Whether section `id` is settled.
    pub fn settled(&self, id: &str) -> bool {
        [&self.done, &self.failed, &self.skipped]
            .iter()
            .any(|list| list.iter().any(|s| s == id))
    }

    /// Its sections not settled yet, in order.
    pub fn waiting(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| !self.settled(s))
            .cloned()
            .collect()
    }

    pub fn view(&self) -> PlanJob {
        let leased = self.lease_holder.is_some() && self.state.is_open();
        PlanJob {
            id: self.id.clone(),
            plan_id: self.plan_id.clone(),
            state: self.state,
            sections: self.sections.clone(),
            done: self.done.clone(),
            failed: self.failed.clone(),
            skipped: self.skipped.clone(),
            waiting: self.waiting(),
            force: self.force,
            message: self.message.clone(),
            resumes_at: self
                .resume_at
                .filter(|_| self.state == JobState::WaitingForQuota)
                .map(rfc3339),
            lease_holder: self.lease_holder.clone().filter(|_| leased),
            lease_expires_at: self.lease_until.filter(|_| leased).map(rfc3339),
            created_at: rfc3339(self.created_at),
            updated_at: rfc3339(self.updated_at),
        }
    }
}

const COLUMNS: &str = "id, owner, plan_id, state, sections, done, failed, skipped, bases, force_all, idempotency_key, lease_holder, lease_until, resume_at, message, first_event, created_at, updated_at";

fn list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

fn job_row(row: &AnyRow) -> Result<JobRow, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let force: i64 = row.try_get("force_all")?;
    Ok(JobRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        plan_id: row.try_get("plan_id")?,
        state: JobState::parse(&state).unwrap_or(JobState::Failed),
        sections: list(&row.try_get::<String, _>("sections")?),
        done: list(&row.try_get::<String, _>("done")?),
        failed: list(&row.try_get::<String, _>("failed")?),
        skipped: list(&row.try_get::<String, _>("skipped")?),
        bases: serde_json::from_str(&row.try_get::<String, _>("bases")?).unwrap_or_default(),
        force: force != 0,
        idempotency_key: row.try_get("idempotency_key")?,
        lease_holder: row.try_get("lease_holder")?,
        lease_until: row.try_get("lease_until")?,
        resume_at: row.try_get("resume_at")?,
        message: row.try_get("message")?,
        first_event: row.try_get("first_event")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

async fn one(
    conn: &mut AnyConnection,
    filter: &str,
    binds: &[&str],
) -> Result<Option<JobRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM plan_jobs WHERE {filter}");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        query = query.bind(*bind);
    }
    query
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(job_row)
        .transpose()
}

/// The job `id`.
pub async fn find(conn: &mut AnyConnection, id: &str) -> Result<Option<JobRow>, sqlx::Error> {
    one(conn, "id = $1", &[id]).await
}

/// The latest job of a plan.
pub async fn latest(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    one(
        conn,
        "owner = $1 AND plan_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
        &[owner, plan_id],
    )
    .await
}

/// The plan's job with work still ahead, if any.
pub async fn open(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    one(
        conn,
        "owner = $1 AND plan_id = $2 AND state IN ('queued', 'running', 'waiting_for_quota', 'cancelling')",
        &[owner, plan_id],
    )
    .await
}

/// The job a client's `Idempotency-Key` made before.
pub async fn by_key(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
    key: &str,
) -> Result<Option<JobRow>, sqlx::Error> {
    one(
        conn,
        "owner = $1 AND plan_id = $2 AND idempotency_key = $3",
        &[owner, plan_id, key],
    )
    .await
}

pub async fn insert(conn: &mut AnyConnection, job: &JobRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_jobs (id, owner, plan_id, state, sections, done, failed, skipped, bases, force_all, idempotency_key, lease_holder, lease_until, resume_at, message, first_event, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, NULL, $12, NULL, $13, $13)",
    )
    .bind(&job.id)
    .bind(&job.owner)
    .bind(&job.plan_id)
    .bind(job.state.as_str())
    .bind(json(&job.sections))
    .bind(json(&job.done))
    .bind(json(&job.failed))
    .bind(json(&job.skipped))
    .bind(json(&job.bases))
    .bind(i64::from(job.force))
    .bind(job.idempotency_key.as_deref())
    .bind(job.message.as_deref())
    .bind(job.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Jobs an instance may take now: open ones nobody holds (or whose holder's claim lapsed),
/// and those waiting for quota whose time has come. Oldest first.
pub async fn runnable(
    conn: &mut AnyConnection,
    now: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id FROM plan_jobs WHERE \
         (state IN ('queued', 'running', 'cancelling') AND (lease_until IS NULL OR lease_until < $1)) \
         OR (state = 'waiting_for_quota' AND resume_at <= $1) \
         ORDER BY created_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|r| r.try_get("id")).collect()
}

/// Takes job `id` for `me` until `until`, when nobody holds it (or the claim lapsed) and it has
/// work ahead; whether it was taken.
pub async fn claim(
    conn: &mut AnyConnection,
    id: &str,
    me: &str,
    now: i64,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE plan_jobs SET lease_holder = $2, lease_until = $3, updated_at = $4, \
         state = CASE WHEN state IN ('queued', 'waiting_for_quota') THEN 'running' ELSE state END \
         WHERE id = $1 AND ( \
           (state IN ('queued', 'running', 'cancelling') AND (lease_until IS NULL OR lease_until < $4)) \
           OR (state = 'waiting_for_quota' AND resume_at <= $4))",
    )
    .bind(id)
    .bind(me)
    .bind(until)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Keeps `me`'s claim until `until`; false when `me` no longer holds the job.
pub async fn renew(
    conn: &mut AnyConnection,
    id: &str,
    me: &str,
    until: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE plan_jobs SET lease_until = $3 WHERE id = $1 AND lease_holder = $2 \
         AND state IN ('running', 'cancelling')",
    )
    .bind(id)
    .bind(me)
    .bind(until)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes the job's progress and state as `job` holds them, if `me` still holds it; whether
/// it did. A job that leaves the running states gives up its claim.
pub async fn write(
    conn: &mut AnyConnection,
    job: &JobRow,
    me: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let keeps_lease = matches!(job.state, JobState::Running | JobState::Cancelling);
    let done = sqlx::query(
        "UPDATE plan_jobs SET state = $3, done = $4, failed = $5, skipped = $6, message = $7, \
         resume_at = $8, first_event = COALESCE(first_event, $9), updated_at = $10, \
         lease_holder = CASE WHEN $11 = 1 THEN lease_holder ELSE NULL END, \
         lease_until = CASE WHEN $11 = 1 THEN lease_until ELSE NULL END \
         WHERE id = $1 AND lease_holder = $2",
    )
    .bind(&job.id)
    .bind(me)
    .bind(job.state.as_str())
    .bind(json(&job.done))
    .bind(json(&job.failed))
    .bind(json(&job.skipped))
    .bind(job.message.as_deref())
    .bind(job.resume_at)
    .bind(job.first_event.as_deref())
    .bind(now)
    .bind(i64::from(keeps_lease))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up `me`'s claim at once (the instance is stopping): another instance takes the job
/// on its next look.
pub async fn release(conn: &mut AnyConnection, id: &str, me: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE plan_jobs SET lease_holder = NULL, lease_until = NULL WHERE id = $1 AND lease_holder = $2",
    )
    .bind(id)
    .bind(me)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the state of a job nobody may be running (queued, or waiting for quota), or asks a
/// running one to stop; the job as it then is.
pub async fn set_state(
    conn: &mut AnyConnection,
    id: &str,
    state: JobState,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE plan_jobs SET state = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(state.as_str())
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Notes the id of the job's first event, once.
pub async fn set_first_event(
    conn: &mut AnyConnection,
    id: &str,
    event: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE plan_jobs SET first_event = $2 WHERE id = $1 AND first_event IS NULL")
        .bind(id)
        .bind(event)
        .execute(conn)
        .await?;
    Ok(())
}
