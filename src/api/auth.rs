//! Bearer tokens: who may call, and as what. Tokens are kept as SHA-256 digests and compared in
//! constant time, so neither timing nor a memory dump of the table gives one away.

use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, StatusCode},
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use crate::{config::AuthSettings, state::AppState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    User,
}

pub struct Tokens {
    entries: Vec<([u8; 32], Role)>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// The configured tokens, plus `generated_admin` when none is configured.
    pub fn new(settings: &AuthSettings, generated_admin: Option<&SecretString>) -> Self {
        let admin = settings.admin_token.iter().chain(generated_admin);
        let entries = admin
            .map(|t| (digest(t.expose_secret()), Role::Admin))
            .chain(
                settings
                    .user_tokens
                    .iter()
                    .map(|t| (digest(t.expose_secret()), Role::User)),
            )
            .collect();
        Self { entries }
    }

    pub fn role_of(&self, presented: &str) -> Option<Role> {
        let presented = digest(presented);
        // Look at every entry, whatever matched, so timing says nothing about the table.
        let mut found = None;
        for (known, role) in &self.entries {
            if bool::from(known.ct_eq(&presented)) && found.is_none() {
                found = Some(*role);
            }
        }
        found
    }
}

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
            .and_then(|t| state.tokens.role_of(t))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_configured_tokens() {
        let settings = AuthSettings {
            admin_token: Some("admin-token-1".into()),
            user_tokens: vec!["user-token-1".into(), "user-token-2".into()],
        };
        let tokens = Tokens::new(&settings, None);
        assert_eq!(tokens.role_of("admin-token-1"), Some(Role::Admin));
        assert_eq!(tokens.role_of("user-token-2"), Some(Role::User));
        assert_eq!(tokens.role_of("user-token-3"), None);
        assert_eq!(tokens.role_of(""), None);
    }

    #[test]
    fn generated_token_is_an_admin() {
        let generated: SecretString = "generated-admin".into();
        let tokens = Tokens::new(&AuthSettings::default(), Some(&generated));
        assert_eq!(tokens.role_of("generated-admin"), Some(Role::Admin));
    }
}
