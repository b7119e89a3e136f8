//! The OpenAPI 3.1 document, generated from the handlers' annotations and the very types they
//! read and answer with, then narrowed by the template registry: each template's request body
//! names its own sections and the rules of its own fields (`domain::enterprise::info_schema`).
//! Served at `/api/openapi.json` and rendered by the `/docs` page.

use serde_json::{json, Value};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use super::{
    enterprises,
    error::{ErrorBody, ErrorResponse},
    handlers, jobs, plans,
    responses::{ClearResponse, GenerateResponse, PlanResponse, StatsResponse, TemplatesResponse},
};
use crate::{
    domain::enterprise::info_schema,
    generation::Generated,
    model::{
        profile, AiStats, BreakerStats, CacheStats, DiffKind, DiffRow, DiffSpan, DuplicatePlan,
        EnterpriseData, FieldKind, FieldProblem, FieldSpec, GenerateBody, InstanceView, JobRequest,
        JobState, NewPlan, NewVersion, Plan, PlanBody, PlanEvent, PlanFromData, PlanFromProfile,
        PlanJob, PlanMeta, PlanOutcome, PlanSection, PlanSummary, PlanUpdate, PlanVersion,
        SavedPlan, SavedSection, Scope, SectionDiff, SectionEvent, SectionFailure, SectionOutcome,
        SectionStatus, Spend, TierStats, Tiers, UsageStats, UserLimits, UserUsage, VersionKind,
        VersionSummary,
    },
    templates::{Registry, Section, Template},
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "ADMIN_TOKEN 或 USER_TOKENS 中的令牌；清除缓存需要管理员令牌",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yueen 应急预案编写 API",
        description = "根据企业信息生成 GB/T 29639-2020 应急预案章节；Redis 或内存缓存，OpenAI 兼容模型。"
    ),
    paths(
        handlers::generate,
        handlers::generate_stream,
        handlers::generate_plan,
        handlers::cache_stats,
        handlers::clear_cache,
        handlers::templates,
        plans::list,
        plans::create,
        plans::get,
        plans::update,
        plans::delete,
        plans::undelete,
        plans::duplicate,
        plans::versions,
        plans::save_version,
        plans::version,
        plans::restore,
        plans::diff,
        plans::export_docx,
        plans::export_markdown,
        jobs::generate,
        jobs::job,
        jobs::cancel,
        jobs::events,
        enterprises::list,
        enterprises::create,
        enterprises::get,
        enterprises::update,
        enterprises::delete,
    ),
    components(schemas(
        GenerateBody, PlanBody, GenerateResponse, StatsResponse, ClearResponse, TemplatesResponse,
        ErrorResponse, ErrorBody, FieldProblem, CacheStats, Tiers, TierStats, BreakerStats, AiStats,
        Template, Section, FieldSpec, FieldKind, Generated, PlanResponse, PlanOutcome,
        crate::model::ElementSpec, crate::model::ElementCheck, crate::model::SectionCheck,
        PlanSection, SectionStatus, SectionFailure, SectionEvent, UsageStats, Spend, UserUsage,
        UserLimits, Scope, InstanceView, Plan, PlanMeta, EnterpriseData, SavedPlan, PlanSummary, VersionSummary,
        VersionKind, PlanVersion, NewPlan, PlanUpdate, NewVersion, DuplicatePlan, SectionDiff,
        DiffRow, DiffSpan, DiffKind, plans::PlanListResponse, plans::SavedPlanResponse,
        plans::VersionListResponse, plans::VersionResponse, plans::NewVersionResponse,
        plans::DiffResponse, plans::DeletedResponse, plans::Sort, plans::CreatePlanBody,
        PlanFromData, PlanFromProfile, JobRequest, PlanJob, JobState, jobs::JobResponse, PlanEvent, SavedSection,
        SectionOutcome, profile::Profile, profile::Basics, profile::Scale, profile::Organization,
        profile::OrgMember, profile::OrgRole, profile::WorkGroup, profile::RiskUnit,
        profile::RiskLevel, profile::Resources, profile::Equipment, profile::Team,
        profile::ExternalResource, profile::ExternalKind, profile::SensitiveTarget,
        profile::KeyPost, profile::SavedProfile, profile::ProfileSummary, profile::NewProfile,
        profile::ProfileUpdate, enterprises::ProfileListResponse, enterprises::ProfileResponse,
        enterprises::ProfileDeletedResponse
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "ai", description = "生成与缓存"),
        (name = "plans", description = "保存的预案与版本：只对令牌所属的用户可见"),
        (name = "enterprises", description = "企业档案：预案所依据的企业事实（人员、电话、资源、风险、岗位），只对令牌所属的用户可见")
    )
)]
struct ApiDoc;

