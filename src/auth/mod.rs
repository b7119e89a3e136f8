//! Who is calling: the token table (API Bearer tokens and page logins share it), the signed
//! session cookie of the pages, logging in and out, the gate in front of the pages, and the
//! role of the current page request.

pub mod client;
pub mod gate;
pub mod generated;
pub mod login;
pub mod origin;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod viewer;

use std::{net::IpAddr, sync::Arc};

pub use crate::model::Role;
pub use tokens::Tokens;

use crate::{
    cache::{memory::MemoryCache, Payload},
    coord::Coordination,
};

/// What logging in, out and the page gate need.
#[derive(Clone)]
pub struct Auth {
    pub tokens: Arc<Tokens>,
    pub sessions: Arc<session::Sessions>,
    /// Where logged-out sessions are marked, for every instance.
    pub store: Arc<Coordination>,
    /// Sessions known not to be logged out, for when `store` cannot tell.
    pub confirmed: Arc<Confirmed>,
    /// Wrong tokens (logins and API calls) per address.
    pub failures: Arc<throttle::Failures>,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<[IpAddr]>,
    /// The origin of `PUBLIC_URL`, when configured.
    pub public_origin: Option<String>,
    /// Session cookies get `Secure` when the public URL is HTTPS.
    pub secure_cookies: bool,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No cookie, or one that is forged, expired, logged out or of a token no longer configured.
    Absent,
    /// A valid cookie whose logout state this instance cannot confirm: Redis, where logouts are
    /// kept for every instance, cannot be reached, and this instance has not seen the session
    /// lately.
    Unconfirmed,
}

/// How long a session Redis confirmed as not logged out still counts as such here while Redis
/// cannot be asked. A logout made meanwhile on another instance takes effect here when Redis
/// is back, or at the latest this long after the last confirmation.
const CONFIRMED_FOR: std::time::Duration = std::time::Duration::from_secs(300);
/// Sessions remembered as confirmed, at most (an entry is a few dozen bytes).
const MAX_CONFIRMED: usize = 100_000;

/// Sessions this instance knows were not logged out: confirmed by Redis lately, or issued here.
pub struct Confirmed(MemoryCache);

impl Default for Confirmed {
    fn default() -> Self {
        Self(MemoryCache::new(MAX_CONFIRMED))
    }
}

impl Confirmed {
    /// Notes `id` as confirmed for `life`, unless it already is for longer (a session issued
    /// here keeps its whole life, however often Redis confirms it meanwhile).
    /// Written at most about once a minute for a session in use (each page request confirms
    /// it), not on every request.
    fn note(&self, id: &str, life: std::time::Duration) {
        const SLACK_MS: u64 = 60_000;
        let until = crate::clock::unix_ms().saturating_add(life.as_millis() as u64);
        if self
            .0
            .get(id)
            .is_some_and(|(_, known)| known.saturating_add(SLACK_MS) >= until)
        {
            return;
        }
        self.0.set(id, Payload::from(""), until, life);
    }

    fn holds(&self, id: &str) -> bool {
        self.0.get(id).is_some()
    }
}

impl Auth {
    /// The live session a request's cookie stands for: signed, unexpired, and confirmed not
    /// logged out. Fails closed: while Redis cannot say whether the session was logged out on
    /// another instance, only a session this instance issued or confirmed lately is accepted.
    pub async fn session(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<session::Session, NoSession> {
        let value = session::from_headers(headers).ok_or(NoSession::Absent)?;
        let now = crate::clock::now();
        let session = self
            .sessions
            .verify(value, &self.tokens, now)
            .ok_or(NoSession::Absent)?;
        match self.store.is_marked(&session.revocation()).await {
            Some(true) => Err(NoSession::Absent),
            Some(false) => {
                self.confirmed
                    .note(&session.id, CONFIRMED_FOR.min(session.remaining(now)));
                Ok(session)
            }
            None if self.confirmed.holds(&session.id) => Ok(session),
            None => {
                tracing::warn!("无法确认会话是否已退出登录（Redis 不可用），已要求重新登录");
                Err(NoSession::Unconfirmed)
            }
        }
    }

    /// A session this instance has just issued: nobody can have logged it out yet, so it is
    /// accepted here for its whole life even while Redis is away.
    pub fn issued(&self, id: &str) {
        self.confirmed.note(id, self.sessions.ttl());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confirmation_is_never_shortened() {
        let confirmed = Confirmed::default();
        confirmed.note("issued-here", std::time::Duration::from_secs(7 * 86_400));
        confirmed.note("issued-here", CONFIRMED_FOR);
        let (_, until) = confirmed.0.get("issued-here").unwrap();
        let left = until - crate::clock::unix_ms();
        assert!(left > 86_400_000, "{left} ms");
        confirmed.note("seen", std::time::Duration::from_millis(1));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(!confirmed.holds("seen"));
        assert!(confirmed.holds("issued-here"));
    }
}
