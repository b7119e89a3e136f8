//! Who is calling: the token table (API Bearer tokens and page logins share it), the signed
//! session cookie of the pages, logging in and out, the gate in front of the pages, and the
//! role of the current page request.

pub mod gate;
pub mod login;
pub mod origin;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod viewer;

use std::{net::IpAddr, sync::Arc};

pub use crate::model::Role;
pub use tokens::Tokens;

use crate::cache::CacheService;

/// What logging in, out and the page gate need.
#[derive(Clone)]
pub struct Auth {
    pub tokens: Arc<Tokens>,
    pub sessions: Arc<session::Sessions>,
    /// Where logged-out sessions are marked, for every instance.
    pub store: Arc<CacheService>,
    pub throttle: Arc<throttle::LoginThrottle>,
    /// Wrong API tokens per address.
    pub token_failures: Arc<throttle::TokenFailures>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The origin of `PUBLIC_URL`, when configured.
    pub public_origin: Option<String>,
    /// Session cookies get `Secure` when the public URL is HTTPS.
    pub secure_cookies: bool,
}

impl Auth {
    /// The live session a request's cookie stands for: signed, unexpired, not logged out.
    pub async fn session(&self, headers: &axum::http::HeaderMap) -> Option<session::Session> {
        let value = session::from_headers(headers)?;
        let session = self
            .sessions
            .verify(value, &self.tokens, std::time::SystemTime::now())?;
        if self.store.is_marked(&session.revocation()).await {
            return None;
        }
        Some(session)
    }
}
