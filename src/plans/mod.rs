//! Writers' plans on the server: saved as they change, each user's own, with versions. The
//! service checks what it is given, runs each change as one transaction on the database
//! (`db`, `records`) and answers in the wire types of `model::saved`. It never waits past its
//! deadline, and a database that is down is an error the page keeps working through (its
//! text stays in the browser until a save lands).

pub mod db;
pub mod diff;
mod job_records;
pub mod jobs;
mod records;

use std::{sync::Arc, time::Duration};

use rand::RngCore;
use sqlx::{AnyConnection, AnyPool};
use tokio::sync::Mutex;

use crate::{
    clock::{now_ms, rfc3339},
    config::StoreSettings,
    model::{
        plan::{MAX_NAME_CHARS, MAX_SECTIONS, MAX_SECTION_CHARS},
        saved::{MAX_NOTE_CHARS, MAX_TITLE_CHARS},
        AppError, DuplicatePlan, EnterpriseData, ErrorCode, FieldInput, NewPlan, NewVersion, Plan,
        PlanCounts, PlanSummary, PlanUpdate, PlanVersion, SaveOutcome, SavedPlan, SectionDiff,
        SectionStatus, VersionKind, VersionSummary,
    },
    templates::Registry,
};
pub use db::Engine;
use records::{ListQuery, PlanRecord, VersionRecord};

/// The largest plan kept, as JSON: every section full, with room to spare.
pub const MAX_PLAN_BYTES: usize = 4 * 1024 * 1024;
/// The most plans one list answer holds.
pub const MAX_PAGE: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("预案不存在或已删除")]
    NotFound,
    #[error("企业档案不存在或已删除")]
    NoProfile,
    #[error("企业档案已在其他窗口或设备上修改")]
    ProfileConflict(Box<crate::model::profile::SavedProfile>),
    /// Fields a writer must correct, each named.
    #[error("{}", crate::model::AppError::validation(.0.clone()).message)]
    Fields(Vec<crate::model::FieldProblem>),
    #[error("企业档案数量已达上限（{0} 份），请先删除不再需要的档案")]
    TooManyProfiles(usize),
    #[error("版本不存在")]
    NoVersion,
    #[error("两个版本中都没有这个章节")]
    NoSection,
    #[error("该预案没有章节“{0}”")]
    UnknownSection(String),
    #[error("此预案已在其他窗口或设备上修改")]
    Conflict(Box<SavedPlan>),
    #[error("{0}")]
    Invalid(String),
    #[error("该预案正在生成中（任务 {}），请等待完成或先取消", .0.id)]
    JobRunning(Box<crate::model::PlanJob>),
    #[error("预案数量已达上限（{0} 份，含回收站），请先删除不再需要的预案")]
    TooMany(usize),
    #[error("手动保存的版本已达上限（{0} 个）")]
    TooManyVersions(usize),
    #[error("预案存储空间已用完（每人 {0} MiB，含版本和回收站）：请删除不再需要的预案，并在回收站中永久删除")]
    NoRoom(u64),
    #[error("预案库暂时无法访问，您的修改仍保留在本机浏览器中，恢复后会自动保存")]
    Unavailable,
    #[error("预案库存储空间已满，请联系管理员；您的修改仍保留在本机浏览器中")]
    Full,
    /// A fault of ours (logged where it happened), not the database's.
    #[error("服务器内部错误，请稍后重试")]
    Internal,
}

impl StoreError {
    /// The stable code this failure is reported under.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound | Self::NoProfile => ErrorCode::NotFound,
            Self::ProfileConflict(_) => ErrorCode::Conflict,
            Self::Fields(_) => ErrorCode::ValidationError,
            Self::TooManyProfiles(_) => ErrorCode::PlanLimit,
            Self::NoVersion => ErrorCode::VersionNotFound,
            Self::NoSection | Self::UnknownSection(_) => ErrorCode::SectionNotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::JobRunning(_) => ErrorCode::JobRunning,
            Self::Invalid(_) => ErrorCode::ValidationError,
            Self::TooMany(_) | Self::TooManyVersions(_) | Self::NoRoom(_) => ErrorCode::PlanLimit,
            Self::Unavailable => ErrorCode::StoreUnavailable,
            Self::Full => ErrorCode::StoreFull,
            Self::Internal => ErrorCode::InternalError,
        }
    }
}

impl From<&StoreError> for AppError {
    fn from(e: &StoreError) -> Self {
        let error = AppError::new(e.code(), e.to_string());
        match e {
            StoreError::Fields(problems) => AppError::validation(problems.clone()),
            StoreError::Unavailable => error.with_retry_after(5),
            _ => error,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::from(&e)
    }
}

/// How a list of plans is asked for.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub search: String,
    pub trash: bool,
    pub by_title: bool,
    pub limit: Option<i64>,
    pub offset: i64,
}

