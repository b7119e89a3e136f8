//! The page session cookie: `v3.<id>.<expiry>.<mac>`. The id is random; the MAC is an
//! HMAC-SHA256 under the server's session secret over the id, the expiry, the name of the user
//! who logged in and the digest of their token. So the cookie holds no token and tells nothing
//! about one (a stolen cookie cannot be used to test token guesses), every instance sharing the
//! secret accepts it, removing a token from the configuration ends its sessions, a token given
//! to another name (or a bare token that moved to another position) does not take its
//! sessions along, and an expiry beyond the configured lifetime is refused. Logging out marks
//! the id revoked in the shared store until the cookie would have expired anyway.

use std::time::{Duration, SystemTime};

use crate::clock::unix_at as unix;

use axum::http::{header::COOKIE, HeaderMap};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use std::sync::Arc;

use super::{
    tokens::{TokenDigest, User},
    Tokens,
};

pub const COOKIE_NAME: &str = "yueen_session";

/// A session a cookie stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user: Arc<User>,
    /// Seconds since the epoch.
    pub expires: u64,
}

impl Session {
    /// The name its revocation is marked under.
    pub fn revocation(&self) -> String {
        format!("session-revoked:{}", self.id)
    }

    /// How long the session has left at `now`.
    pub fn remaining(&self, now: SystemTime) -> Duration {
        Duration::from_secs(self.expires.saturating_sub(unix(now)))
    }
}

/// Issues and checks session cookies under one secret.
pub struct Sessions {
    secret: SecretSlice<u8>,
    ttl: Duration,
}

