//! Generating one section: check the request against the registry, look in the cache, ask the
//! model on a miss, store only a successful answer.
//!
//! Against stampedes, concurrent identical misses share one model call: inside a process through
//! a single flight, across instances through a Redis lock whose waiters take the owner's answer
//! from the cache. When the model fails, an expired entry still inside its grace period is
//! served instead, marked `stale`.

pub mod single_flight;

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use self::single_flight::SingleFlight;
use crate::{
    ai::{AiError, AiService, GenerateInput},
    cache::{key::generation_key, CacheService, LockAttempt, Lookup},
    domain::enterprise::{EnterpriseInfo, FieldError},
    prompt,
    templates::{Registry, Section, Template},
};

/// How often a waiter looks for the lock owner's answer.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// A request to write one section, as the API and the pages receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    pub template_id: String,
    pub section_id: String,
    pub data: Value,
    /// Skip the cache lookup and write a fresh answer (the "重新生成" button).
    pub refresh: bool,
}

impl GenerateRequest {
    /// Reads the JSON body, naming each missing or mistyped field in Chinese.
    pub fn from_json(body: &Value) -> Result<Self, Vec<FieldError>> {
        let Some(obj) = body.as_object() else {
            return Err(vec![FieldError {
                field: "body".into(),
                message: "请求体应为 JSON 对象".into(),
            }]);
        };
        let mut errors = Vec::new();
        let mut id = |name: &str| match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            None | Some(Value::Null) => {
                errors.push(FieldError {
                    field: name.into(),
                    message: format!("缺少 {name}"),
                });
                None
            }
            Some(_) => {
                errors.push(FieldError {
                    field: name.into(),
                    message: format!("{name} 应为非空字符串"),
                });
                None
            }
        };
        let template_id = id("template_id");
        let section_id = id("section_id");
        let data = match obj.get("data") {
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                errors.push(FieldError {
                    field: "data".into(),
                    message: "data 应为对象".into(),
                });
                None
            }
            None => {
                errors.push(FieldError {
                    field: "data".into(),
                    message: "缺少 data（企业信息）".into(),
                });
                None
            }
        };
        let refresh = match obj.get("refresh") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(FieldError {
                    field: "refresh".into(),
                    message: "refresh 应为 true 或 false".into(),
                });
                false
            }
        };
        match (template_id, section_id, data) {
            (Some(template_id), Some(section_id), Some(data)) if errors.is_empty() => Ok(Self {
                template_id,
                section_id,
                data,
                refresh,
            }),
            _ => Err(errors),
        }
    }
}

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

/// What the cache holds for a section.
#[derive(Clone, Serialize, Deserialize)]
struct CachedSection {
    content: String,
    model: String,
    generated_at: u64,
}

impl CachedSection {
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
}

/// Everything a flight needs, owned, so it can outlive the request that started it.
struct Job {
    cache: Arc<CacheService>,
    ai: Arc<AiService>,
    template: Template,
    section: Section,
    info: EnterpriseInfo,
    key: String,
    refresh: bool,
}

