//! Generating one section: look in the cache, ask the model on a miss, store only a successful
//! answer. Requests arrive checked against the registry (`request`).
//!
//! Against stampedes, concurrent identical misses share one model call: inside a process through
//! a single flight, across instances through a Redis lock whose waiters take the owner's answer
//! from the cache. When the model fails, an expired entry still inside its grace period is
//! served instead, marked `stale`.

mod key;
pub mod plan;
pub mod request;
pub mod single_flight;
pub mod stream;
pub mod text;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio_util::task::TaskTracker;

pub use self::request::{PlanRequest, SectionRequest};
use self::{
    key::{generation_key, KeyParts},
    single_flight::SingleFlight,
    text::Text,
};
use crate::{
    ai::{AiError, AiService, GenerateInput, Usage},
    cache::{CacheService, Lookup, Payload},
    coord::{Coordination, HeldLock, LockAttempt},
    model::{AppError, ErrorCode, FieldProblem, GenerateBody, PlanBody, SectionCheck},
    prompt,
    templates::{Registry, Section},
    usage::{Accounts, Payer},
};

/// How often a waiter looks for the lock owner's answer.
const LOCK_POLL: Duration = Duration::from_millis(50);
/// How long a lock owner's answer that is not cached stays for its waiters: they look every
/// `LOCK_POLL`, so a few seconds is plenty.
const HANDOFF_TTL: Duration = Duration::from_secs(10);

/// A generated (or cached) section.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Generated {
    /// Shared with the cache entry it came from: a hit copies no text and escapes it no more.
    #[schema(value_type = String)]
    pub content: Text,
    pub section_title: String,
    pub cached: bool,
    /// An expired entry served because the model failed.
    pub stale: bool,
    pub template_id: String,
    pub section_id: String,
    pub model: String,
    pub elapsed_ms: u64,
    /// The text held against the elements of GB/T 29639-2020 the section must cover.
    #[schema(value_type = SectionCheck)]
    pub check: Arc<SectionCheck>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GenerationError {
    #[error("模板 {0} 不存在")]
    UnknownTemplate(String),
    #[error("模板 {template} 中没有章节 {section}")]
    UnknownSection { template: String, section: String },
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldProblem>),
    #[error(transparent)]
    Ai(#[from] AiError),
    #[error("另一个实例正在生成相同的章节，等待超时，请稍后重试")]
    Busy,
}

/// Field problems as one sentence for a writer.
fn describe(problems: &[FieldProblem]) -> String {
    problems
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("；")
}

impl GenerationError {
    /// The stable code this failure is reported under.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownTemplate(_) => ErrorCode::TemplateNotFound,
            Self::UnknownSection { .. } => ErrorCode::SectionNotFound,
            Self::Invalid(_) => ErrorCode::ValidationError,
            Self::Busy => ErrorCode::GenerationBusy,
            Self::Ai(ai) if ai.is_timeout() => ErrorCode::AiTimeout,
            Self::Ai(ai) if ai.is_overloaded() => ErrorCode::AiOverloaded,
            Self::Ai(_) => ErrorCode::AiUpstreamError,
        }
    }
}

impl From<GenerationError> for AppError {
    fn from(e: GenerationError) -> Self {
        if let GenerationError::Invalid(details) = e {
            return AppError::validation(details);
        }
        let error = AppError::new(e.code(), e.to_string());
        match error.code {
            // Every model call of this instance is taken: a moment's wait helps.
            ErrorCode::AiOverloaded => error.with_retry_after(5),
            _ => error,
        }
    }
}

/// What the cache holds for a section. Its text and check are shared, not copied, by the
/// answers made from it.
#[derive(Clone, Serialize, Deserialize)]
struct CachedSection {
    content: Text,
    model: String,
    generated_at: u64,
    /// What the model call that wrote it used; what each hit saves.
    #[serde(default)]
    usage: Option<Usage>,
    /// How long that call took.
    #[serde(default)]
    generated_ms: u64,
    /// The text held against the section's elements, made once when it was written (the
    /// elements are part of the key's prompt version), so a hit does not check again.
    #[serde(default)]
    check: Option<Arc<SectionCheck>>,
}

impl CachedSection {
    /// A new answer for `section`, checked.
    fn new(section: &Section, content: String, model: &str, usage: Usage, took: Duration) -> Self {
        Self {
            check: Some(Arc::new(section.check(&content))),
            content: content.into(),
            model: model.to_owned(),
            generated_at: crate::clock::unix(),
            usage: Some(usage),
            generated_ms: took.as_millis() as u64,
        }
    }