/// The document as JSON text, for `registry`.
pub fn document(registry: &Registry) -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    narrow_to_registry(&mut doc, registry);
    narrow_profile(&mut doc, registry);
    frame_events(&mut doc);
    frame_plan_events(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned())
}

/// A Server-Sent Events response carries each `SectionEvent` as a message: the event's name
/// in `event`, the event as JSON text in `data`. Every response documented with the
/// `text/event-stream` type describes its messages that way.
fn frame_events(doc: &mut Value) {
    let Some(variants) = doc
        .pointer("/components/schemas/SectionEvent/oneOf")
        .and_then(Value::as_array)
        .cloned()
    else {
        return;
    };
    let messages: Vec<Value> = variants
        .iter()
        .filter_map(|variant| {
            let name = variant.pointer("/properties/type/enum/0")?.clone();
            Some(json!({
                "type": "object",
                "description": variant.get("description").cloned().unwrap_or_default(),
                "required": ["event", "data"],
                "properties": {
                    "event": { "type": "string", "enum": [name] },
                    "data": {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": variant,
                    },
                },
            }))
        })
        .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            "SectionEventMessage".to_owned(),
            json!({
                "description": "流式响应中的一条消息：event 为事件名，data 为该事件（SectionEvent）的 JSON 文本",
                "oneOf": messages,
            }),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for method in operation.values_mut() {
            let Some(responses) = method.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for response in responses.values_mut() {
                if let Some(stream) = response.pointer_mut("/content/text~1event-stream") {
                    stream["schema"] =
                        json!({ "$ref": "#/components/schemas/SectionEventMessage" });
                }
            }
        }
    }
}

/// The plan's event stream (`/api/plans/{id}/events`) carries three kinds of message, each
/// with its id: a section's piece (`PlanEvent`), a saved section (`SavedSection`) and the job
/// (`PlanJob`).
fn frame_plan_events(doc: &mut Value) {
    let messages: Vec<Value> = [
        ("section", "PlanEvent", "章节生成中的片段"),
        ("saved", "SavedSection", "章节已写入预案"),
        ("job", "PlanJob", "任务状态"),
    ]
    .iter()
    .map(|(name, schema, description)| {
        json!({
            "type": "object",
            "description": description,
            "required": ["id", "event", "data"],
            "properties": {
                "id": { "type": "string", "pattern": "^[0-9]{1,20}-[0-9]{1,20}$" },
                "event": { "type": "string", "enum": [name] },
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": { "$ref": format!("#/components/schemas/{schema}") },
                },
            },
        })
    })
    .collect();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert(
            "PlanFeedMessage".to_owned(),
            json!({
                "description": "预案事件流中的一条消息：id 为事件 id（断线重连时放在 Last-Event-ID 中），event 为事件名，data 为事件内容的 JSON 文本",
                "oneOf": messages,
            }),
        );
    }
    if let Some(stream) = doc.pointer_mut(
        "/paths/~1api~1plans~1{id}~1events/get/responses/200/content/text~1event-stream",
    ) {
        stream["schema"] = json!({ "$ref": "#/components/schemas/PlanFeedMessage" });
    }
}

