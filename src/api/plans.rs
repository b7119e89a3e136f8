//! `/api/plans`: the caller's saved plans, their versions, and a saved plan as a file. Thin
//! over `plans::PlanService`; every call is scoped to the token's user, so another user's id
//! answers 404 like one that does not exist.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    error::{ApiError, StoreReadErrors, StoreWriteErrors},
    extract::{parse, ApiPath, ApiQuery, JsonBody},
};
use crate::model::ErrorCode;
use crate::{
    export::{http::download_plan, ExportFormat},
    model::{
        DuplicatePlan, NewPlan, NewVersion, PlanFromData, PlanFromProfile, PlanSummary, PlanUpdate,
        PlanVersion, SavedPlan, SectionDiff, VersionSummary,
    },
    plans::ListParams,
    state::AppState,
};

#[derive(Serialize, ToSchema)]
pub struct PlanListResponse {
    #[schema(example = true)]
    pub success: bool,
    pub plans: Vec<PlanSummary>,
    /// Plans matching, across all pages.
    pub total: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SavedPlanResponse {
    #[schema(example = true)]
    pub success: bool,
    pub plan: SavedPlan,
}

fn saved(plan: SavedPlan) -> Json<SavedPlanResponse> {
    Json(SavedPlanResponse {
        success: true,
        plan,
    })
}

#[derive(Serialize, ToSchema)]
pub struct VersionListResponse {
    #[schema(example = true)]
    pub success: bool,
    /// Newest first.
    pub versions: Vec<VersionSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionResponse {
    #[schema(example = true)]
    pub success: bool,
    pub version: PlanVersion,
}

#[derive(Serialize, ToSchema)]
pub struct NewVersionResponse {
    #[schema(example = true)]
    pub success: bool,
    pub version: VersionSummary,
}

#[derive(Serialize, ToSchema)]
pub struct DiffResponse {
    #[schema(example = true)]
    pub success: bool,
    pub diff: SectionDiff,
}

#[derive(Serialize, ToSchema)]
pub struct DeletedResponse {
    #[schema(example = true)]
    pub success: bool,
    #[schema(example = "已移入回收站，30 天内可恢复")]
    pub message: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of the title.
    #[param(max_length = 100)]
    #[serde(default)]
    pub q: String,
    /// `true`: the plans in the trash.
    #[serde(default)]
    pub trash: bool,
    /// `updated` (newest change first, the default) or `title`.
    #[serde(default)]
    pub sort: Sort,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    #[serde(default)]
    pub offset: i64,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Updated,
    Title,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The section's id in its template.
    #[param(min_length = 1, max_length = 64)]
    pub section: String,
    /// The older version (0: as saved now).
    #[param(minimum = 0)]
    pub from: i64,
    /// The newer version (0, the default: as saved now).
    #[param(minimum = 0)]
    #[serde(default)]
    pub to: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `true`: remove a plan that is in the trash for good, with its versions (404 for a plan
    /// not in the trash).
    #[serde(default)]
    pub permanent: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Append the GB/T 29639-2020 self-check table (default true).
    #[serde(default = "yes")]
    pub self_check: bool,
}

fn yes() -> bool {
    true
}

/// 我的预案
///
/// 只列出令牌所属用户的预案（不含正文），默认按最近修改排序；`trash=true` 列出回收站。
#[utoipa::path(
    get,
    path = "/api/plans",
    tag = "plans",
    params(ListQuery),
    responses((status = 200, description = "预案列表", body = PlanListResponse), StoreReadErrors)
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<PlanListResponse>, ApiError> {
    let params = ListParams {
        search: query.q,
        trash: query.trash,
        by_title: matches!(query.sort, Sort::Title),
        limit: query.limit,
        offset: query.offset,
    };
    if params.limit.is_some_and(|l| !(1..=100).contains(&l)) || params.offset < 0 {
        return Err(ApiError::validation(vec![crate::model::FieldProblem {
            field: "limit".into(),
            message: "limit 应在 1–100 之间，offset 不能为负数".into(),
        }]));
    }
    let (plans, total) = state.plans.list(&user.name, &params).await?;
    Ok(Json(PlanListResponse {
        success: true,
        plans,
        total,
    }))
}

/// 新建一份预案
///
/// 三种请求体：`{template_id, data, title?}` 由服务器按模板建立预案（所有章节待生成，附带模板的条款与要素），
/// 随后可用 `POST /api/plans/{id}/generate` 生成；`{template_id, enterprise_id, data?, title?}` 由企业档案建立预案：
/// 企业信息取自档案，各章节生成时读取档案中的人员、电话、物资、风险和岗位（专项预案在 `data` 中给出事故类别
/// `accident_types`，现场处置方案给出岗位 `post_or_facility`），档案缺少必需信息时返回 409 `PROFILE_INCOMPLETE`；
/// 或 `{plan, title?, id?}` 导入一份完整的预案（与导出接口相同的结构）。
/// 标题默认为“企业名称-预案类型”。
#[utoipa::path(
    post,
    path = "/api/plans",
    tag = "plans",
    request_body = CreatePlanBody,
    responses((status = 201, description = "已保存", body = SavedPlanResponse), StoreWriteErrors)
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<(StatusCode, Json<SavedPlanResponse>), ApiError> {
    // Read again as the shape it has, so a wrong field is named as that shape names it.
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let plan = if body.contains_key("plan") {
        let body: NewPlan = parse(&bytes)?;
        state.plans.create(&user.name, body).await?
    } else if body.contains_key("enterprise_id") {
        let body: PlanFromProfile = parse(&bytes)?;
        state
            .jobs
            .create_plan_from_profile(&user.name, body)
            .await?
    } else {
        let body: PlanFromData = parse(&bytes)?;
        state.jobs.create_plan(&user.name, body).await?
    };
    Ok((StatusCode::CREATED, saved(plan)))
}

/// What `POST /api/plans` takes: an enterprise's data, or a whole plan to import.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum CreatePlanBody {
    FromData(PlanFromData),
    FromProfile(PlanFromProfile),
    Import(Box<NewPlan>),
}

/// 读取一份预案
///
/// 由企业档案建立的预案，每个章节带 `facts`：正文与档案（当前内容）核对的结果，逐条给出段落（正文的第几行，从 0 起）、
/// 类别（`unknown_phone` 电话不在档案中、`wrong_person` 人员与职务不符、`missing_resource` 物资不在档案中、
/// `wrong_quantity` 数量与档案不符、`expired` 装备已过检验或有效期、`uncovered_risk` 一般及以上风险没有专项预案或现场处置方案覆盖）和说明。
#[utoipa::path(
    get,
    path = "/api/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id（32 位十六进制）", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "预案", body = SavedPlanResponse), StoreReadErrors)
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SavedPlanResponse>, ApiError> {
    let plan = state.plans.get(&user.name, &id).await?;
    Ok(saved(checked(&state, &user.name, plan).await))
}

