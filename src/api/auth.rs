//! Bearer authentication for the JSON API.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, StatusCode},
};

use super::error::ApiError;
use crate::{auth::Role, state::AppState};

/// A caller with a valid token.
pub struct Caller(pub Role);

/// A caller with the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "缺少访问令牌，请在 Authorization 请求头中提供 Bearer 令牌",
                )
            })?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty());
        token
            .and_then(|t| state.auth.tokens.role_of(t))
            .map(Caller)
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "访问令牌无效"))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Caller::from_request_parts(parts, state).await?.0 {
            Role::Admin => Ok(Admin),
            Role::User => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "需要管理员权限",
            )),
        }
    }
}