/// Replaces the general request bodies by one variant per template, telling the template's
/// sections and fields; the general pieces they replace leave the document.
/// What a profile's fields take, beyond their types: names that are not blank, phone numbers
/// in the form they are kept in, accident categories from the registry. Rules across rows (a
/// person listed twice, two commanders, a group nobody declared) no schema can state; they are
/// answered 422 with each row named.
fn narrow_profile(doc: &mut Value, registry: &Registry) {
    use crate::{domain::enterprise::white_space_class, model::profile_check::PHONE_PATTERN};
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let not_blank = json!(format!("[^{}]", white_space_class()));
    let phone = json!(PHONE_PATTERN);
    let phone_or_none = json!(format!("^$|{PHONE_PATTERN}"));
    let categories: Vec<Value> = registry
        .risk()
        .categories
        .iter()
        .map(|c| json!(c))
        .collect();
    let rules: &[(&str, &str, &str, &Value)] = &[
        ("Basics", "enterprise_name", "pattern", &not_blank),
        ("Basics", "duty_phone", "pattern", &phone_or_none),
        (
            "Basics",
            "credit_code",
            "pattern",
            &json!("^(?:[0-9A-Za-z]{18})?$"),
        ),
        ("OrgMember", "name", "pattern", &not_blank),
        ("OrgMember", "mobile", "pattern", &phone),
        ("WorkGroup", "name", "pattern", &not_blank),
        ("RiskUnit", "unit", "pattern", &not_blank),
        ("RiskUnit", "category", "enum", &json!(categories)),
        ("Equipment", "name", "pattern", &not_blank),
        ("Equipment", "unit", "pattern", &not_blank),
        ("Equipment", "location", "pattern", &not_blank),
        ("Equipment", "phone", "pattern", &phone_or_none),
        ("Team", "name", "pattern", &not_blank),
        ("Team", "phone", "pattern", &phone_or_none),
        ("ExternalResource", "name", "pattern", &not_blank),
        ("ExternalResource", "phone", "pattern", &phone_or_none),
        ("SensitiveTarget", "name", "pattern", &not_blank),
        ("KeyPost", "post", "pattern", &not_blank),
    ];
    for (schema, property, keyword, value) in rules {
        if let Some(target) = schemas
            .get_mut(*schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{property}")))
            .and_then(Value::as_object_mut)
        {
            target.insert((*keyword).to_owned(), (*value).clone());
        }
    }
    if let Some(items) = schemas
        .get_mut("KeyPost")
        .and_then(|s| s.pointer_mut("/properties/risks/items"))
        .and_then(Value::as_object_mut)
    {
        items.insert("enum".into(), json!(categories));
    }
    if let Some(risks) = schemas
        .get_mut("KeyPost")
        .and_then(|s| s.pointer_mut("/properties/risks"))
        .and_then(Value::as_object_mut)
    {
        risks.insert("uniqueItems".into(), json!(true));
    }
}

fn narrow_to_registry(doc: &mut Value, registry: &Registry) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for body in [
        "GenerateBody",
        "PlanBody",
        "PlanFromData",
        "PlanFromProfile",
    ] {
        let Some(general) = schemas.remove(body) else {
            continue;
        };
        let mut variants = Vec::new();
        let mut mapping = serde_json::Map::new();
        for template in registry.templates() {
            let name = format!("{body}.{}", template.id);
            let reference = format!("#/components/schemas/{name}");
            let asked = body == "PlanFromProfile";
            schemas.insert(name, variant(&general, template, asked));
            variants.push(json!({ "$ref": reference }));
            mapping.insert(template.id.clone(), json!(reference));
        }
        schemas.insert(
            body.to_owned(),
            json!({
                "description": general.get("description").cloned().unwrap_or_default(),
                "oneOf": variants,
                "discriminator": { "propertyName": "template_id", "mapping": mapping },
            }),
        );
    }
    for template in registry.templates() {
        let info = info_schema(template);
        // What a plan made from a profile adds: only the field the profile cannot say.
        let mut asked = info.clone();
        asked["required"] = json!(scope_field(template).into_iter().collect::<Vec<_>>());
        asked["description"] = json!(format!(
            "“{}”的企业信息中企业档案没有的部分；与档案重复的键以档案为准（范围字段除外）",
            template.name
        ));
        schemas.insert(format!("EnterpriseInfo.{}", template.id), info);
        schemas.insert(format!("EnterpriseInfoAsked.{}", template.id), asked);
    }
    // A plan saved through the API is of one of this server's templates.
    let ids: Vec<Value> = registry.templates().iter().map(|t| json!(t.id)).collect();
    if let Some(template_id) = schemas
        .get_mut("Plan")
        .and_then(|p| p.pointer_mut("/properties/template_id"))
    {
        template_id["enum"] = Value::Array(ids);
    }
    // The general pieces leave, unless something else still refers to them (a saved plan
    // holds the enterprise data as it was sent, whatever its template).
    let text = serde_json::to_string(&*schemas).unwrap_or_default();
    for general in ["EnterpriseData", "FieldInput", "SectionId"] {
        if !text.contains(&format!("\"#/components/schemas/{general}\"")) {
            schemas.remove(general);
        }
    }
}

/// `general` (a request body) for one template: its id, its section ids, its fields.
/// The field a template's scope is read from (a special plan's category, an on-site plan's
/// post), if it has one.
fn scope_field(template: &Template) -> Option<&str> {
    match &template.scope {
        crate::templates::FactScope::Category { field }
        | crate::templates::FactScope::Post { field } => Some(field.as_str()),
        crate::templates::FactScope::Enterprise => None,
    }
}

