//! `/api/enterprises`: the caller's enterprise profiles (企业档案). Thin over
//! `enterprises::EnterpriseService`; scoped to the token's user like plans.

use axum::{extract::State, http::StatusCode, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    auth::Caller,
    error::{ApiError, ProfileReadErrors, ProfileWriteErrors},
    extract::{ApiPath, JsonBody},
};
use crate::{
    model::profile::{NewProfile, ProfileSummary, ProfileUpdate, SavedProfile},
    state::AppState,
};

#[derive(Serialize, ToSchema)]
pub struct ProfileListResponse {
    #[schema(example = true)]
    pub success: bool,
    /// The last changed first.
    pub enterprises: Vec<ProfileSummary>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileResponse {
    #[schema(example = true)]
    pub success: bool,
    pub enterprise: SavedProfile,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileDeletedResponse {
    #[schema(example = true)]
    pub success: bool,
    #[schema(example = "企业档案已删除")]
    pub message: String,
}

fn answer(enterprise: SavedProfile) -> Json<ProfileResponse> {
    Json(ProfileResponse {
        success: true,
        enterprise,
    })
}

/// 我的企业档案
#[utoipa::path(
    get,
    path = "/api/enterprises",
    tag = "enterprises",
    responses((status = 200, description = "企业档案列表（不含内容）", body = ProfileListResponse), ProfileReadErrors)
)]
pub async fn list(
    State(state): State<AppState>,
    Caller(user): Caller,
) -> Result<Json<ProfileListResponse>, ApiError> {
    let enterprises = state.enterprises.list(&user.name).await?;
    Ok(Json(ProfileListResponse {
        success: true,
        enterprises,
    }))
}

/// 新建企业档案
///
/// 基本情况、应急组织、风险清单（风险等级由 L × S 按模板库的分级计算）、应急资源、周边敏感目标和重点岗位。
/// 有不合格的字段时返回 422，`error.details` 逐项给出位置（如 `organization.people[2].mobile`）和原因，不保存任何内容。
#[utoipa::path(
    post,
    path = "/api/enterprises",
    tag = "enterprises",
    request_body = NewProfile,
    responses((status = 201, description = "已保存", body = ProfileResponse), ProfileWriteErrors)
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(user): Caller,
    JsonBody(body): JsonBody<NewProfile>,
) -> Result<(StatusCode, Json<ProfileResponse>), ApiError> {
    let saved = state.enterprises.create(&user.name, body).await?;
    Ok((StatusCode::CREATED, answer(saved)))
}

/// 读取企业档案
#[utoipa::path(
    get,
    path = "/api/enterprises/{id}",
    tag = "enterprises",
    params(("id" = String, Path, description = "企业档案 id（32 位十六进制）", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "企业档案", body = ProfileResponse), ProfileReadErrors)
)]
pub async fn get(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProfileResponse>, ApiError> {
    Ok(answer(state.enterprises.get(&user.name, &id).await?))
}

/// 修改企业档案
///
/// 以请求中的 `profile` 替换档案内容。带 `base_revision` 时，若档案在此之后已被修改，则不写入并返回 409
/// 与当前档案（`error.profile`）；不带则直接覆盖。
#[utoipa::path(
    put,
    path = "/api/enterprises/{id}",
    tag = "enterprises",
    params(("id" = String, Path, description = "企业档案 id", pattern = "^[0-9a-f]{32}$")),
    request_body = ProfileUpdate,
    responses((status = 200, description = "已保存", body = ProfileResponse), ProfileWriteErrors)
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
    JsonBody(body): JsonBody<ProfileUpdate>,
) -> Result<Json<ProfileResponse>, ApiError> {
    Ok(answer(
        state.enterprises.update(&user.name, &id, body).await?,
    ))
}

/// 删除企业档案
///
/// 永久删除。由该档案建立的预案保留各自的企业信息。
#[utoipa::path(
    delete,
    path = "/api/enterprises/{id}",
    tag = "enterprises",
    params(("id" = String, Path, description = "企业档案 id", pattern = "^[0-9a-f]{32}$")),
    responses((status = 200, description = "已删除", body = ProfileDeletedResponse), ProfileReadErrors)
)]
pub async fn delete(
    State(state): State<AppState>,
    Caller(user): Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ProfileDeletedResponse>, ApiError> {
    state.enterprises.delete(&user.name, &id).await?;
    Ok(Json(ProfileDeletedResponse {
        success: true,
        message: "企业档案已删除".into(),
    }))
}