pub struct PlanService {
    pool: AnyPool,
    engine: Engine,
    settings: StoreSettings,
    registry: Arc<Registry>,
    /// Set once the schema is up to date; until then every call tries to bring it there.
    migrated: std::sync::atomic::AtomicBool,
    migrating: Mutex<()>,
    /// Whether the database answered last: the background probe's last result, or the last
    /// call's (a call that failed for the database, or one that got through). `/readyz` reads
    /// this and never waits on the database itself.
    available: std::sync::atomic::AtomicBool,
    /// Whether `available` has been learnt yet (the first answer is not a recovery).
    probed: std::sync::atomic::AtomicBool,
}

/// The longest section id a diff is asked for (the document's bound).
const MAX_SECTION_ID_CHARS: usize = 64;

/// Plans removed for good in one transaction of the trash's purge, and the pause between two.
const PURGE_BATCH: u64 = 50;
const PURGE_PAUSE: Duration = Duration::from_millis(20);

/// How often the background probe asks the database whether it is there.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// The probe's own deadline (the store's deadline, when that is shorter).
const PROBE_DEADLINE: Duration = Duration::from_secs(2);

type Result<T, E = StoreError> = std::result::Result<T, E>;

impl PlanService {
    /// The service over the configured database. Connections are made when first needed: a
    /// database that is down now is an error per call, not at startup.
    pub fn new(settings: &StoreSettings, registry: Arc<Registry>) -> Result<Self, String> {
        let (options, engine) = db::options(settings.database_url.as_ref(), &settings.data_dir)?;
        let pool = db::pool(options, engine, settings.max_connections, settings.timeout);
        Ok(Self {
            pool,
            engine,
            settings: settings.clone(),
            registry,
            migrated: false.into(),
            migrating: Mutex::new(()),
            // Unknown until the first probe answers, moments after the start.
            available: false.into(),
            probed: false.into(),
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub fn trash_days(&self) -> u32 {
        self.settings.trash_days
    }

    /// What the writer is told once a plan is deleted: in the trash for a while, or gone.
    pub fn deleted_note(&self, permanent: bool) -> String {
        if permanent {
            "已永久删除".to_owned()
        } else {
            format!("已移入回收站，{} 天内可恢复", self.trash_days())
        }
    }

    /// Brings the schema up to date, once; several instances starting at once take turns.
    pub async fn prepare(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        let _turn = self.migrating.lock().await;
        if self.migrated.load(Ordering::Acquire) {
            return Ok(());
        }
        match tokio::time::timeout(self.settings.timeout * 3, db::migrate(&self.pool)).await {
            Ok(Ok(())) => {
                self.migrated.store(true, Ordering::Release);
                tracing::info!("预案库已就绪（{}）", self.engine.as_str());
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::warn!("预案库结构更新失败: {e}");
                Err(StoreError::Unavailable)
            }
            Err(_) => {
                tracing::warn!("预案库结构更新超时");
                Err(StoreError::Unavailable)
            }
        }
    }

    /// Runs `work` on a connection, within the deadline: as it is for reads, in a write
    /// transaction for writes — one that first takes its owner's turn when it is one user's,
    /// so their limits are checked and kept within one transaction at a time.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        access: Access<'_>,
        work: impl for<'c> AsyncFnOnce(&'c mut AnyConnection) -> Result<T, Failure>,
    ) -> Result<T> {
        self.prepare().await?;
        let attempt = async {
            if let Access::Read = access {
                let mut conn = self.pool.acquire().await.map_err(Failure::Db)?;
                return work(&mut conn).await;
            }
            let mut tx = self
                .pool
                .begin_with(self.engine.begin_write())
                .await
                .map_err(Failure::Db)?;
            if let Access::WriteAs(owner) = access {
                records::take_turn(&mut tx, owner).await?;
            }
            let value = work(&mut tx).await?;
            tx.commit().await.map_err(Failure::Db)?;
            Ok(value)
        };
        let result = match tokio::time::timeout(self.settings.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Failure::Store(e))) => Err(e),
            Ok(Err(Failure::Db(e))) => Err(db::classify(operation, e)),
            Err(_) => {
                tracing::warn!("预案库操作超时（{operation}）");
                Err(StoreError::Unavailable)
            }
        };
        self.noted(!matches!(result, Err(StoreError::Unavailable)));
        result
    }

    fn noted(&self, available: bool) {
        use std::sync::atomic::Ordering;
        let was = self.available.swap(available, Ordering::AcqRel);
        let seen = self.probed.swap(true, Ordering::AcqRel);
        match (seen, was, available) {
            (true, false, true) => tracing::info!("预案库恢复可用（{}）", self.engine.as_str()),
            (_, true, false) | (false, _, false) => {
                tracing::warn!("预案库不可用（{}）", self.engine.as_str())
            }
            _ => {}
        }
    }

    /// Whether the database answered last (the probe's or a call's), without asking it.
    pub fn available(&self) -> bool {
        self.available.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Asks the database whether it answers, within the probe's deadline (a call notes what
    /// it finds; one cut short by the deadline is noted here). Bringing the schema up to date
    /// first has a deadline of its own: a slow migration is not a database that is down.
    pub async fn probe(&self) {
        if self.prepare().await.is_err() {
            self.noted(false);
            return;
        }
        let deadline = PROBE_DEADLINE.min(self.settings.timeout);
        let select = self.run("probe", Access::Read, async |conn| {
            sqlx::query("SELECT 1").execute(conn).await?;
            Ok(())
        });
        if tokio::time::timeout(deadline, select).await.is_err() {
            self.noted(false);
        }
    }

    /// Probes the database now (which brings its schema up to date before the first writer
    /// comes, when it is there) and every few seconds; empties the trash of what is too old
    /// every hour. For as long as the service lives.
    pub fn spawn_housekeeping(self: &Arc<Self>) {
        crate::periodic::spawn_every(self, PROBE_EVERY, async |service| service.probe().await);
        crate::periodic::spawn_every(
            self,
            Duration::from_secs(3600),
            async |service| match service.purge_trash().await {
                Ok(Purged { plans: 0, .. }) | Err(_) => {}
                Ok(Purged { plans, .. }) => {
                    tracing::info!("已永久删除回收站中超过期限的预案 {plans} 份")
                }
            },
        );
    }

    pub async fn list(&self, owner: &str, params: &ListParams) -> Result<(Vec<PlanSummary>, i64)> {
        if params.search.chars().count() > MAX_TITLE_CHARS {
            return Err(StoreError::Invalid(format!(
                "搜索词不能超过 {MAX_TITLE_CHARS} 个字"
            )));
        }
        let query = ListQuery {
            search: params.search.trim(),
            trash: params.trash,
            by_title: params.by_title,
            limit: params.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE),
            offset: params.offset.max(0),
        };
        let trash_ms = self.trash_ms();
        self.run("list", Access::Read, async |conn| {
            Ok(records::list(conn, owner, &query, trash_ms).await?)
        })
        .await
    }

    /// The template and enterprise form of each of `owner`'s plans (not in the trash) made
    /// from profile `enterprise_id`.
    pub async fn forms_of_enterprise(
        &self,
        owner: &str,
        enterprise_id: &str,
    ) -> Result<Vec<(String, EnterpriseData)>> {
        let rows = self
            .run("plans of enterprise", Access::Read, async |conn| {
                Ok(records::forms_of_enterprise(conn, owner, enterprise_id).await?)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(template, data)| (template, serde_json::from_str(&data).unwrap_or_default()))
            .collect())
    }

    pub async fn get(&self, owner: &str, id: &str) -> Result<SavedPlan> {
        check_id(id)?;
        self.run("get", Access::Read, async |conn| {
            let record = live(records::find(conn, owner, id).await?)?;
            Ok(saved(record)?)
        })
        .await
    }

    pub async fn create(&self, owner: &str, new: NewPlan) -> Result<SavedPlan> {
        let id = match new.id {
            Some(id) => {
                check_id(&id)?;
                id
            }
            None => new_id(),
        };
        self.check_template(&new.plan)?;
        let body = encode(&new.plan)?;
        let title = title_or_default(new.title.as_deref(), &new.plan)?;
        let now = now_ms();
        let record = record_of(id, title, &new.plan, body, 1, now, now);
        let max = self.settings.max_plans_per_user;
        let plan = new.plan;
        self.run("create", Access::WriteAs(owner), async move |conn| {
            if let Some(existing) = records::find(conn, owner, &record.id).await? {
                // The same plan sent again (its first answer was lost) is already saved;
                // anything else under that id is a different text, kept apart.
                if existing.body == record.body && existing.deleted_at.is_none() {
                    return Ok(saved(existing)?);
                }
                return Err(StoreError::Conflict(Box::new(saved(existing)?)).into());
            }
            if records::count_of(conn, owner).await? >= max as i64 {
                return Err(StoreError::TooMany(max).into());
            }
            let before = records::bytes_of(conn, owner).await?;
            records::insert(conn, owner, &record).await?;
            self.check_room(conn, owner, before).await?;
            Ok(saved_as(record, Some(plan))?)
        })
        .await
    }

    /// Changes a plan; `Conflict` (nothing written) when `base_revision` is not the latest.
    pub async fn update(&self, owner: &str, id: &str, update: PlanUpdate) -> Result<SavedPlan> {
        check_id(id)?;
        let title = update
            .title
            .as_deref()
            .map(check_title)
            .transpose()?
            .flatten();
        let snapshot = update.snapshot.as_deref().map(check_note).transpose()?;
        if let Some(plan) = &update.plan {
            self.check_template(plan)?;
        }
        let body = update.plan.as_ref().map(encode).transpose()?;
        if update.base_revision.is_some_and(|r| r < 0) {
            return Err(StoreError::Invalid("base_revision 不能为负数".into()));
        }
        let keep = self.settings.auto_versions as i64;
        self.run("update", Access::WriteAs(owner), async move |conn| {
            let current = live(records::find(conn, owner, id).await?)?;
            let unchanged = body.as_ref().is_none_or(|b| *b == current.body)
                && title.as_ref().is_none_or(|t| *t == current.title);
            if let Some(base) = update.base_revision.filter(|r| *r != current.revision) {
                // The same change sent again (its answer was lost) is already saved.
                if base.checked_add(1) == Some(current.revision) && unchanged && body.is_some() {
                    return Ok(saved(current)?);
                }
                return Err(StoreError::Conflict(Box::new(saved(current)?)).into());
            }
            if unchanged && snapshot.is_none() {
                return Ok(saved(current)?);
            }
            let now = now_ms();
            let read = current.revision;
            let new_len = body.as_ref().map_or(current.body.len(), String::len);
            let before = records::bytes_of(conn, owner).await?;
            if update.keep_replaced {
                keep_version(
                    conn,
                    owner,
                    &current,
                    VersionKind::Conflict,
                    "保存冲突时被替换的另一处内容",
                    now,
                )
                .await?;
            }
            let change = new_len as i64 - current.body.len() as i64;
            let new_title = title.clone();
            // The revision counts changes of content: a new title alone (a rename on the list
            // page) does not make an open editor's next save a conflict.
            let next = match (&update.plan, body) {
                (Some(plan), Some(body)) if body != current.body => record_of(
                    current.id.clone(),
                    title.unwrap_or_else(|| current.title.clone()),
                    plan,
                    body,
                    read + 1,
                    current.created_at,
                    now,
                ),
                _ => PlanRecord {
                    title: title.unwrap_or_else(|| current.title.clone()),
                    updated_at: now,
                    ..current
                },
            };
            let written = if update.plan.is_none() && snapshot.is_none() && !update.keep_replaced {
                // A rename alone: whatever the content did meanwhile, the new name goes on it.
                records::rename(conn, owner, id, &next.title, now).await?
            } else {
                records::update(conn, owner, &next, new_title.as_deref(), read, change).await?
            };
            if !written {
                return Err(changed_meanwhile(conn, owner, id).await);
            }
            if let Some(note) = &snapshot {
                keep_version(conn, owner, &next, VersionKind::Auto, note, now).await?;
            }
            if update.keep_replaced || snapshot.is_some() {
                records::prune_versions(conn, owner, id, keep).await?;
            }
            self.check_room(conn, owner, before).await?;
            // The plan as sent is the plan as stored: not parsed back from its text.
            Ok(saved_as(next, update.plan)?)
        })
        .await
    }

    /// What the page's save comes to: saved, or the plan as changed elsewhere.
    pub async fn save(
        &self,
        owner: &str,
        id: &str,
        update: PlanUpdate,
        create: Option<NewPlan>,
    ) -> Result<SaveOutcome> {
        let result = match create {
            // A plan first saved with sections already generated (it was started offline)
            // keeps its automatic version too.
            Some(new) => match (self.create(owner, new).await, update.snapshot) {
                (Ok(created), Some(note)) if created.revision == 1 => {
                    let snapshot = PlanUpdate {
                        base_revision: Some(created.revision),
                        snapshot: Some(note),
                        ..PlanUpdate::default()
                    };
                    self.update(owner, id, snapshot).await
                }
                (result, _) => result,
            },
            None => self.update(owner, id, update).await,
        };
        match result {
            Ok(plan) => Ok(SaveOutcome::Saved {
                revision: plan.revision,
                updated_at: plan.updated_at,
            }),
            Err(StoreError::Conflict(current)) => Ok(SaveOutcome::Conflict(current)),
            Err(e) => Err(e),
        }
    }

    /// Moves a plan to the trash; it can be brought back for `trash_days`.
    pub async fn delete(&self, owner: &str, id: &str) -> Result<()> {
        check_id(id)?;
        self.run("delete", Access::Write, async |conn| {
            if records::set_deleted(conn, owner, id, Some(now_ms())).await? {
                Ok(())
            } else {
                Err(StoreError::NotFound.into())
            }
        })
        .await
    }

    /// Brings a plan back from the trash.
    pub async fn undelete(&self, owner: &str, id: &str) -> Result<SavedPlan> {
        check_id(id)?;
        self.run("undelete", Access::Write, async |conn| {
            if !records::set_deleted(conn, owner, id, None).await? {
                return Err(StoreError::NotFound.into());
            }
            let record = live(records::find(conn, owner, id).await?)?;
            Ok(saved(record)?)
        })
        .await
    }

    /// Removes for good what has been in the trash longer than `trash_days`, a batch per
    /// transaction: however large the trash, each holds the write lock briefly and within the
    /// deadline, and writers get their turns in between. How many plans went.
    pub async fn purge_trash(&self) -> Result<Purged> {
        self.purge_trash_before(now_ms() - self.trash_ms()).await
    }

    /// Removes for good what went to the trash before `cutoff` (ms since the epoch), in
    /// batches (see `purge_trash`).
    pub async fn purge_trash_before(&self, cutoff: i64) -> Result<Purged> {
        let mut purged = Purged::default();
        loop {
            let batch = self
                .run("purge", Access::Write, async |conn| {
                    Ok(records::purge(conn, cutoff, PURGE_BATCH as i64).await?)
                })
                .await?;
            purged.plans += batch;
            purged.transactions += 1;
            if batch < PURGE_BATCH {
                return Ok(purged);
            }
            tokio::time::sleep(PURGE_PAUSE).await;
        }
    }

    /// A copy of a plan under a new id, without its versions.
    pub async fn duplicate(&self, owner: &str, id: &str, copy: DuplicatePlan) -> Result<SavedPlan> {
        let source = self.get(owner, id).await?;
        let title = match copy.title {
            Some(title) => title,
            None => {
                let base: String = source.title.chars().take(MAX_TITLE_CHARS - 4).collect();
                format!("{base}（副本）")
            }
        };
        self.create(
            owner,
            NewPlan {
                id: None,
                title: Some(title),
                plan: source.plan,
            },
        )
        .await
    }

    pub async fn versions(&self, owner: &str, id: &str) -> Result<Vec<VersionSummary>> {
        check_id(id)?;
        self.run("versions", Access::Read, async |conn| {
            live(records::find(conn, owner, id).await?)?;
            Ok(records::versions(conn, owner, id).await?)
        })
        .await
    }

    /// One version with the plan as it was; version 0 is the plan as saved now.
    pub async fn version(&self, owner: &str, id: &str, version: i64) -> Result<PlanVersion> {
        check_id(id)?;
        self.run("version", Access::Read, async |conn| {
            let current = live(records::find(conn, owner, id).await?)?;
            if version == 0 {
                return Ok(PlanVersion {
                    summary: VersionSummary {
                        version: 0,
                        kind: VersionKind::Named,
                        note: "当前内容".into(),
                        title: current.title.clone(),
                        created_at: rfc3339(current.updated_at),
                    },
                    plan: decode(&current.body)?,
                });
            }
            let (summary, body) = records::version(conn, owner, id, version)
                .await?
                .ok_or(StoreError::NoVersion)?;
            Ok(PlanVersion {
                summary,
                plan: decode(&body)?,
            })
        })
        .await
    }

    /// Keeps the plan (as saved, or as sent) as a named version.
    pub async fn save_version(
        &self,
        owner: &str,
        id: &str,
        new: NewVersion,
    ) -> Result<VersionSummary> {
        check_id(id)?;
        if new.note.is_empty() {
            return Err(StoreError::Invalid("请填写版本说明".into()));
        }
        let note = check_note(&new.note)?;
        if let Some(plan) = &new.plan {
            self.check_template(plan)?;
        }
        let body = new.plan.as_ref().map(encode).transpose()?;
        let max = self.settings.named_versions;
        self.run("save_version", Access::WriteAs(owner), async |conn| {
            let current = live(records::find(conn, owner, id).await?)?;
            if records::count_named(conn, owner, id).await? >= max as i64 {
                return Err(StoreError::TooManyVersions(max).into());
            }
            let kept = PlanRecord {
                body: body.unwrap_or_else(|| current.body.clone()),
                ..current
            };
            let before = records::bytes_of(conn, owner).await?;
            let summary =
                keep_version(conn, owner, &kept, VersionKind::Named, &note, now_ms()).await?;
            self.check_room(conn, owner, before).await?;
            Ok(summary)
        })
        .await
    }

    /// Keeps a text the writer chose against in a conflict (the page's own, or one left in a
    /// browser unsaved) as a `conflict` version: pruned like automatic ones, apart from them,
    /// and not counted against the named versions.
    pub async fn keep_conflict_copy(
        &self,
        owner: &str,
        id: &str,
        plan: &Plan,
        note: &str,
    ) -> Result<VersionSummary> {
        check_id(id)?;
        let note = check_note(note)?;
        self.check_template(plan)?;
        let body = encode(plan)?;
        let keep = self.settings.auto_versions as i64;
        self.run("keep_conflict_copy", Access::WriteAs(owner), async |conn| {
            let current = live(records::find(conn, owner, id).await?)?;
            let kept = PlanRecord { body, ..current };
            let before = records::bytes_of(conn, owner).await?;
            let summary =
                keep_version(conn, owner, &kept, VersionKind::Conflict, &note, now_ms()).await?;
            records::prune_versions(conn, owner, id, keep).await?;
            self.check_room(conn, owner, before).await?;
            Ok(summary)
        })
        .await
    }

    /// Makes an earlier version the plan's content again: the content it replaces is kept as
    /// a version first, and the restored content is a new version of its own.
    pub async fn restore(&self, owner: &str, id: &str, version: i64) -> Result<SavedPlan> {
        check_id(id)?;
        let keep = self.settings.auto_versions as i64;
        self.run("restore", Access::WriteAs(owner), async |conn| {
            let current = live(records::find(conn, owner, id).await?)?;
            let (_, body) = records::version(conn, owner, id, version)
                .await?
                .ok_or(StoreError::NoVersion)?;
            let plan = decode(&body)?;
            let now = now_ms();
            let used = records::bytes_of(conn, owner).await?;
            let change = body.len() as i64 - current.body.len() as i64;
            let before = format!("恢复版本 {version} 之前的内容");
            keep_version(conn, owner, &current, VersionKind::Auto, &before, now).await?;
            let next = record_of(
                current.id.clone(),
                current.title.clone(),
                &plan,
                body,
                current.revision + 1,
                current.created_at,
                now,
            );
            if !records::update(conn, owner, &next, None, current.revision, change).await? {
                return Err(changed_meanwhile(conn, owner, id).await);
            }
            let note = format!("恢复自版本 {version}");
            keep_version(conn, owner, &next, VersionKind::Restore, &note, now).await?;
            records::prune_versions(conn, owner, id, keep).await?;
            self.check_room(conn, owner, used).await?;
            Ok(saved(next)?)
        })
        .await
    }

    /// Section `section_id` of version `from` against version `to` (0: as saved now).
    pub async fn diff(
        &self,
        owner: &str,
        id: &str,
        section_id: &str,
        from: i64,
        to: i64,
    ) -> Result<SectionDiff> {
        // As the document bounds it: no section goes by an empty or longer id.
        if section_id.is_empty() || section_id.chars().count() > MAX_SECTION_ID_CHARS {
            return Err(StoreError::Invalid(format!(
                "章节编号应为 1–{MAX_SECTION_ID_CHARS} 个字符"
            )));
        }
        if from < 0 || to < 0 {
            return Err(StoreError::Invalid("版本号不能为负数".into()));
        }
        let old = self.version(owner, id, from).await?.plan;
        let new = self.version(owner, id, to).await?.plan;
        let text = |plan: &Plan| {
            plan.sections
                .iter()
                .find(|s| s.section_id == section_id)
                .map(|s| (s.section_title.clone(), s.text().to_owned()))
        };
        let (left, right) = (text(&old), text(&new));
        let section_title = right
            .as_ref()
            .or(left.as_ref())
            .map(|(title, _)| title.clone())
            .ok_or(StoreError::NoSection)?;
        let (left, right) = (
            left.map(|(_, t)| t).unwrap_or_default(),
            right.map(|(_, t)| t).unwrap_or_default(),
        );
        // CPU-bound for long texts: off the async workers.
        let rows = {
            let (l, r) = (left.clone(), right.clone());
            tokio::task::spawn_blocking(move || diff::rows(&l, &r))
                .await
                .map_err(|e| {
                    tracing::error!("版本对比失败（内部错误）: {e}");
                    StoreError::Internal
                })?
        };
        Ok(SectionDiff {
            section_id: section_id.to_owned(),
            section_title,
            from,
            to,
            changed: left != right,
            rows,
        })
    }

    /// How many plans there are, for the administrator (never their text).
    pub async fn counts(&self) -> PlanCounts {
        let counted = self
            .run("counts", Access::Read, async |conn| {
                Ok(records::counts(conn).await?)
            })
            .await;
        match counted {
            Ok([plans, writers, in_trash, versions]) => PlanCounts {
                engine: self.engine.as_str().to_owned(),
                available: true,
                plans,
                writers,
                in_trash,
                versions,
            },
            Err(_) => PlanCounts {
                engine: self.engine.as_str().to_owned(),
                ..PlanCounts::default()
            },
        }
    }

    fn trash_ms(&self) -> i64 {
        i64::from(self.settings.trash_days) * 86_400_000
    }

    /// After a write (in its transaction): refused, so undone, when it grew `owner`'s space
    /// past the limit. A write that does not grow it always goes through, so a writer over
    /// the limit (it was lowered) can still save a shorter text.
    async fn check_room(
        &self,
        conn: &mut AnyConnection,
        owner: &str,
        before: i64,
    ) -> Result<(), Failure> {
        let max = self.settings.storage_per_user_mib;
        let after = records::bytes_of(conn, owner).await?;
        if after > before && after > (max as i64).saturating_mul(1024 * 1024) {
            return Err(StoreError::NoRoom(max).into());
        }
        Ok(())
    }

    /// Removes a plan in the trash for good, with its versions.
    pub async fn remove(&self, owner: &str, id: &str) -> Result<()> {
        check_id(id)?;
        self.run("remove", Access::Write, async |conn| {
            if records::remove(conn, owner, id).await? {
                Ok(())
            } else {
                Err(StoreError::NotFound.into())
            }
        })
        .await
    }

    /// A new plan must be of a template this server has.
    fn check_template(&self, plan: &Plan) -> Result<()> {
        if self.registry.template(&plan.template_id).is_none() {
            return Err(StoreError::Invalid(format!(
                "未知的预案模板：{}",
                plan.template_id.chars().take(64).collect::<String>()
            )));
        }
        if plan
            .enterprise_id
            .as_deref()
            .is_some_and(|id| check_id(id).is_err())
        {
            return Err(StoreError::Invalid(
                "enterprise_id 应为企业档案的 id（32 位十六进制）".into(),
            ));
        }
        Ok(())
    }
}

