//! Whole-plan generation as a server job: the server, not the page, writes the plan. A job is a
//! row of the database (`plans::jobs`); the instance that takes it holds a lease it renews, and
//! writes each section into the saved plan as it finishes, through the same orchestration as
//! every other plan (`plan_events`) and the same limits, charged to the plan's owner. Its
//! events go to the plan's log (`feed`), which any number of viewers follow. An instance that
//! dies leaves its lease to lapse and another instance goes on with the sections not saved
//! (those finished meanwhile come from the cache); one that stops gives its jobs up at once.

pub mod feed;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::tokens::Tokens,
    clock::now_ms,
    enterprises::EnterpriseService,
    generation::{plan::Writing, request::clip_context, GenerationService},
    model::{
        AppError, ErrorCode, FeedEvent, FeedItem, JobRequest, JobState, NewPlan, Plan, PlanBody,
        PlanFromData, PlanFromProfile, PlanJob, PlanSection, SavedPlan, SectionStatus,
    },
    plans::{
        jobs::{ending_message, JobRow, JobStart, Settled},
        PlanService, StoreError,
    },
};
use feed::{Cursor, EventId, Feed};

/// After `last`, or else from the first event of `latest` (the plan's latest job). An id that is
/// none of ours names no place in the log: read from the start.
fn start_of(latest: Option<JobRow>, last: Option<&str>) -> Option<Cursor> {
    if let Some(id) = last.and_then(EventId::parse) {
        return Some(Cursor::After(id));
    }
    latest
        .and_then(|job| job.first_event)
        .and_then(|id| EventId::parse(&id))
        .map(Cursor::From)
}

/// `events` up to and including the one that says the job ended.
fn until_ended(
    events: impl futures::Stream<Item = FeedEvent> + Send + 'static,
) -> impl futures::Stream<Item = FeedEvent> + Send + 'static {
    futures::stream::unfold(
        (Box::pin(events), false),
        |(mut events, ended)| async move {
            if ended {
                return None;
            }
            let event = events.next().await?;
            let ends = matches!(&event.item, FeedItem::Job(job) if !job.state.is_open());
            Some((event, (events, ends)))
        },
    )
}

/// A profile that lacks what a plan needs: what it lacks, named.
fn incomplete(e: crate::generation::GenerationError) -> AppError {
    let error = AppError::from(e);
    let message = match &error.details {
        Some(details) => details
            .iter()
            .map(|d| d.message.as_str())
            .collect::<Vec<_>>()
            .join("；"),
        None => error.message.clone(),
    };
    AppError {
        code: ErrorCode::ProfileIncomplete,
        message: format!("企业档案还缺少生成该预案所需的信息：{message}。请先在企业档案中补充"),
        retryable: false,
        ..error
    }
}

fn no_job() -> AppError {
    AppError::new(ErrorCode::JobNotFound, "该预案还没有生成任务")
}

/// How often a viewer looks for events another instance wrote, and how many it reads at once.
const WATCH_POLL: Duration = Duration::from_millis(250);
const WATCH_BATCH: usize = 200;
/// Jobs one look at the database takes at most, and jobs one instance runs at once (more wait
/// queued for this or another instance: each runs a few model calls at a time).
const BATCH: i64 = 8;
const MAX_RUNNING: usize = 32;
/// Tries to save a finished section while the database is away, and the first pause between.
const SAVE_TRIES: u32 = 4;
const SAVE_PAUSE: Duration = Duration::from_millis(500);

/// Where jobs read and write: the plans, and the profiles plans are written from.
pub struct Stores {
    pub plans: Arc<PlanService>,
    pub enterprises: Arc<EnterpriseService>,
}

pub struct Jobs {
    plans: Arc<PlanService>,
    enterprises: Arc<EnterpriseService>,
    generation: Arc<GenerationService>,
    tokens: Arc<Tokens>,
    feed: Arc<Feed>,
    /// This instance, as lease holder.
    me: String,
    lease: Duration,
    /// Jobs this instance runs now, and what stops each starting new sections.
    running: Mutex<HashMap<String, CancellationToken>>,
    /// Cancelled when the instance stops: its jobs are given up for others to take.
    stopping: CancellationToken,
}

