//! Generating one section: check the request against the registry, look in the cache, ask the
//! model on a miss, store only a successful answer.
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

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

pub use self::request::GenerateRequest;
use self::{
    key::{generation_key, KeyParts},
    single_flight::SingleFlight,
};
use crate::{
    ai::{AiError, AiService, GenerateInput},
    cache::{redis::LockToken, CacheService, LockAttempt, Lookup},
    domain::enterprise::{EnterpriseInfo, FieldError},
    prompt,
    templates::{Registry, Section, Template},
};

/// How often a waiter looks for the lock owner's answer.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// A generated (or cached) section.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Generated {
    pub content: String,
    pub section_title: String,
    pub cached: bool,
    /// An expired entry served because the model failed.
    pub stale: bool,
    pub template_id: String,
    pub section_id: String,
    pub model: String,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum GenerationError {
    #[error("模板 {0} 不存在")]
    UnknownTemplate(String),
    #[error("模板 {template} 中没有章节 {section}")]
    UnknownSection { template: String, section: String },
    #[error("企业信息有误")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Ai(#[from] AiError),
    #[error("另一个实例正在生成相同的章节，等待超时，请稍后重试")]
    Busy,
}

impl GenerationError {
    /// The stable code the API reports this failure under.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTemplate(_) => "TEMPLATE_NOT_FOUND",
            Self::UnknownSection { .. } => "SECTION_NOT_FOUND",
            Self::Invalid(_) => "VALIDATION_ERROR",
            Self::Busy => "GENERATION_BUSY",
            Self::Ai(ai) if ai.is_timeout() => "AI_TIMEOUT",
            Self::Ai(_) => "AI_UPSTREAM_ERROR",
        }
    }
}

/// What the cache holds for a section.
#[derive(Clone, Serialize, Deserialize)]
struct CachedSection {
    content: String,
    model: String,
    generated_at: u64,
}

impl CachedSection {
    fn new(content: String, model: &str) -> Self {
        Self {
            content,
            model: model.to_owned(),
            generated_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        }
    }

    async fn store(&self, cache: &CacheService, key: &str, ttl: Duration) {
        if let Ok(raw) = serde_json::to_string(self) {
            cache.set(key, &raw, ttl).await;
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        serde_json::from_str(raw)
            .map_err(|e| tracing::warn!("缓存条目无法解析，按未命中处理: {e}"))
            .ok()
    }
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
    ai: Arc<AiService>,
    flights: Arc<SingleFlight<FlightResult>>,
    /// How many sections of one plan are written at once.
    plan_concurrency: usize,
    /// `prompt::version` of every section, by template and section position: part of every
    /// cache key, so worked out once.
    prompt_versions: Vec<Vec<String>>,
}

/// Everything a flight needs, owned, so it can outlive the request that started it.
struct Job {
    cache: Arc<CacheService>,
    ai: Arc<AiService>,
    template: Template,
    section: Section,
    info: EnterpriseInfo,
    context: Option<String>,
    key: String,
    refresh: bool,
}

impl GenerationService {
    pub fn new(registry: Arc<Registry>, cache: Arc<CacheService>, ai: Arc<AiService>) -> Self {
        let prompt_versions = registry
            .templates()
            .iter()
            .map(|t| t.sections.iter().map(|s| prompt::version(t, s)).collect())
            .collect();
        Self {
            prompt_versions,
            registry,
            cache,
            ai,
            flights: Arc::new(SingleFlight::default()),
            plan_concurrency: 3,
        }
    }