    /// Its check against `section`'s elements: as stored, or made now for an entry written
    /// without one.
    fn check(&self, section: &Section) -> Arc<SectionCheck> {
        self.check
            .clone()
            .unwrap_or_else(|| Arc::new(section.check(&self.content)))
    }

    /// Counts a served copy of this answer as saved for `payer`.
    fn served(&self, accounts: &Accounts, payer: Option<&str>) {
        if let Some(usage) = &self.usage {
            accounts.saved(payer, usage, self.generated_ms);
        }
    }

    async fn store(&self, cache: &CacheService, key: &str, ttl: Duration) {
        if let Ok(raw) = serde_json::to_string(self) {
            cache.set(key, &raw, ttl).await;
        }
    }

    /// Stores a new answer — unless it misses elements of the standard and such answers are
    /// not kept: it is returned with its check, and the next request asks the model again.
    /// The instances waiting on this writer's lock get it either way (`hand_off`), so N
    /// identical requests over M instances make one model call, complete answer or not.
    async fn keep(&self, to: &Keep<'_>) {
        match &self.check {
            Some(check) if !check.complete() && !to.incomplete_too => {
                tracing::warn!(
                    "生成的章节缺少标准要素（{}），未写入缓存，下次请求将重新生成",
                    check.missing_names().join("、")
                );
                if to.waited_on {
                    if let Ok(raw) = serde_json::to_string(self) {
                        to.coord.hand_off(to.key, &raw, HANDOFF_TTL).await;
                    }
                }
            }
            _ => self.store(to.cache, to.key, to.ttl).await,
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        serde_json::from_str(raw)
            .map_err(|e| tracing::warn!("缓存条目无法解析，按未命中处理: {e}"))
            .ok()
    }

    /// A cache entry as this section, decoded once per in-process entry (see `Payload`).
    fn from_payload(payload: &Payload) -> Option<Self> {
        payload
            .decoded(Self::parse)
            .map(|section| CachedSection::clone(&section))
    }
}

/// Where a new answer is kept, and whether one that misses elements is kept too.
struct Keep<'a> {
    cache: &'a CacheService,
    coord: &'a Coordination,
    key: &'a str,
    ttl: Duration,
    incomplete_too: bool,
    /// The writer holds the cross-instance lock: other instances may be waiting for its answer.
    waited_on: bool,
}

/// What one flight produced: a new answer, or one another instance put in the cache.
#[derive(Clone)]
struct Produced {
    section: CachedSection,
    from_cache: bool,
}

type FlightResult = Result<Produced, GenerationError>;

pub struct GenerationService {
    registry: Arc<Registry>,
    cache: Arc<CacheService>,
    coord: Arc<Coordination>,
    ai: Arc<AiService>,
    accounts: Arc<Accounts>,
    flights: Arc<SingleFlight<FlightResult>>,
    /// Every task writing an answer (flights, streams, plans), for a stopping instance to
    /// wait for.
    tasks: TaskTracker,
    /// How many sections of one plan are written at once.
    plan_concurrency: usize,
    /// `prompt::version` of every section, by template id and section position: part of every
    /// cache key, so worked out once.
    prompt_versions: HashMap<String, Vec<String>>,
    /// Whether answers missing elements of the standard are cached as fresh.
    keep_incomplete: bool,
}

/// Everything a flight needs, owned, so it can outlive the request that started it.
struct Job {
    cache: Arc<CacheService>,
    coord: Arc<Coordination>,
    ai: Arc<AiService>,
    accounts: Arc<Accounts>,
    request: SectionRequest,
    key: String,
    keep_incomplete: bool,
}

impl GenerationService {
    pub fn new(
        registry: Arc<Registry>,
        cache: Arc<CacheService>,
        coord: Arc<Coordination>,
        ai: Arc<AiService>,
        accounts: Arc<Accounts>,
    ) -> Self {
        let prompt_versions = registry
            .templates()
            .iter()
            .map(|t| {
                let versions = t.sections.iter().map(|s| prompt::version(t, s)).collect();
                (t.id.clone(), versions)
            })
            .collect();
        let tasks = TaskTracker::new();
        Self {
            prompt_versions,
            registry,
            cache,
            coord,
            ai,
            accounts,
            flights: Arc::new(SingleFlight::new(tasks.clone())),
            tasks,
            plan_concurrency: 3,
            keep_incomplete: false,
        }
    }

