//! The OpenAPI 3.1 document, generated from the handlers' annotations and the real response
//! types. Served at `/api/openapi.json` and rendered by the `/docs` page.

use serde::Serialize;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi, ToSchema,
};

use crate::{
    ai::AiStats,
    cache::{breaker::BreakerStats, CacheStats, TierStats, Tiers},
    domain::enterprise::FieldError,
    generation::{
        plan::{PlanOutcome, PlanSection, SectionFailure},
        stream::SectionEvent,
        Generated,
    },
    templates::{FieldKind, FieldSpec, Section, Template},
};

/// The seed's enterprise fields; templates may ask for more (see `GET /api/templates`).
#[derive(Serialize, ToSchema)]
pub struct EnterpriseInfoDoc {
    #[schema(example = "测试企业")]
    pub enterprise_name: String,
    #[schema(example = "化工制造")]
    pub industry_type: String,
    #[schema(example = "北京市朝阳区")]
    pub address: String,
    #[schema(example = "化工产品")]
    pub main_products: String,
    #[schema(example = 100, minimum = 1)]
    pub employees_count: i64,
}

#[derive(Serialize, ToSchema)]
pub struct GenerateData {
    pub enterprise_info: EnterpriseInfoDoc,
}

/// A request to write one section.
#[derive(Serialize, ToSchema)]
pub struct GenerateBody {
    #[schema(example = "emergency_plan")]
    pub template_id: String,
    /// A string or an integer.
    #[schema(example = "2")]
    pub section_id: String,
    pub data: GenerateData,
    /// Skip the cache and write a fresh answer.
    #[schema(default = false)]
    pub refresh: Option<bool>,
    /// The plan's 企业概况 text, given to the prompt so the sections agree (at most 8000 characters).
    pub context: Option<String>,
}

/// A request to write every section of a plan.
#[derive(Serialize, ToSchema)]
pub struct PlanBody {
    #[schema(example = "emergency_plan")]
    pub template_id: String,
    pub data: GenerateData,
    /// Skip the cache and write every section afresh.
    #[schema(default = false)]
    pub refresh: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct PlanResponse {
    #[schema(example = true)]
    pub success: bool,
    #[serde(flatten)]
    pub plan: PlanOutcome,
}

#[derive(Serialize, ToSchema)]
pub struct GenerateResponse {
    #[schema(example = true)]
    pub success: bool,
    #[serde(flatten)]
    pub section: Generated,
}

#[derive(Serialize, ToSchema)]
pub struct StatsResponse {
    pub success: bool,
    pub stats: CacheStats,
    pub ai: AiStats,
}

#[derive(Serialize, ToSchema)]
pub struct ClearResponse {
    pub success: bool,
    #[schema(example = 5)]
    pub removed: u64,
    #[schema(example = "已清除 5 条缓存")]
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct TemplatesResponse {
    pub success: bool,
    pub templates: Vec<Template>,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "VALIDATION_ERROR")]
    pub code: String,
    #[schema(example = "请填写企业名称（data.enterprise_info.enterprise_name）")]
    pub message: String,
    /// Present for validation errors: every rejected field.
    pub details: Option<Vec<FieldError>>,
}

/// Every error: `success` is false.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    #[schema(example = false)]
    pub success: bool,
    pub error: ErrorBody,
}

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
        super::handlers::generate,
        super::handlers::generate_stream,
        super::handlers::generate_plan,
        super::handlers::cache_stats,
        super::handlers::clear_cache,
        super::handlers::templates,
    ),
    components(schemas(
        GenerateBody, GenerateResponse, StatsResponse, ClearResponse, TemplatesResponse,
        ErrorResponse, ErrorBody, FieldError, CacheStats, Tiers, TierStats, BreakerStats, AiStats,
        Template, Section, FieldSpec, FieldKind, Generated, PlanBody, PlanResponse, PlanOutcome,
        PlanSection, SectionFailure, SectionEvent
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags((name = "ai", description = "生成与缓存"))
)]
pub struct ApiDoc;

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned())
}