/// What a purge of the trash did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub plans: u64,
    /// The transactions it took, one per batch.
    pub transactions: u64,
}

/// What a call does with the database.
#[derive(Clone, Copy)]
pub(crate) enum Access<'a> {
    Read,
    /// A write that adds nothing to anyone's plans or space (a move to or from the trash, a
    /// removal, the purge).
    Write,
    /// A write that may add to `owner`'s plans or space: checked against their limits, one
    /// such transaction of theirs at a time.
    WriteAs(&'a str),
}

/// A database error or one of ours, inside a transaction.
pub(crate) enum Failure {
    Db(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// The conflict to answer when another writer changed the plan between our read and our
/// write: the plan as that writer left it.
async fn changed_meanwhile(conn: &mut AnyConnection, owner: &str, id: &str) -> Failure {
    match records::find(conn, owner, id).await {
        Ok(found) => match live(found).and_then(saved) {
            Ok(current) => StoreError::Conflict(Box::new(current)).into(),
            Err(e) => e.into(),
        },
        Err(e) => e.into(),
    }
}

/// Keeps `plan` as a version and answers what was kept.
async fn keep_version(
    conn: &mut AnyConnection,
    owner: &str,
    plan: &PlanRecord,
    kind: VersionKind,
    note: &str,
    now: i64,
) -> Result<VersionSummary, sqlx::Error> {
    let version = records::next_version(conn, owner, &plan.id, plan.body.len() as i64).await?;
    records::insert_version(
        conn,
        owner,
        &plan.id,
        &VersionRecord {
            version,
            kind,
            note,
            title: &plan.title,
            body: &plan.body,
            created_at: now,
        },
    )
    .await?;
    Ok(VersionSummary {
        version,
        kind,
        note: note.to_owned(),
        title: plan.title.clone(),
        created_at: rfc3339(now),
    })
}

/// A plan in the trash is not there for anything but listing and bringing back.
fn live(record: Option<PlanRecord>) -> Result<PlanRecord, StoreError> {
    record
        .filter(|r| r.deleted_at.is_none())
        .ok_or(StoreError::NotFound)
}

fn saved(record: PlanRecord) -> Result<SavedPlan, StoreError> {
    saved_as(record, None)
}

/// The saved plan, `plan` being its content when the caller has it at hand.
fn saved_as(record: PlanRecord, plan: Option<Plan>) -> Result<SavedPlan, StoreError> {
    Ok(SavedPlan {
        plan: match plan {
            Some(plan) => plan,
            None => decode(&record.body)?,
        },
        id: record.id,
        title: record.title,
        revision: record.revision,
        created_at: rfc3339(record.created_at),
        updated_at: rfc3339(record.updated_at),
    })
}

fn decode(body: &str) -> Result<Plan, StoreError> {
    serde_json::from_str(body).map_err(|e| {
        tracing::error!("预案库中的预案无法读取: {e}");
        StoreError::Invalid("该预案的数据已损坏，无法读取".into())
    })
}

fn record_of(
    id: String,
    title: String,
    plan: &Plan,
    body: String,
    revision: i64,
    created_at: i64,
    updated_at: i64,
) -> PlanRecord {
    PlanRecord {
        id,
        title,
        template_id: plan.template_id.clone(),
        template_name: plan.template_name.clone(),
        enterprise_name: plan.enterprise_name.clone(),
        enterprise_id: plan.enterprise_id.clone(),
        enterprise_data: plan
            .enterprise_id
            .is_some()
            .then(|| serde_json::to_string(&plan.data).unwrap_or_default()),
        sections_done: plan
            .sections
            .iter()
            .filter(|s| s.status == SectionStatus::Done)
            .count() as i64,
        sections_total: plan.sections.len() as i64,
        body,
        revision,
        created_at,
        updated_at,
        deleted_at: None,
    }
}

/// 32 random lowercase hex digits.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub(crate) fn check_id(id: &str) -> Result<(), StoreError> {
    if id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        // A malformed id cannot name any plan: the same answer as another user's.
        Err(StoreError::NotFound)
    }
}