    /// Whether answers that miss elements of the standard are cached as fresh too.
    pub fn keeping_incomplete(mut self, keep: bool) -> Self {
        self.keep_incomplete = keep;
        self
    }

    /// How many sections of one plan are written at the same time (at least one).
    pub fn with_plan_concurrency(mut self, n: usize) -> Self {
        self.plan_concurrency = n.max(1);
        self
    }

    /// Runs `work` as a tracked task.
    fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tasks.spawn(work)
    }

    /// Waits, at most `within`, for the answers being written to be done (and cached); whether
    /// they all were. No new work starts meanwhile: the listener is closed by then.
    pub async fn finish(&self, within: Duration) -> bool {
        self.tasks.close();
        tokio::time::timeout(within, self.tasks.wait())
            .await
            .is_ok()
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn ai(&self) -> &AiService {
        &self.ai
    }

    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Reads a request for one section against the registry.
    pub fn read_section(&self, body: GenerateBody) -> Result<SectionRequest, GenerationError> {
        SectionRequest::read(body, &self.registry)
    }

    /// Reads a request for a whole plan against the registry.
    pub fn read_plan(&self, body: PlanBody) -> Result<PlanRequest, GenerationError> {
        PlanRequest::read(body, &self.registry)
    }

    /// The cache key of a request: everything that decides its answer.
    fn key(&self, req: &SectionRequest) -> String {
        let facts = req.facts.as_ref().map(|f| f.digest_input());
        let version = self
            .prompt_versions
            .get(&req.template.id)
            .and_then(|v| v.get(req.section))
            .map_or("", String::as_str);
        generation_key(
            self.cache.prefix(),
            &KeyParts {
                template: &req.template.id,
                section: &req.section().id,
                info: &req.info,
                model: self.ai.model(),
                prompt_version: version,
                context: req.context.as_deref(),
                facts: facts.as_deref(),
            },
        )
    }

    /// What the cache has for a prepared request: a fresh entry, or an expired one to fall back
    /// on. `refresh` skips the lookup.
    async fn cached(
        &self,
        key: &str,
        refresh: bool,
    ) -> (Option<CachedSection>, Option<CachedSection>) {
        if refresh {
            return (None, None);
        }
        match self.cache.get(key).await {
            Lookup::Fresh(payload) => (CachedSection::from_payload(&payload), None),
            Lookup::Stale(payload) => (None, CachedSection::from_payload(&payload)),
            Lookup::Miss => (None, None),
        }
    }

    pub async fn generate(&self, req: &SectionRequest) -> Result<Generated, GenerationError> {
        let started = Instant::now();
        let key = self.key(req);
        let section = req.section();
        let answer = |entry: CachedSection, cached: bool, stale: bool| Generated {
            check: entry.check(section),
            content: entry.content,
            section_title: section.title.clone(),
            cached,
            stale,
            template_id: req.template.id.clone(),
            section_id: section.id.clone(),
            model: entry.model,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };

        let payer = req.payer.as_ref().map(Payer::name);
        let (fresh, stale) = self.cached(&key, req.refresh).await;
        if let Some(hit) = fresh {
            hit.served(&self.accounts, payer);
            return Ok(answer(hit, true, false));
        }

        let flight_key = if req.refresh {
            format!("{key}#refresh")
        } else {
            key.clone()
        };
        let job = Job {
            cache: self.cache.clone(),
            coord: self.coord.clone(),
            ai: self.ai.clone(),
            accounts: self.accounts.clone(),
            request: req.clone(),
            key,
            keep_incomplete: self.keep_incomplete,
        };
        match (self.flights.run(flight_key, job.run()).await, stale) {
            (Ok(produced), _) => {
                if produced.from_cache {
                    produced.section.served(&self.accounts, payer);
                }
                Ok(answer(produced.section, produced.from_cache, false))
            }
            (Err(GenerationError::Ai(e)), Some(old)) => {
                tracing::warn!("AI 生成失败，返回过期缓存: {}", e.log_detail());
                self.cache.record_stale_served();
                old.served(&self.accounts, payer);
                Ok(answer(old, true, true))
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// How long a writer may hold the lock on a key: the model's every attempt and wait, plus a
/// margin; it expires by itself if the writer dies.
fn lock_ttl(ai: &AiService) -> Duration {
    ai.worst_case() + Duration::from_secs(5)
}

/// Who writes a missed key across instances.
enum Claim {
    /// Another instance wrote it meanwhile.
    Answered(CachedSection),
    /// This caller writes it, holding the lock (none without Redis) until done.
    Writer(Option<HeldLock>),
}

/// Takes the cross-instance lock on `key`, or waits for the instance holding it and takes its
/// answer. A waiter whose owner vanished without an answer tries again, a bounded number of
/// times. `refresh` asks for a new answer, so an entry stored meanwhile does not count.
async fn claim(
    cache: &CacheService,
    coord: &Arc<Coordination>,
    key: &str,
    lock_ttl: Duration,
    refresh: bool,
) -> Result<Claim, GenerationError> {
    for _ in 0..3 {
        match coord.lock(key, lock_ttl).await {
            LockAttempt::Held(token) => {
                let meanwhile = if refresh {
                    None
                } else {
                    cache
                        .peek_fresh(key)
                        .await
                        .and_then(|payload| CachedSection::from_payload(&payload))
                };
                return Ok(match meanwhile {
                    Some(section) => {
                        token.release().await;
                        Claim::Answered(section)
                    }
                    None => Claim::Writer(Some(token)),
                });
            }
            LockAttempt::Unavailable => return Ok(Claim::Writer(None)),
            LockAttempt::Busy => {
                if let Some(section) = wait_for_owner(cache, coord, key, lock_ttl).await? {
                    return Ok(Claim::Answered(section));
                }
            }
        }
    }
    Err(GenerationError::Busy)
}

/// Polls for the answer of the instance holding the lock on `key`. `Ok(None)`: the lock is gone
/// without an answer (the owner failed or Redis went away).
async fn wait_for_owner(
    cache: &CacheService,
    coord: &Coordination,
    key: &str,
    lock_ttl: Duration,
) -> Result<Option<CachedSection>, GenerationError> {
    let deadline = Instant::now() + lock_ttl;
    while Instant::now() < deadline {
        tokio::time::sleep(LOCK_POLL).await;
        if let Some(section) = cache
            .peek_fresh(key)
            .await
            .and_then(|payload| CachedSection::from_payload(&payload))
        {
            return Ok(Some(section));
        }
        if coord.lock_held(key).await != Some(true) {
            // Done without caching its answer (it missed elements of the standard): the
            // owner left it for its waiters.
            return Ok(coord
                .handed_off(key)
                .await
                .and_then(|payload| CachedSection::from_payload(&payload)));
        }
    }
    Err(GenerationError::Busy)
}

impl Job {
    /// Takes the cross-instance lock and generates, or takes the lock owner's answer.
    async fn run(self) -> FlightResult {
        let lock_ttl = lock_ttl(&self.ai);
        match claim(
            &self.cache,
            &self.coord,
            &self.key,
            lock_ttl,
            self.request.refresh,
        )
        .await?
        {
            Claim::Answered(section) => Ok(Produced {
                section,
                from_cache: true,
            }),
            Claim::Writer(lock) => {
                let result = self.generate(lock.is_some()).await;
                if let Some(lock) = lock {
                    lock.release().await;
                }
                result
            }
        }
    }

    async fn generate(&self, waited_on: bool) -> FlightResult {
        let req = &self.request;
        let started = Instant::now();
        let prompt = prompt::build(
            &req.template,
            req.section(),
            &req.info,
            req.context.as_deref(),
            req.facts.as_deref(),
        );
        let answer = self
            .ai
            .generate(GenerateInput {
                template: &req.template,
                section: req.section(),
                info: &req.info,
                prompt: &prompt,
                context: req.context.as_deref(),
                facts: req.facts.as_deref(),
            })
            .await?;
        self.accounts
            .spent(req.payer.as_ref().map(Payer::name), &answer.usage)
            .await;
        let section = CachedSection::new(
            req.section(),
            answer.text,
            self.ai.model(),
            answer.usage,
            started.elapsed(),
        );
        let keep = Keep {
            cache: &self.cache,
            coord: &self.coord,
            key: &self.key,
            ttl: req.section().ttl,
            incomplete_too: self.keep_incomplete,
            waited_on,
        };
        section.keep(&keep).await;
        Ok(Produced {
            section,
            from_cache: false,
        })
    }
}