/// `plan` with what the check against the profile it was made from finds on each section; as
/// it is when it was made from none, or the profile cannot be read now.
async fn checked(state: &AppState, owner: &str, mut plan: SavedPlan) -> SavedPlan {
    if let Err(e) = state.enterprises.check_plan(owner, &mut plan.plan).await {
        tracing::warn!("预案未能与企业档案核对: {e}");
    }
    plan
}

/// 修改一份预案
///
/// 可只改标题、只改内容或都改。带 `base_revision` 时，若预案在此之后已被修改，则不写入并返回 409
/// 与当前预案；不带则直接覆盖。`snapshot` 把修改后的预案存为一个自动版本。
#[utoipa::path(
    put,
    path = "/api/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$")),
    request_body = PlanUpdate,
    responses((status = 200, description = "已保存", body = SavedPlanResponse), StoreWriteErrors)
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<PlanUpdate>,
) -> Result<Json<SavedPlanResponse>, ApiError> {
    let plan = state.plans.update(&user.name, &id, body).await?;
    Ok(saved(plan))
}

/// 删除一份预案（移入回收站）
///
/// 回收站中的预案在 `PLAN_TRASH_DAYS`（默认 30）天内可用 `POST /api/plans/{id}/undelete` 恢复，之后永久删除；
/// `permanent=true` 立即永久删除回收站中的预案（腾出存储空间）。
#[utoipa::path(
    delete,
    path = "/api/plans/{id}",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"), DeleteQuery),
    responses((status = 200, description = "已移入回收站或已永久删除", body = DeletedResponse), StoreReadErrors)
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Result<Json<DeletedResponse>, ApiError> {
    if query.permanent {
        state.plans.remove(&user.name, &id).await?;
    } else {
        state.plans.delete(&user.name, &id).await?;
    }
    Ok(Json(DeletedResponse {
        success: true,
        message: state.plans.deleted_note(query.permanent),
    }))
}

/// 从回收站恢复一份预案
#[utoipa::path(
    post,
    path = "/api/plans/{id}/undelete",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "已恢复", body = SavedPlanResponse), StoreReadErrors)
)]
pub async fn undelete(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<SavedPlanResponse>, ApiError> {
    let plan = state.plans.undelete(&user.name, &id).await?;
    Ok(saved(plan))
}

/// 复制一份预案（如下一年度的修订）
#[utoipa::path(
    post,
    path = "/api/plans/{id}/duplicate",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$")),
    request_body = DuplicatePlan,
    responses((status = 201, description = "副本", body = SavedPlanResponse), StoreWriteErrors)
)]
pub async fn duplicate(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<DuplicatePlan>,
) -> Result<(StatusCode, Json<SavedPlanResponse>), ApiError> {
    let plan = state.plans.duplicate(&user.name, &id, body).await?;
    Ok((StatusCode::CREATED, saved(plan)))
}

