//! The page session cookie: `v1.<expiry>.<mac>`, where the MAC is an HMAC-SHA256 keyed by the
//! digest of the token that logged in. Nothing is stored on the server, the cookie holds no token,
//! every instance behind a load balancer accepts it, and removing a token from the configuration
//! ends its sessions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header::COOKIE, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{tokens::TokenDigest, Role, Tokens};

pub const COOKIE_NAME: &str = "yueen_session";
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

fn mac(key: &TokenDigest, expires: u64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("yueen-session|v1|{expires}").as_bytes());
    mac
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A cookie value for the token whose digest is `key`, valid for `LIFETIME` from `now`.
pub fn issue(key: &TokenDigest, now: SystemTime) -> String {
    let expires = unix(now + LIFETIME);
    let tag = mac(key, expires).finalize().into_bytes();
    format!("v1.{expires}.{}", hex::encode(tag))
}

/// The role a cookie value stands for, if it is well-formed, unexpired and signed by a
/// configured token.
pub fn verify(value: &str, tokens: &Tokens, now: SystemTime) -> Option<Role> {
    let mut parts = value.split('.');
    let (Some("v1"), Some(expires), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let expires: u64 = expires.parse().ok()?;
    if expires <= unix(now) {
        return None;
    }
    let tag = hex::decode(tag).ok()?;
    tokens
        .entries()
        .find(|(key, _)| mac(key, expires).verify_slice(&tag).is_ok())
        .map(|(_, role)| *role)
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

/// `Set-Cookie` for a new session. `secure` when the app is served over HTTPS.
pub fn set_cookie(value: &str, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
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

    fn tokens() -> Tokens {
        Tokens::new(
            &AuthSettings {
                admin_token: Some("admin-token-1".into()),
                user_tokens: vec!["user-token-1".into()],
            },
            None,
        )
    }

    #[test]
    fn a_session_carries_its_tokens_role() {
        let now = SystemTime::now();
        let (key, _) = tokens().find("user-token-1").unwrap();
        let value = issue(&key, now);
        assert!(!value.contains("user-token-1"));
        assert_eq!(verify(&value, &tokens(), now), Some(Role::User));
        let (key, _) = tokens().find("admin-token-1").unwrap();
        assert_eq!(verify(&issue(&key, now), &tokens(), now), Some(Role::Admin));
    }

    #[test]
    fn expired_forged_or_revoked_sessions_are_refused() {
        let now = SystemTime::now();
        let (key, _) = tokens().find("user-token-1").unwrap();
        let value = issue(&key, now);
        assert_eq!(
            verify(&value, &tokens(), now + LIFETIME + Duration::from_secs(1)),
            None
        );

        let mut forged = value.clone();
        forged.replace_range(3..4, "9");
        assert_eq!(verify(&forged, &tokens(), now), None);
        assert_eq!(verify("v1.99999999999.00", &tokens(), now), None);
        assert_eq!(verify("garbage", &tokens(), now), None);

        let without_user = Tokens::new(
            &AuthSettings {
                admin_token: Some("admin-token-1".into()),
                user_tokens: vec![],
            },
            None,
        );
        assert_eq!(verify(&value, &without_user, now), None);
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; yueen_session=v1.2.ab; b=2"),
        );
        assert_eq!(from_headers(&headers), Some("v1.2.ab"));
        assert!(set_cookie("x", false).contains("HttpOnly; SameSite=Strict"));
        assert!(set_cookie("x", true).ends_with("; Secure"));
    }
}
