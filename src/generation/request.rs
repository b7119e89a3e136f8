//! Requests to write a section, read from JSON with every problem named in Chinese.

use serde_json::Value;

use crate::domain::enterprise::FieldError;

/// The longest context (the plan's 企业概况 text) a request may carry.
pub const MAX_CONTEXT_CHARS: usize = 8_000;

/// A context as given: trimmed, `None` when blank, rejected when too long.
pub fn check_context(raw: &str) -> Result<Option<String>, FieldError> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_CONTEXT_CHARS {
        return Err(FieldError {
            field: "context".into(),
            message: format!("context 不能超过 {MAX_CONTEXT_CHARS} 字"),
        });
    }
    Ok(Some(trimmed.to_owned()).filter(|s| !s.is_empty()))
}

/// A context cut to the allowed length, for text this service wrote itself.
pub fn clip_context(text: &str) -> String {
    text.trim().chars().take(MAX_CONTEXT_CHARS).collect()
}

/// A request to write one section, as the API and the pages receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    pub template_id: String,
    pub section_id: String,
    pub data: Value,
    /// Skip the cache lookup and write a fresh answer (the "重新生成" button).
    pub refresh: bool,
    /// Text of the plan's context section (企业概况), given to the prompt so the sections of one
    /// plan agree; part of the cache key.
    pub context: Option<String>,
}

impl GenerateRequest {
    /// Reads the JSON body, naming each missing or mistyped field in Chinese.
    pub fn from_json(body: Value) -> Result<Self, Vec<FieldError>> {
        Self::read(body, true)
    }

    /// Reads a request for every section of a plan: the same body without `section_id` (the
    /// result's `section_id` is empty) and without `context`.
    pub fn plan_from_json(body: Value) -> Result<Self, Vec<FieldError>> {
        Self::read(body, false).map(|mut request| {
            request.context = None;
            request
        })
    }

    /// Takes the body by value: the enterprise data moves into the request, uncopied.
    fn read(body: Value, with_section: bool) -> Result<Self, Vec<FieldError>> {
        let Value::Object(mut obj) = body else {
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
        let section_id = if with_section {
            id("section_id")
        } else {
            Some(String::new())
        };
        let data = match obj.remove("data") {
            Some(v @ Value::Object(_)) => Some(v),
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
        let context = match obj.get("context") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match check_context(s) {
                Ok(context) => context,
                Err(problem) => {
                    errors.push(problem);
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError {
                    field: "context".into(),
                    message: "context 应为字符串".into(),
                });
                None
            }
        };
        match (template_id, section_id, data) {
            (Some(template_id), Some(section_id), Some(data)) if errors.is_empty() => Ok(Self {
                template_id,
                section_id,
                data,
                refresh,
                context,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_accepts_the_seed_shape_and_numeric_section() {
        let r = GenerateRequest::from_json(json!({
            "template_id": "emergency_plan", "section_id": 2, "data": {"enterprise_info": {}}
        }))
        .unwrap();
        assert_eq!(r.section_id, "2");
        assert!(!r.refresh);
        assert_eq!(r.context, None);
    }

    #[test]
    fn request_errors_name_every_field() {
        let errors = GenerateRequest::from_json(
            json!({"section_id": [], "data": 3, "refresh": "yes", "context": 1}),
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["template_id", "section_id", "data", "refresh", "context"]
        );
        assert_eq!(errors[0].message, "缺少 template_id");
    }
}