/// Blank to a writer: Unicode white space and the byte-order mark.
fn blank(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// `text` as kept: without control characters (pasted text carries them) and blank ends.
/// Empty or past `max` characters as sent is refused, as the document says; what is blank once
/// cleaned is `None`, for the caller's default.
fn clean(text: &str, max: usize, what: &str) -> Result<Option<String>, StoreError> {
    if text.is_empty() {
        return Err(StoreError::Invalid(format!("{what}不能为空")));
    }
    if text.chars().count() > max {
        return Err(StoreError::Invalid(format!("{what}不能超过 {max} 个字")));
    }
    let kept: String = text.chars().filter(|c| !c.is_control()).collect();
    let kept = kept.trim_matches(blank);
    Ok((!kept.is_empty()).then(|| kept.to_owned()))
}

/// A new title; `None` when it is blank (the plan keeps, or gets, its default).
fn check_title(title: &str) -> Result<Option<String>, StoreError> {
    clean(title, MAX_TITLE_CHARS, "预案名称")
}

fn check_note(note: &str) -> Result<String, StoreError> {
    if note.is_empty() {
        return Ok(String::new());
    }
    Ok(clean(note, MAX_NOTE_CHARS, "版本说明")?.unwrap_or_else(|| "（无文字说明）".to_owned()))
}

/// The title given, or `<企业名称>-<预案类型>`.
fn title_or_default(title: Option<&str>, plan: &Plan) -> Result<String, StoreError> {
    if let Some(title) = title.map(check_title).transpose()?.flatten() {
        return Ok(title);
    }
    let name = match plan.enterprise_name.trim() {
        "" => "未命名企业",
        name => name,
    };
    let title = format!("{name}-{}", plan.template_name.trim());
    Ok(title.chars().take(MAX_TITLE_CHARS).collect())
}

/// The plan as stored, once it is within bounds.
fn encode(plan: &Plan) -> Result<String, StoreError> {
    let invalid = |m: String| Err(StoreError::Invalid(m));
    if plan.sections.len() > MAX_SECTIONS {
        return invalid(format!("章节过多（最多 {MAX_SECTIONS} 个）"));
    }
    if let Some(s) = plan
        .sections
        .iter()
        .find(|s| s.text().chars().count() > MAX_SECTION_CHARS)
    {
        let title: String = s.section_title.chars().take(MAX_NAME_CHARS).collect();
        return invalid(format!("章节“{title}”过长（最多 {MAX_SECTION_CHARS} 字）"));
    }
    for (name, value) in [
        ("企业名称", &plan.enterprise_name),
        ("预案类型", &plan.template_name),
        ("预案编号", &plan.meta.number),
        ("版本号", &plan.meta.version),
        ("主要负责人", &plan.meta.principal),
    ]
    .into_iter()
    .chain(plan.sections.iter().map(|s| ("章节标题", &s.section_title)))
    {
        if value.chars().count() > MAX_NAME_CHARS {
            return invalid(format!("{name}过长（最多 {MAX_NAME_CHARS} 字）"));
        }
    }
    let odd = |v: &FieldInput| match v {
        FieldInput::Other => true,
        FieldInput::Number(n) => n.fract() != 0.0 || !n.is_finite(),
        _ => false,
    };
    if plan.data.enterprise_info.values().any(odd) {
        return invalid("企业信息的字段值应为文字、整数或 null".into());
    }
    // What the check against the profile found is worked out when a plan is read, not kept.
    let unchecked;
    let plan = if plan.sections.iter().any(|s| !s.facts.is_empty()) {
        let mut copy = plan.clone();
        for s in &mut copy.sections {
            s.facts.clear();
        }
        unchecked = copy;
        &unchecked
    } else {
        plan
    };
    // Its counters were read within the document's 64-bit bounds (`model::whole`).
    let body = serde_json::to_string(plan)
        .map_err(|_| StoreError::Invalid("预案数据格式不正确".into()))?;
    if body.len() > MAX_PLAN_BYTES {
        return invalid(format!(
            "预案过大（最多 {} MiB）",
            MAX_PLAN_BYTES / 1024 / 1024
        ));
    }
    Ok(body)
}