fn variant(general: &Value, template: &Template, asked: bool) -> Value {
    let mut schema = general.clone();
    if asked && scope_field(template).is_some() {
        if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
            required.push(json!("data"));
        }
    }
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return schema;
    };
    properties.insert(
        "template_id".to_owned(),
        json!({ "type": "string", "enum": [template.id], "description": template.name }),
    );
    if properties.contains_key("section_id") {
        let ids: Vec<&str> = template.sections.iter().map(|s| s.id.as_str()).collect();
        let numbers: Vec<i64> = ids.iter().filter_map(|id| id.parse().ok()).collect();
        let titles: Vec<String> = template
            .sections
            .iter()
            .map(|s| format!("{} {}", s.id, s.title))
            .collect();
        let mut forms = vec![json!({ "type": "string", "enum": ids })];
        if !numbers.is_empty() {
            forms.push(json!({ "type": "integer", "enum": numbers }));
        }
        properties.insert(
            "section_id".to_owned(),
            json!({ "oneOf": forms, "description": titles.join("，") }),
        );
    }
    properties.insert(
        "data".to_owned(),
        json!({
            "type": "object",
            "required": ["enterprise_info"],
            "properties": {
                "enterprise_info": {
                    "$ref": format!(
                        "#/components/schemas/{}.{}",
                        if asked { "EnterpriseInfoAsked" } else { "EnterpriseInfo" },
                        template.id
                    )
                }
            }
        }),
    );
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::from_str(&document(&Registry::load(None).unwrap())).unwrap()
    }

    #[test]
    fn bodies_are_narrowed_per_template() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let body = &schemas["GenerateBody.emergency_plan"];
        assert_eq!(
            body["properties"]["template_id"]["enum"][0],
            "emergency_plan"
        );
        let info = &schemas["EnterpriseInfo.emergency_plan"];
        let required = info["required"].as_array().unwrap();
        assert!(required.contains(&json!("employees_count")));
        assert_eq!(info["properties"]["address"]["anyOf"], Value::Null);
        assert_eq!(info["properties"]["address"]["maxLength"], 200);
        let onsite = &schemas["EnterpriseInfo.onsite_plan"]["required"];
        assert!(onsite
            .as_array()
            .unwrap()
            .contains(&json!("post_or_facility")));
        assert!(schemas.get("SectionId").is_none());
        // The request bodies name each template's fields; only a saved plan, whatever its
        // template, keeps the general enterprise data.
        let bodies = serde_json::to_string(&schemas["GenerateBody.emergency_plan"]).unwrap();
        assert!(!bodies.contains("schemas/EnterpriseData\""), "{bodies}");
        assert_eq!(
            schemas["Plan"]["properties"]["data"]["$ref"],
            "#/components/schemas/EnterpriseData"
        );
    }

    #[test]
    fn the_context_limit_is_the_one_the_server_applies() {
        let doc = doc();
        let context =
            &doc["components"]["schemas"]["GenerateBody.emergency_plan"]["properties"]["context"];
        assert!(
            context.to_string().contains(&format!(
                "\"maxLength\":{}",
                crate::model::MAX_CONTEXT_CHARS
            )),
            "{context}"
        );
    }

    #[test]
    fn streams_are_described_as_messages_carrying_section_events() {
        let doc = doc();
        let stream = &doc["paths"]["/api/ai/generate/stream"]["post"]["responses"]["200"]
            ["content"]["text/event-stream"]["schema"]["$ref"];
        assert_eq!(stream, "#/components/schemas/SectionEventMessage");
        let message = &doc["components"]["schemas"]["SectionEventMessage"];
        let validator = jsonschema::validator_for(message).unwrap();
        let event = crate::model::SectionEvent::Done {
            elapsed_ms: 3,
            check: Default::default(),
        };
        let framed = json!({"event": event.name(), "data": serde_json::to_string(&event).unwrap()});
        assert!(validator.is_valid(&framed), "{framed}");
        assert!(!validator.is_valid(&json!({"event": "finish", "data": "{}"})));
    }

    #[test]
    fn the_plans_event_stream_is_described_message_by_message() {
        let doc = doc();
        let stream = &doc["paths"]["/api/plans/{id}/events"]["get"]["responses"]["200"]["content"]
            ["text/event-stream"]["schema"]["$ref"];
        assert_eq!(stream, "#/components/schemas/PlanFeedMessage");
        let validator =
            jsonschema::validator_for(&doc["components"]["schemas"]["PlanFeedMessage"]).unwrap();
        let event = crate::model::PlanEvent {
            section_id: "2".into(),
            event: crate::model::SectionEvent::Text {
                text: "正文".into(),
            },
        };
        let item = crate::model::FeedItem::Section(event);
        let framed =
            json!({"id": "1700000000000-3", "event": item.name(), "data": item.data().unwrap()});
        assert!(validator.is_valid(&framed), "{framed}");
        let wrong = json!({"id": "1700000000000-3", "event": "finish", "data": "{}"});
        assert!(!validator.is_valid(&wrong));
        // What `data` holds (an annotation the validator leaves to its readers) is the event.
        let data = json!({
            "$ref": "#/components/schemas/PlanEvent",
            "components": doc["components"],
        });
        let data = jsonschema::validator_for(&data).unwrap();
        let parsed: Value = serde_json::from_str(&item.data().unwrap()).unwrap();
        assert!(data.is_valid(&parsed), "{parsed}");
        assert!(!data.is_valid(&json!({"section_id": "2"})));
    }

    #[test]
    fn every_reference_resolves() {
        let doc = doc();
        let text = doc.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let target = reference.split('"').next().unwrap();
            let name = target.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{target} does not resolve"
            );
        }
    }
}
