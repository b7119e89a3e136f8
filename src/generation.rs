//! Generating one section: check the request against the registry, look in the cache, ask the
//! model on a miss, store only a successful answer.

use std::{
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    ai::{AiError, AiService, GenerateInput},
    cache::{key::generation_key, CacheService},
    domain::enterprise::{EnterpriseInfo, FieldError},
    prompt,
    templates::Registry,
};

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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generated {
    pub content: String,
    pub section_title: String,
    pub cached: bool,
    pub template_id: String,
    pub section_id: String,
    pub model: String,
    pub elapsed_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    #[error("模板 {0} 不存在")]
    UnknownTemplate(String),
    #[error("模板 {template} 中没有章节 {section}")]
    UnknownSection { template: String, section: String },
    #[error("企业信息有误")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Ai(#[from] AiError),
}

/// What the cache holds for a section.
#[derive(Serialize, Deserialize)]
struct CachedSection {
    content: String,
    model: String,
    generated_at: u64,
}

pub struct GenerationService {
    registry: Arc<Registry>,
    cache: Arc<CacheService>,
    ai: Arc<AiService>,
}

impl GenerationService {
    pub fn new(registry: Arc<Registry>, cache: Arc<CacheService>, ai: Arc<AiService>) -> Self {
        Self {
            registry,
            cache,
            ai,
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
        let answer = |content: String, model: String, cached: bool| Generated {
            content,
            section_title: section.title.clone(),
            cached,
            template_id: template.id.clone(),
            section_id: section.id.clone(),
            model,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };

        if !req.refresh {
            if let Some(raw) = self.cache.get(&key).await {
                match serde_json::from_str::<CachedSection>(&raw) {
                    Ok(hit) => return Ok(answer(hit.content, hit.model, true)),
                    Err(e) => tracing::warn!("缓存条目 {key} 无法解析，重新生成: {e}"),
                }
            }
        }

        let prompt = prompt::build(template, section, &info);
        let content = self
            .ai
            .generate(GenerateInput {
                template,
                section,
                info: &info,
                prompt: &prompt,
            })
            .await?;
        let entry = CachedSection {
            content,
            model: self.ai.model().to_owned(),
            generated_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
        };
        if let Ok(raw) = serde_json::to_string(&entry) {
            self.cache.set(&key, raw.into(), section.ttl).await;
        }
        Ok(answer(entry.content, entry.model, false))
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
