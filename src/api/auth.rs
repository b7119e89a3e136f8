//! Bearer authentication for the JSON API.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts},
};

use std::sync::Arc;

use super::error::ApiError;
use crate::model::ErrorCode;
use crate::{
    auth::{tokens::User, Role},
    state::AppState,
};

/// A caller with a valid token, and whose it is.
pub struct Caller(pub Arc<User>);

/// A caller with an admin's token.
pub struct Admin(pub Arc<User>);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// The token's user. A valid token always passes; a wrong one is counted against the
    /// client's address, and past the limit answered 429, slowly.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = &state.auth;
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "缺少访问令牌，请在 Authorization 请求头中提供 Bearer 令牌",
                )
            })?;
        let user = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|token| !token.is_empty())
            .and_then(|t| auth.tokens.user_of(t));
        if let Some(user) = user {
            return Ok(Caller(user));
        }
        let client = crate::auth::client::client_ip(
            &parts.extensions,
            &parts.headers,
            &auth.trusted_proxies,
        );
        if let Some(wait) = auth.failures.refuse_slowly(client).await {
            return Err(ApiError::new(
                ErrorCode::TooManyFailedAttempts,
                "该地址的无效令牌过多，请稍后再试",
            )
            .with_retry_after(wait));
        }
        Err(ApiError::new(ErrorCode::Unauthorized, "访问令牌无效"))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        match user.role {
            Role::Admin => Ok(Admin(user)),
            Role::User => Err(ApiError::new(ErrorCode::Forbidden, "需要管理员权限")),
        }
    }
}