impl Jobs {
    pub fn new(
        stores: Stores,
        generation: Arc<GenerationService>,
        tokens: Arc<Tokens>,
        feed: Arc<Feed>,
        me: String,
        lease: Duration,
        stopping: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            plans: stores.plans,
            enterprises: stores.enterprises,
            generation,
            tokens,
            feed,
            me,
            lease,
            running: Mutex::default(),
            stopping,
        })
    }

    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// A new saved plan built from an enterprise's data: its template's sections, all
    /// waiting, with the template's clauses and elements. The data is checked as a generation
    /// checks it.
    pub async fn create_plan(
        &self,
        owner: &str,
        body: PlanFromData,
    ) -> Result<SavedPlan, AppError> {
        let request = self.generation.read_plan(PlanBody {
            template_id: body.template_id.clone(),
            data: body.data.clone(),
            refresh: None,
        })?;
        let template = request.template.view();
        let run = now_ms().max(0) as u64;
        // Keys the template does not have are ignored, as the document says: not kept.
        let mut data = body.data;
        data.enterprise_info
            .retain(|key, _| template.fields.iter().any(|f| &f.id == key));
        let plan = Plan::new(&template, data, run);
        let new = NewPlan {
            id: None,
            title: body.title,
            plan,
        };
        Ok(self.plans.create(owner, new).await?)
    }

    /// A new saved plan built from `owner`'s enterprise profile: its form taken from the
    /// profile (and what `body.data` adds), its sections reading the profile's facts when they
    /// are written. A profile that lacks what the template needs is answered 409, naming it.
    pub async fn create_plan_from_profile(
        &self,
        owner: &str,
        body: PlanFromProfile,
    ) -> Result<SavedPlan, AppError> {
        let template = self
            .generation
            .registry()
            .template(&body.template_id)
            .cloned()
            .ok_or_else(|| {
                AppError::from(crate::generation::GenerationError::UnknownTemplate(
                    body.template_id.clone(),
                ))
            })?;
        let asked = body.data.unwrap_or_default();
        let (data, _) = self
            .enterprises
            .plan_form(owner, &body.enterprise_id, &template, &asked)
            .await?;
        if let Err(e) = self.generation.read_plan(PlanBody {
            template_id: template.id.clone(),
            data: data.clone(),
            refresh: None,
        }) {
            return Err(incomplete(e));
        }
        let mut plan = Plan::new(&template.view(), data, now_ms().max(0) as u64);
        plan.enterprise_id = Some(body.enterprise_id);
        let new = NewPlan {
            id: None,
            title: body.title,
            plan,
        };
        Ok(self.plans.create(owner, new).await?)
    }

    /// Starts generating plan `plan_id` of `owner` as a job, here at once; the job, and
    /// whether it is new (a retried request with the same key gets the same job).
    pub async fn generate(
        self: &Arc<Self>,
        owner: &str,
        plan_id: &str,
        request: JobRequest,
        key: Option<String>,
    ) -> Result<(PlanJob, bool), StoreError> {
        match self.plans.start_job(owner, plan_id, request, key).await? {
            JobStart::New(job) => {
                self.publish_job(&job).await;
                if job.state == JobState::Queued {
                    self.start(job.id.clone());
                }
                Ok((job.view(), true))
            }
            JobStart::Existing(job) => Ok((job.view(), false)),
        }
    }

    /// The plan's latest job.
    pub async fn latest(&self, owner: &str, plan_id: &str) -> Result<PlanJob, AppError> {
        match self.plans.latest_job(owner, plan_id).await? {
            Some(job) => Ok(job.view()),
            None => Err(no_job()),
        }
    }

    /// Stops the plan's job once the sections in flight are saved.
    pub async fn cancel(&self, owner: &str, plan_id: &str) -> Result<PlanJob, AppError> {
        let Some(job) = self.plans.cancel_job(owner, plan_id).await? else {
            return Err(no_job());
        };
        if job.state == JobState::Cancelling {
            // Run here: no new section starts from now (elsewhere: at its next save).
            let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(stop) = running.get(&job.id) {
                stop.cancel();
            }
        }
        if job.state == JobState::Cancelled && job.lease_holder.is_none() {
            self.publish_job(&job).await;
        }
        Ok(job.view())
    }

    /// The plan's events for a viewer, from `cursor` (or, with none, from the first event of
    /// the next job to start), for as long as it reads. Checked for ownership by `cursor`.
    pub fn watch(
        self: &Arc<Self>,
        owner: String,
        plan_id: String,
        cursor: Option<Cursor>,
    ) -> impl futures::Stream<Item = FeedEvent> + Send + 'static {
        let jobs = self.clone();
        let shared = self.feed.shared();
        // Events written by another instance are looked for this often; this instance's wake
        // its viewers at once.
        let poll = if shared {
            WATCH_POLL
        } else {
            Duration::from_secs(15)
        };
        let waker = self.feed.waker(&owner, &plan_id);
        let start = (cursor, std::collections::VecDeque::<FeedEvent>::new());
        futures::stream::unfold(start, move |(mut cursor, mut ready)| {
            let (jobs, owner, plan_id) = (jobs.clone(), owner.clone(), plan_id.clone());
            let waker = waker.clone();
            async move {
                loop {
                    if let Some(event) = ready.pop_front() {
                        return Some((event, (cursor, ready)));
                    }
                    // Listening before looking: an event written meanwhile still wakes it.
                    let written = waker.notified();
                    tokio::pin!(written);
                    written.as_mut().enable();
                    let Some(at) = &cursor else {
                        cursor = match jobs.plans.latest_job(&owner, &plan_id).await {
                            Ok(job) => job
                                .and_then(|j| j.first_event)
                                .and_then(|id| EventId::parse(&id))
                                .map(Cursor::From),
                            Err(StoreError::NotFound) => return None,
                            Err(_) => None,
                        };
                        if cursor.is_none() {
                            let wait = poll.max(Duration::from_secs(1));
                            let _ = tokio::time::timeout(wait, written).await;
                        }
                        continue;
                    };
                    let events = jobs.feed.read(&owner, &plan_id, at, WATCH_BATCH).await;
                    match events.last().and_then(|e| EventId::parse(&e.id)) {
                        Some(last) => {
                            cursor = Some(Cursor::After(last));
                            ready.extend(events);
                        }
                        None => {
                            let _ = tokio::time::timeout(poll, written).await;
                        }
                    }
                }
            }
        })
    }

    /// The plan's events for the page: those of its open job (after `last`, when the page
    /// reconnects), ending with the event that says the job ended; nothing when no job is open.
    pub async fn follow(
        self: &Arc<Self>,
        owner: &str,
        plan_id: &str,
        last: Option<&str>,
    ) -> Result<impl futures::Stream<Item = FeedEvent> + Send + 'static, AppError> {
        let latest = self.plans.latest_job(owner, plan_id).await?;
        let open = latest.as_ref().is_some_and(|job| job.state.is_open());
        let cursor = start_of(latest, last).filter(|_| open || last.is_some());
        let events = match cursor {
            Some(cursor) => self
                .watch(owner.to_owned(), plan_id.to_owned(), Some(cursor))
                .boxed(),
            None => futures::stream::empty().boxed(),
        };
        Ok(until_ended(events))
    }

    /// Where a viewer of the plan starts: after `last` (the last event it had), or from the
    /// latest job's first event; `None` when the plan never had a job. Checks the plan is the
    /// owner's.
    pub async fn cursor(
        &self,
        owner: &str,
        plan_id: &str,
        last: Option<&str>,
    ) -> Result<Option<Cursor>, AppError> {
        let latest = self.plans.latest_job(owner, plan_id).await?;
        Ok(start_of(latest, last))
    }

    fn renew_every(&self) -> Duration {
        self.lease / 3
    }

    /// Looks for jobs to take every third of the lease, until the instance stops.
    pub fn spawn_watch(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let every = self.renew_every().min(Duration::from_secs(5));
        let stopping = self.stopping.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stopping.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let Some(jobs) = me.upgrade() else { return };
                if let Ok(ids) = jobs.plans.runnable_jobs(BATCH).await {
                    for id in ids {
                        jobs.start(id);
                    }
                }
            }
        });
    }

    /// Runs job `id` here, unless this instance runs it already (or another holds it).
    pub fn start(self: &Arc<Self>, id: String) {
        if self.stopping.is_cancelled() {
            return;
        }
        {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if running.contains_key(&id) || running.len() >= MAX_RUNNING {
                return;
            }
            running.insert(id.clone(), self.stopping.child_token());
        }
        let jobs = self.clone();
        tokio::spawn(async move {
            jobs.run(&id).await;
            jobs.running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        });
    }

    /// Publishes `item` to the plan's log of `job`.
    async fn publish(&self, job: &JobRow, item: FeedItem) -> Option<String> {
        self.feed.publish(&job.owner, &job.plan_id, &item).await
    }

    async fn publish_job(&self, job: &JobRow) {
        if let Some(id) = self.publish(job, FeedItem::Job(job.view())).await {
            if job.first_event.is_none() {
                let _ = self.plans.note_first_event(&job.id, &id).await;
            }
        }
    }

    /// Ends `job` in `state` with `message`, if this instance still holds it.
    async fn end(&self, mut job: JobRow, state: JobState, message: Option<String>) {
        job.state = state;
        job.message = message;
        job.resume_at = None;
        if let Ok(true) = self.plans.write_job(&job, &self.me).await {
            job.lease_holder = None;
            self.publish_job(&job).await;
        }
    }

    async fn run(self: &Arc<Self>, id: &str) {
        let Ok(Some(job)) = self.plans.claim_job(id, &self.me, self.lease).await else {
            return;
        };
        if job.state == JobState::Cancelling {
            return self.end(job, JobState::Cancelled, None).await;
        }
        self.publish_job(&job).await;
        let Some(user) = self.tokens.user_named(&job.owner) else {
            let message = "该预案的所有者已不在用户列表中，任务无法继续".to_owned();
            return self.end(job, JobState::Failed, Some(message)).await;
        };
        let saved = match self.plans.get(&job.owner, &job.plan_id).await {
            Ok(saved) => saved,
            Err(StoreError::NotFound) => {
                let message = "预案已删除，任务已停止".to_owned();
                return self.end(job, JobState::Failed, Some(message)).await;
            }
            Err(_) => {
                // The database is away: the job waits for it (here or elsewhere).
                let _ = self.plans.release_job(id, &self.me).await;
                return;
            }
        };
        let plan = saved.plan;
        let waiting = job.waiting();
        // A plan made from a profile is written from the profile as it is now.
        let template = self
            .generation
            .registry()
            .template(&plan.template_id)
            .cloned();
        let mut data = plan.data.clone();
        let mut facts = None;
        if let (Some(eid), Some(template)) = (&plan.enterprise_id, &template) {
            match self
                .enterprises
                .plan_form(&job.owner, eid, template, &plan.data)
                .await
            {
                Ok((form, read)) => {
                    data = form;
                    facts = Some(Arc::new(read));
                }
                // The profile is gone: the plan keeps the form it was made with.
                Err(StoreError::NoProfile) => {}
                Err(_) => {
                    let _ = self.plans.release_job(id, &self.me).await;
                    return;
                }
            }
        }
        let body = PlanBody {
            template_id: plan.template_id.clone(),
            data,
            refresh: Some(job.force),
        };
        let mut request = match self.generation.read_plan(body) {
            Ok(request) => request,
            Err(e) => return self.end(job, JobState::Failed, Some(e.to_string())).await,
        };
        let positions: Vec<usize> = request
            .template
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| waiting.contains(&s.id))
            .map(|(i, _)| i)
            .collect();
        if positions.is_empty() {
            let message = ending_message(&job);
            return self.end(job, JobState::Done, message).await;
        }
        match self
            .generation
            .accounts()
            .admit(&user, positions.len() as u32)
            .await
        {
            Ok(payer) => request.payer = Some(payer),
            Err(limit) => return self.wait_for_quota(job, limit).await,
        }
        request.context = plan
            .context_section
            .as_ref()
            .filter(|id| !waiting.contains(id))
            .and_then(|id| plan.sections.iter().find(|s| &s.section_id == id))
            .filter(|s| s.status == SectionStatus::Done)
            .map(|s| clip_context(s.text()))
            .filter(|c| !c.is_empty());
        request.only = Some(positions);
        request.facts = facts;
        let stop_new = self.stop_token(id);
        request.stop = stop_new.clone();
        let lost = CancellationToken::new();
        let renewal = self.spawn_renewal(id.to_owned(), stop_new.clone(), lost.clone());
        let _renewal = renewal.drop_guard();

        let concurrency = self.generation.plan_concurrency();
        let mut events = self
            .generation
            .plan_events(request, Writing::Streamed, concurrency);
        let mut sections: HashMap<String, PlanSection> = plan
            .sections
            .iter()
            .filter(|s| waiting.contains(&s.section_id))
            .map(|s| {
                (
                    s.section_id.clone(),
                    PlanSection::new(&s.section_id, &s.section_title),
                )
            })
            .collect();
        let mut job = job;
        loop {
            let event = tokio::select! {
                () = self.stopping.cancelled() => {
                    // Handed over: another instance goes on at once.
                    let _ = self.plans.release_job(id, &self.me).await;
                    return;
                }
                () = lost.cancelled() => return,
                event = events.next() => event,
            };
            let Some(event) = event else { break };
            let last = event.event.is_last();
            let section_id = event.section_id.clone();
            if let Some(section) = sections.get_mut(&section_id) {
                section.apply(event.event.clone());
            }
            self.publish(&job, FeedItem::Section(event)).await;
            if !last {
                continue;
            }
            let Some(written) = sections.remove(&section_id) else {
                continue;
            };
            match self.settle(&job, written).await {
                Err(gone) => {
                    // The plan went to the trash (or away): the job stops, saying why.
                    lost.cancel();
                    return self.end(job, JobState::Failed, Some(gone)).await;
                }
                Ok(Some((saved, row))) => {
                    job = row;
                    if job.state == JobState::Cancelling {
                        stop_new.cancel();
                    }
                    self.publish(&job, FeedItem::Saved(saved)).await;
                    self.publish_job(&job).await;
                }
                Ok(None) => {
                    lost.cancel();
                    return;
                }
            }
        }
        let left = !job.waiting().is_empty();
        let cancelled = left && stop_new.is_cancelled() && !self.stopping.is_cancelled();
        if self.stopping.is_cancelled() {
            let _ = self.plans.release_job(id, &self.me).await;
            return;
        }
        let (state, message) = if cancelled {
            (
                JobState::Cancelled,
                Some("任务已取消，已完成的章节已保存".to_owned()),
            )
        } else {
            (JobState::Done, ending_message(&job))
        };
        // Re-read: a cancel asked meanwhile is kept as asked.
        self.end(job, state, message).await;
    }

    /// What stops job `id` (run here) starting new sections.
    fn stop_token(&self, id: &str) -> CancellationToken {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .get(id)
            .cloned()
            .unwrap_or_else(|| self.stopping.child_token())
    }

    /// Saves a settled section; `Ok(None)` when this instance no longer holds the job (or the
    /// database stayed away through every try: the job is given up for a later try), `Err`
    /// (why, for the writer) when the job cannot go on (its plan went to the trash).
    async fn settle(
        &self,
        job: &JobRow,
        written: PlanSection,
    ) -> Result<Option<(crate::model::SavedSection, JobRow)>, String> {
        let mut pause = SAVE_PAUSE;
        for _ in 0..SAVE_TRIES {
            match self
                .plans
                .settle_section(&job.owner, &job.id, &self.me, written.clone())
                .await
            {
                Ok(Settled::Saved(saved)) => return Ok(Some(*saved)),
                Ok(Settled::LeaseLost) => return Ok(None),
                Err(StoreError::Unavailable) => {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(StoreError::NotFound) => {
                    return Err("预案已删除，任务已停止".to_owned());
                }
                Err(e) => {
                    tracing::warn!("生成任务 {} 保存章节失败: {e}", job.id);
                    return Err(format!("保存章节失败：{e}"));
                }
            }
        }
        let _ = self.plans.release_job(&job.id, &self.me).await;
        Ok(None)
    }

    /// A job whose owner is over their limits: paused until the limit lets it go on, or failed
    /// when no wait would.
    async fn wait_for_quota(&self, mut job: JobRow, limit: crate::usage::limits::LimitError) {
        let Some(after) = limit.retry_after else {
            return self.end(job, JobState::Failed, Some(limit.message)).await;
        };
        job.state = JobState::WaitingForQuota;
        job.resume_at = Some(now_ms() + after.as_millis() as i64);
        job.message = Some(limit.message);
        if let Ok(true) = self.plans.write_job(&job, &self.me).await {
            job.lease_holder = None;
            self.publish_job(&job).await;
        }
    }

    /// Renews the lease on job `id` while it runs; a job asked to stop starts no new section,
    /// and one lost to another instance stops here.
    fn spawn_renewal(
        &self,
        id: String,
        stop_new: CancellationToken,
        lost: CancellationToken,
    ) -> CancellationToken {
        let plans = self.plans.clone();
        let me = self.me.clone();
        let lease = self.lease;
        let every = self.renew_every();
        let done = CancellationToken::new();
        let until = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = until.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                match plans.renew_job(&id, &me, lease).await {
                    Ok(Some(JobState::Cancelling)) => stop_new.cancel(),
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        tracing::warn!("生成任务 {id} 已由其他实例接手");
                        lost.cancel();
                        return;
                    }
                    // The database is away: the lease may lapse, and the saves will tell.
                    Err(_) => {}
                }
            }
        });
        done
    }
}
