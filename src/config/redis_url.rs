//! Redis URLs, which may carry a password: kept secret, shown redacted.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

/// A Redis connection URL that may carry a password. `Display` and `Debug` redact it.
#[derive(Clone)]
pub struct RedisUrl(SecretString);

impl RedisUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("不是有效的 URL（{e}）"))?;
        match url.scheme() {
            "redis" | "rediss" | "redis+unix" | "unix" => Ok(Self(SecretString::from(raw))),
            other => Err(format!("不支持的协议 {other}，应为 redis:// 或 rediss://")),
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The URL with any password replaced by `***`, safe for logs and pages.
    pub fn redacted(&self) -> String {
        redact_url(self.expose())
    }

    /// Removes the password from a message that may quote the URL or the password itself.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.replace(self.expose(), &self.redacted());
        if let Some(password) = Url::parse(self.expose())
            .ok()
            .and_then(|u| u.password().map(str::to_owned))
            .filter(|p| !p.is_empty())
        {
            out = out.replace(&password, "***");
        }
        out
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

/// Replaces the password (and a lone username used as one) of a URL with `***`.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        // Not a URL: hide everything after the scheme rather than risk printing a secret.
        Err(_) => match raw.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***"),
            None => "***".to_owned(),
        },
    }
}