impl GenerationService {
    pub fn new(registry: Arc<Registry>, cache: Arc<CacheService>, ai: Arc<AiService>) -> Self {
        Self {
            registry,
            cache,
            ai,
            flights: Arc::new(SingleFlight::default()),
        }
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

    pub async fn generate(&self, req: &GenerateRequest) -> Result<Generated, GenerationError> {
        let started = Instant::now();
        let template = self
            .registry
            .template(&req.template_id)
            .ok_or_else(|| GenerationError::UnknownTemplate(req.template_id.clone()))?;
        let section =
            template
                .section(&req.section_id)
                .ok_or_else(|| GenerationError::UnknownSection {
                    template: req.template_id.clone(),
                    section: req.section_id.clone(),
                })?;
        let info = EnterpriseInfo::parse(template, &req.data).map_err(GenerationError::Invalid)?;
        let key = generation_key(
            self.cache.prefix(),
            &template.id,
            &section.id,
            &info,
            self.ai.model(),
            &prompt::version(template, section),
        );
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

        let mut stale = None;
        if !req.refresh {
            match self.cache.get(&key).await {
                Lookup::Fresh(raw) => {
                    if let Some(hit) = CachedSection::parse(&raw) {
                        return Ok(answer(hit, true, false));
                    }
                }
                Lookup::Stale(raw) => stale = CachedSection::parse(&raw),
                Lookup::Miss => {}
            }
        }

        let job = Job {
            cache: self.cache.clone(),
            ai: self.ai.clone(),
            template: template.clone(),
            section: section.clone(),
            info,
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

impl Job {
    /// Takes the cross-instance lock and generates, or waits for the instance that holds it.
    async fn run(self) -> FlightResult {
        // Long enough for the owner's every attempt and wait; it expires if the owner dies.
        let lock_ttl = self.ai.worst_case() + Duration::from_secs(5);
        // A waiter whose owner failed tries to take over; bounded so nothing loops forever.
        for _ in 0..3 {
            match self.cache.lock(&self.key, lock_ttl).await {
                LockAttempt::Held(token) => {
                    let result = match self.cached_meanwhile().await {
                        Some(produced) => Ok(produced),
                        None => self.generate().await,
                    };
                    self.cache.unlock(token).await;
                    return result;
                }
                LockAttempt::Unavailable => return self.generate().await,
                LockAttempt::Busy => {
                    if let Some(produced) = self.wait_for_owner(lock_ttl).await? {
                        return Ok(produced);
                    }
                }
            }
        }
        Err(GenerationError::Busy)
    }

    /// An answer another instance stored between our miss and our taking the lock.
    async fn cached_meanwhile(&self) -> Option<Produced> {
        if self.refresh {
            return None;
        }
        let raw = self.cache.peek_fresh(&self.key).await?;
        CachedSection::parse(&raw).map(|section| Produced {
            section,
            from_cache: true,
        })
    }

    /// Polls for the owner's answer. `Ok(None)`: the lock is gone without an answer (the owner
    /// failed or Redis went away), so the caller should try again.
    async fn wait_for_owner(
        &self,
        lock_ttl: Duration,
    ) -> Result<Option<Produced>, GenerationError> {
        let deadline = Instant::now() + lock_ttl;
        while Instant::now() < deadline {
            tokio::time::sleep(LOCK_POLL).await;
            if let Some(raw) = self.cache.peek_fresh(&self.key).await {
                if let Some(section) = CachedSection::parse(&raw) {
                    return Ok(Some(Produced {
                        section,
                        from_cache: true,
                    }));
                }
            }
            if self.cache.lock_held(&self.key).await != Some(true) {
                return Ok(None);
            }
        }
        Err(GenerationError::Busy)
    }

    async fn generate(&self) -> FlightResult {
        let prompt = prompt::build(&self.template, &self.section, &self.info);
        let content = self
            .ai
            .generate(GenerateInput {
                template: &self.template,
                section: &self.section,
                info: &self.info,
                prompt: &prompt,
            })
            .await?;
        let section = CachedSection {
            content,
            model: self.ai.model().to_owned(),
            generated_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        };
        if let Ok(raw) = serde_json::to_string(&section) {
            self.cache.set(&self.key, &raw, self.section.ttl).await;
        }
        Ok(Produced {
            section,
            from_cache: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_accepts_the_seed_shape_and_numeric_section() {
        let r = GenerateRequest::from_json(&json!({
            "template_id": "emergency_plan", "section_id": 2, "data": {"enterprise_info": {}}
        }))
        .unwrap();
        assert_eq!(r.section_id, "2");
        assert!(!r.refresh);
    }

    #[test]
    fn request_errors_name_every_field() {
        let errors =
            GenerateRequest::from_json(&json!({"section_id": [], "data": 3, "refresh": "yes"}))
                .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["template_id", "section_id", "data", "refresh"]);
        assert_eq!(errors[0].message, "缺少 template_id");
    }
}