/// 预案的版本
///
/// 每次生成或重新生成章节自动存一个版本（只保留最近 `PLAN_AUTO_VERSIONS` 个），手动保存的版本全部保留。
#[utoipa::path(
    get,
    path = "/api/plans/{id}/versions",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "版本列表（新的在前）", body = VersionListResponse), StoreReadErrors)
)]
pub async fn versions(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VersionListResponse>, ApiError> {
    let versions = state.plans.versions(&user.name, &id).await?;
    Ok(Json(VersionListResponse {
        success: true,
        versions,
    }))
}

/// 保存一个版本（带说明）
#[utoipa::path(
    post,
    path = "/api/plans/{id}/versions",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$")),
    request_body = NewVersion,
    responses((status = 201, description = "已保存的版本", body = NewVersionResponse), StoreWriteErrors)
)]
pub async fn save_version(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<NewVersion>,
) -> Result<(StatusCode, Json<NewVersionResponse>), ApiError> {
    let version = state.plans.save_version(&user.name, &id, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(NewVersionResponse {
            success: true,
            version,
        }),
    ))
}

/// 读取一个版本
///
/// 版本 0 为当前保存的内容。
#[utoipa::path(
    get,
    path = "/api/plans/{id}/versions/{version}",
    tag = "plans",
    params(
        ("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"),
        ("version" = i64, Path, description = "版本号", minimum = 0),
    ),
    responses((status = 200, description = "该版本的预案", body = VersionResponse), StoreReadErrors)
)]
pub async fn version(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath((id, version)): ApiPath<(String, i64)>,
) -> Result<Json<VersionResponse>, ApiError> {
    let version = state.plans.version(&user.name, &id, version).await?;
    Ok(Json(VersionResponse {
        success: true,
        version,
    }))
}

/// 恢复一个版本
///
/// 当前内容先存为一个版本，再换成该版本的内容；恢复本身也是一个新版本。
#[utoipa::path(
    post,
    path = "/api/plans/{id}/versions/{version}/restore",
    tag = "plans",
    params(
        ("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"),
        ("version" = i64, Path, description = "版本号", minimum = 1),
    ),
    responses((status = 200, description = "恢复后的预案", body = SavedPlanResponse), StoreWriteErrors)
)]
pub async fn restore(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath((id, version)): ApiPath<(String, i64)>,
) -> Result<Json<SavedPlanResponse>, ApiError> {
    let plan = state.plans.restore(&user.name, &id, version).await?;
    Ok(saved(plan))
}

/// 比较一个章节在两个版本之间的差异
///
/// 逐行对齐，改动的行内标出不同的字。
#[utoipa::path(
    get,
    path = "/api/plans/{id}/diff",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"), DiffQuery),
    responses((status = 200, description = "左右对照", body = DiffResponse), StoreReadErrors)
)]
pub async fn diff(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DiffQuery>,
) -> Result<Json<DiffResponse>, ApiError> {
    let diff = state
        .plans
        .diff(&user.name, &id, &query.section, query.from, query.to)
        .await?;
    Ok(Json(DiffResponse {
        success: true,
        diff,
    }))
}

/// 导出为 Word
#[utoipa::path(
    get,
    path = "/api/plans/{id}/export/docx",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"), ExportQuery),
    responses(
        (status = 200, description = "Word 文档", content_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document", body = Vec<u8>),
        StoreReadErrors,
    )
)]
pub async fn export_docx(
    state: State<AppState>,
    caller: Caller,
    path: ApiPath<String>,
    query: ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(state, caller, path, query, ExportFormat::Docx).await
}

/// 导出为 Markdown
#[utoipa::path(
    get,
    path = "/api/plans/{id}/export/markdown",
    tag = "plans",
    params(("id" = String, Path, description = "预案 id", pattern = "^[0-9a-f]{32}$"), ExportQuery),
    responses(
        (status = 200, description = "Markdown 文本", content_type = "text/markdown", body = String),
        StoreReadErrors,
    )
)]
pub async fn export_markdown(
    state: State<AppState>,
    caller: Caller,
    path: ApiPath<String>,
    query: ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    export(state, caller, path, query, ExportFormat::Markdown).await
}

async fn export(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<ExportQuery>,
    format: ExportFormat,
) -> Result<Response, ApiError> {
    let saved = state.plans.get(&user.name, &id).await?;
    let saved = checked(&state, &user.name, saved).await;
    download_plan(
        &saved.plan,
        state.generation.registry(),
        query.self_check,
        format,
    )
    .map_err(|e| ApiError::new(ErrorCode::ExportFailed, e))
    .map(IntoResponse::into_response)
}