impl Sessions {
    /// `secret` from the configuration, or a random one for this process only.
    pub fn new(secret: Option<&[u8]>, ttl: Duration) -> Self {
        let secret = match secret {
            Some(secret) => secret.to_vec(),
            None => {
                let mut bytes = vec![0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                bytes
            }
        };
        Self {
            secret: SecretSlice::from(secret),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn mac(&self, id: &str, expires: u64, user: &str, token: &TokenDigest) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret())
            .expect("HMAC takes any key length");
        // The name's length first, so no name and id can run into each other.
        mac.update(format!("yueen-session|v3|{id}|{expires}|{}|{user}|", user.len()).as_bytes());
        mac.update(token);
        mac
    }

    /// A new session's cookie value for `user`, who logged in with the token whose digest is
    /// `token`, valid for the configured lifetime from `now`. Its id, for the caller to note.
    pub fn issue(&self, user: &str, token: &TokenDigest, now: SystemTime) -> (String, String) {
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        let id = hex::encode(id);
        let expires = unix(now + self.ttl);
        let tag = self.mac(&id, expires, user, token).finalize().into_bytes();
        let value = format!("v3.{id}.{expires}.{}", hex::encode(tag));
        (value, id)
    }

    /// The session a cookie value stands for, if it is well-formed, unexpired, not promising
    /// more than the configured lifetime, and signed for a configured token. Revocation is the
    /// caller's to check (it needs the shared store).
    pub fn verify(&self, value: &str, tokens: &Tokens, now: SystemTime) -> Option<Session> {
        let mut parts = value.split('.');
        let (Some("v3"), Some(id), Some(expires), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expires: u64 = expires.parse().ok()?;
        let now = unix(now);
        if expires <= now || expires > now.saturating_add(self.ttl.as_secs()) {
            return None;
        }
        let tag = hex::decode(tag).ok()?;
        tokens
            .entries()
            .find(|(token, user)| {
                self.mac(id, expires, &user.name, token)
                    .verify_slice(&tag)
                    .is_ok()
            })
            .map(|(_, user)| Session {
                id: id.to_owned(),
                user: user.clone(),
                expires,
            })
    }

    /// `Set-Cookie` for a new session. `secure` when the app is served over HTTPS.
    pub fn set_cookie(&self, value: &str, secure: bool) -> String {
        format!(
            "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            self.ttl.as_secs(),
            if secure { "; Secure" } else { "" }
        )
    }
}

/// Our cookie's value from a request's `Cookie` headers.
pub fn from_headers(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// `Set-Cookie` that ends the session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::config::AuthSettings;

    const WEEK: Duration = Duration::from_secs(7 * 86_400);

    fn tokens(users: &[&str]) -> Tokens {
        Tokens::new(
            &AuthSettings {
                admin_token: Some("admin-token-1".into()),
                user_tokens: users.iter().map(|t| (*t).into()).collect(),
                ..AuthSettings::default()
            },
            None,
        )
    }

    fn login(sessions: &Sessions, all: &Tokens, token: &str, now: SystemTime) -> String {
        let (key, user) = all.find(token).unwrap();
        sessions.issue(&user.name, &key, now).0
    }

    #[test]
    fn a_session_carries_its_tokens_role_and_no_token() {
        let sessions = Sessions::new(Some(b"a-secret-of-thirty-two-bytes-xx"), WEEK);
        let now = SystemTime::now();
        let all = tokens(&["user-token-1"]);
        let value = login(&sessions, &all, "user-token-1", now);
        assert!(!value.contains("user-token-1"));
        assert_eq!(
            sessions.verify(&value, &all, now).unwrap().user.role,
            crate::model::Role::User
        );
        let admin = login(&sessions, &all, "admin-token-1", now);
        assert_eq!(
            sessions.verify(&admin, &all, now).unwrap().user.role,
            crate::model::Role::Admin
        );
        // Two logins are two sessions.
        assert_ne!(login(&sessions, &all, "admin-token-1", now), admin);
    }

    #[test]
    fn expired_forged_stretched_or_orphaned_sessions_are_refused() {
        let sessions = Sessions::new(Some(b"a-secret-of-thirty-two-bytes-xx"), WEEK);
        let now = SystemTime::now();
        let all = tokens(&["user-token-1"]);
        let value = login(&sessions, &all, "user-token-1", now);
        assert!(sessions
            .verify(&value, &all, now + WEEK + Duration::from_secs(1))
            .is_none());

        let mut forged = value.clone();
        let last = forged.len() - 1;
        forged.replace_range(last.., if value.ends_with('0') { "1" } else { "0" });
        assert!(sessions.verify(&forged, &all, now).is_none());
        assert!(sessions.verify("garbage", &all, now).is_none());

        // Signed under another secret: not ours.
        let other = Sessions::new(Some(b"another-secret-of-32-bytes-yyyy"), WEEK);
        assert!(other.verify(&value, &all, now).is_none());

        // An expiry past the lifetime is refused even with a valid signature.
        let long = Sessions::new(Some(b"a-secret-of-thirty-two-bytes-xx"), WEEK * 10);
        let stretched = login(&long, &all, "user-token-1", now);
        assert!(long.verify(&stretched, &all, now).is_some());
        assert!(sessions.verify(&stretched, &all, now).is_none());

        // The token left the configuration: its sessions end.
        assert!(sessions.verify(&value, &tokens(&[]), now).is_none());
    }

    #[test]
    fn a_session_stays_with_its_user_not_its_token() {
        let sessions = Sessions::new(Some(b"a-secret-of-thirty-two-bytes-xx"), WEEK);
        let now = SystemTime::now();
        // A bare token that moves up the list becomes another user: its session does not
        // follow it there.
        let before = tokens(&["user-token-1", "user-token-2"]);
        let second = login(&sessions, &before, "user-token-2", now);
        assert_eq!(
            &*sessions.verify(&second, &before, now).unwrap().user.name,
            "用户2"
        );
        assert!(sessions
            .verify(&second, &tokens(&["user-token-2"]), now)
            .is_none());
        // A named one keeps its sessions wherever it stands, and loses them under a new name.
        let named = login(
            &sessions,
            &tokens(&["张三:token-of-zs"]),
            "token-of-zs",
            now,
        );
        let moved = tokens(&["user-token-1", "张三:token-of-zs"]);
        assert_eq!(
            &*sessions.verify(&named, &moved, now).unwrap().user.name,
            "张三"
        );
        assert!(sessions
            .verify(&named, &tokens(&["李四:token-of-zs"]), now)
            .is_none());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=1; yueen_session=v3.x.1.ff; b=2"),
        );
        assert_eq!(from_headers(&headers), Some("v3.x.1.ff"));
    }
}
