//! The OpenAPI document reduced to what the `/docs` page lists.

use serde_json::Value;

use crate::model::{DocsView, OperationView, ResponseView, SchemaView};

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// `#/components/schemas/Name` → `Name`, of the first media type.
fn schema_name(content: Option<&Value>) -> Option<String> {
    content?
        .as_object()?
        .values()
        .next()?
        .get("schema")?
        .get("$ref")?
        .as_str()?
        .rsplit('/')
        .next()
        .map(str::to_owned)
}

pub fn view(document: &str) -> DocsView {
    let doc: Value = serde_json::from_str(document).unwrap_or_default();
    let info = doc.get("info").cloned().unwrap_or_default();
    let mut operations = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, methods) in paths {
            let Some(methods) = methods.as_object() else {
                continue;
            };
            for (method, op) in methods {
                let mut responses: Vec<ResponseView> = op
                    .get("responses")
                    .and_then(Value::as_object)
                    .map(|r| {
                        r.iter()
                            .map(|(status, resp)| ResponseView {
                                status: status.clone(),
                                description: text(resp, "description"),
                                schema: schema_name(resp.get("content")),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                responses.sort_by(|a, b| a.status.cmp(&b.status));
                operations.push(OperationView {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    request_schema: schema_name(
                        op.get("requestBody").and_then(|b| b.get("content")),
                    ),
                    responses,
                });
            }
        }
    }
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(name, schema)| SchemaView {
                    name: name.clone(),
                    json: serde_json::to_string_pretty(schema).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    DocsView {
        title: text(&info, "title"),
        description: text(&info, "description"),
        version: text(&info, "version"),
        operations,
        schemas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_document_lists_the_routes() {
        let registry = crate::templates::Registry::load(None).unwrap();
        let docs = view(&crate::api::openapi::document(&registry));
        let routes: Vec<_> = docs
            .operations
            .iter()
            .map(|o| format!("{} {}", o.method, o.path))
            .collect();
        for route in [
            "POST /api/ai/generate",
            "GET /api/ai/cache/stats",
            "DELETE /api/ai/cache",
        ] {
            assert!(routes.contains(&route.to_owned()), "{routes:?}");
        }
        let generate = docs
            .operations
            .iter()
            .find(|o| o.path == "/api/ai/generate")
            .unwrap();
        assert_eq!(generate.request_schema.as_deref(), Some("GenerateBody"));
        assert!(generate
            .responses
            .iter()
            .any(|r| r.status == "422" && r.schema.as_deref() == Some("ErrorResponse")));
        assert!(docs.schemas.iter().any(|s| s.name == "CacheStats"));
    }
}