    /// How many sections of one plan are written at the same time (at least one).
    pub fn with_plan_concurrency(mut self, n: usize) -> Self {
        self.plan_concurrency = n.max(1);
        self
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn cache(&self) -> &CacheService {
        &self.cache
    }

    pub fn ai(&self) -> &AiService {
        &self.ai
    }

    /// Checks a request against the registry and works out its cache key.
    fn prepare<'a>(&'a self, req: &GenerateRequest) -> Result<Prepared<'a>, GenerationError> {
        let (t, template) = self
            .registry
            .templates()
            .iter()
            .enumerate()
            .find(|(_, t)| t.id == req.template_id)
            .ok_or_else(|| GenerationError::UnknownTemplate(req.template_id.clone()))?;
        let (s, section) = template
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| s.id == req.section_id)
            .ok_or_else(|| GenerationError::UnknownSection {
                template: req.template_id.clone(),
                section: req.section_id.clone(),
            })?;
        let info = EnterpriseInfo::parse(template, &req.data).map_err(GenerationError::Invalid)?;
        let key = generation_key(
            self.cache.prefix(),
            &KeyParts {
                template: &template.id,
                section: &section.id,
                info: &info,
                model: self.ai.model(),
                prompt_version: &self.prompt_versions[t][s],
                context: req.context.as_deref(),
            },
        );
        Ok(Prepared {
            template,
            section,
            info,
            key,
        })
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
            Lookup::Fresh(raw) => (CachedSection::parse(&raw), None),
            Lookup::Stale(raw) => (None, CachedSection::parse(&raw)),
            Lookup::Miss => (None, None),
        }
    }

    pub async fn generate(&self, req: &GenerateRequest) -> Result<Generated, GenerationError> {
        let started = Instant::now();
        let Prepared {
            template,
            section,
            info,
            key,
        } = self.prepare(req)?;
        let answer = |entry: CachedSection, cached: bool, stale: bool| Generated {
            content: entry.content,
            section_title: section.title.clone(),
            cached,
            stale,
            template_id: template.id.clone(),
            section_id: section.id.clone(),
            model: entry.model,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };

        let (fresh, stale) = self.cached(&key, req.refresh).await;
        if let Some(hit) = fresh {
            return Ok(answer(hit, true, false));
        }

        let job = Job {
            cache: self.cache.clone(),
            ai: self.ai.clone(),
            template: template.clone(),
            section: section.clone(),
            info,
            context: req.context.clone(),
            key: key.clone(),
            refresh: req.refresh,
        };
        let flight_key = if req.refresh {
            format!("{key}#refresh")
        } else {
            key
        };
        match (self.flights.run(flight_key, job.run()).await, stale) {
            (Ok(produced), _) => Ok(answer(produced.section, produced.from_cache, false)),
            (Err(GenerationError::Ai(e)), Some(old)) => {
                tracing::warn!("AI 生成失败，返回过期缓存: {}", e.log_detail());
                self.cache.record_stale_served();
                Ok(answer(old, true, true))
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// A request checked against the registry.
struct Prepared<'a> {
    template: &'a Template,
    section: &'a Section,
    info: EnterpriseInfo,
    key: String,
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
    Writer(Option<LockToken>),
}

/// Takes the cross-instance lock on `key`, or waits for the instance holding it and takes its
/// answer. A waiter whose owner vanished without an answer tries again, a bounded number of
/// times. `refresh` asks for a new answer, so an entry stored meanwhile does not count.
async fn claim(
    cache: &CacheService,
    key: &str,
    lock_ttl: Duration,
    refresh: bool,
) -> Result<Claim, GenerationError> {
    for _ in 0..3 {
        match cache.lock(key, lock_ttl).await {
            LockAttempt::Held(token) => {
                let meanwhile = if refresh {
                    None
                } else {
                    cache
                        .peek_fresh(key)
                        .await
                        .and_then(|raw| CachedSection::parse(&raw))
                };
                return Ok(match meanwhile {
                    Some(section) => {
                        cache.unlock(token).await;
                        Claim::Answered(section)
                    }
                    None => Claim::Writer(Some(token)),
                });
            }
            LockAttempt::Unavailable => return Ok(Claim::Writer(None)),
            LockAttempt::Busy => {
                if let Some(section) = wait_for_owner(cache, key, lock_ttl).await? {
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
    key: &str,
    lock_ttl: Duration,
) -> Result<Option<CachedSection>, GenerationError> {
    let deadline = Instant::now() + lock_ttl;
    while Instant::now() < deadline {
        tokio::time::sleep(LOCK_POLL).await;
        if let Some(section) = cache
            .peek_fresh(key)
            .await
            .and_then(|raw| CachedSection::parse(&raw))
        {
            return Ok(Some(section));
        }
        if cache.lock_held(key).await != Some(true) {
            return Ok(None);
        }
    }
    Err(GenerationError::Busy)
}

impl Job {
    /// Takes the cross-instance lock and generates, or takes the lock owner's answer.
    async fn run(self) -> FlightResult {
        let lock_ttl = lock_ttl(&self.ai);
        match claim(&self.cache, &self.key, lock_ttl, self.refresh).await? {
            Claim::Answered(section) => Ok(Produced {
                section,
                from_cache: true,
            }),
            Claim::Writer(lock) => {
                let result = self.generate().await;
                if let Some(token) = lock {
                    self.cache.unlock(token).await;
                }
                result
            }
        }
    }

    async fn generate(&self) -> FlightResult {
        let prompt = prompt::build(
            &self.template,
            &self.section,
            &self.info,
            self.context.as_deref(),
        );
        let content = self
            .ai
            .generate(GenerateInput {
                template: &self.template,
                section: &self.section,
                info: &self.info,
                prompt: &prompt,
                context: self.context.as_deref(),
            })
            .await?;
        let section = CachedSection::new(content, self.ai.model());
        section
            .store(&self.cache, &self.key, self.section.ttl)
            .await;
        Ok(Produced {
            section,
            from_cache: false,
        })
    }
}
