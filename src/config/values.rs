//! How each kind of setting is read and checked. A value may come from the config file (typed
//! TOML) or from the environment (always a string), so every reader takes both; a bad value is
//! rejected with a message in Chinese, and the caller names the key it came from.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use url::Url;

use super::{RedisUrl, UserToken};

/// A number written as a number or as text, before its bounds are checked.
enum Number {
    Unsigned(u64),
    Float(f64),
}

struct NumberVisitor;

impl Visitor<'_> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::Unsigned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        u64::try_from(v)
            .map(Number::Unsigned)
            .map_err(|_| E::custom("不能为负数"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        let v = v.trim();
        if let Ok(n) = v.parse::<u64>() {
            return Ok(Number::Unsigned(n));
        }
        match v.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Number::Float(f)),
            _ => Err(E::custom(format!("无法解析 {v:?}"))),
        }
    }
}

/// A whole number in `MIN..=MAX`.
pub fn count<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<u64, D::Error> {
    let n = match d.deserialize_any(NumberVisitor)? {
        Number::Unsigned(n) => n,
        Number::Float(f) if f.fract() == 0.0 && f >= 0.0 && f <= u64::MAX as f64 => f as u64,
        Number::Float(f) => return Err(de::Error::custom(format!("{f} 不是整数"))),
    };
    if (MIN..=MAX).contains(&n) {
        Ok(n)
    } else if MIN > 0 && MAX == u64::MAX {
        Err(de::Error::custom(format!("必须大于等于 {MIN}")))
    } else {
        Err(de::Error::custom(format!("应在 {MIN} 到 {MAX} 之间")))
    }
}

pub fn count_usize<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<usize, D::Error> {
    let n = count::<D, MIN, MAX>(d)?;
    usize::try_from(n).map_err(|_| de::Error::custom("数值过大"))
}

pub fn count_u32<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<u32, D::Error> {
    let n = count::<D, MIN, MAX>(d)?;
    u32::try_from(n).map_err(|_| de::Error::custom("数值过大"))
}

pub fn optional_u64<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    count::<D, MIN, MAX>(d).map(Some)
}

/// What a token is kept and compared as: its SHA-256.
pub fn token_digest(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

/// A SHA-256 digest written as 64 hex digits.
pub fn sha256_hex<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let text = required_text(d)?;
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text.to_ascii_lowercase(), &mut digest)
        .map_err(|_| de::Error::custom("应为 64 位十六进制的 SHA-256 摘要"))?;
    Ok(digest)
}

pub fn optional_u32<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    count_u32::<D, MIN, MAX>(d).map(Some)
}

/// Milliseconds in `MIN..=MAX`.
pub fn millis<'de, D: Deserializer<'de>, const MIN: u64, const MAX: u64>(
    d: D,
) -> Result<Duration, D::Error> {
    count::<D, MIN, MAX>(d).map(Duration::from_millis)
}

/// Seconds, fractions allowed, at most `MAX`; zero only when `ZERO_OK`.
pub fn seconds<'de, D: Deserializer<'de>, const MAX: u64, const ZERO_OK: bool>(
    d: D,
) -> Result<Duration, D::Error> {
    let secs = match d.deserialize_any(NumberVisitor)? {
        Number::Unsigned(n) => n as f64,
        Number::Float(f) => f,
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(de::Error::custom("不能为负数"));
    }
    if secs == 0.0 && !ZERO_OK {
        return Err(de::Error::custom("必须大于 0"));
    }
    if secs > MAX as f64 {
        return Err(de::Error::custom(format!("不能超过 {MAX} 秒")));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A real number in `0..=MAX` (a price).
pub fn non_negative<'de, D: Deserializer<'de>, const MAX: u64>(d: D) -> Result<f64, D::Error> {
    let v = match d.deserialize_any(NumberVisitor)? {
        Number::Unsigned(n) => n as f64,
        Number::Float(f) => f,
    };
    if v.is_finite() && (0.0..=MAX as f64).contains(&v) {
        Ok(v)
    } else {
        Err(de::Error::custom(format!("应在 0 到 {MAX} 之间")))
    }
}

/// A real number in `0..=2` (the sampling temperature).
pub fn temperature<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    let t = match d.deserialize_any(NumberVisitor)? {
        Number::Unsigned(n) => n as f64,
        Number::Float(f) => f,
    };
    if (0.0..=2.0).contains(&t) {
        Ok(t as f32)
    } else {
        Err(de::Error::custom("应在 0 到 2 之间"))
    }
}

/// `true` or `false`, as TOML or as text.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct FlagVisitor;
    impl Visitor<'_> for FlagVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("true or false")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
            v.trim()
                .parse()
                .map_err(|_| E::custom(format!("无法解析 {v:?}，应为 true 或 false")))
        }
    }
    d.deserialize_any(FlagVisitor)
}

/// Text, trimmed; `None` when empty.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let raw: String = serde::Deserialize::deserialize(d)?;
    let trimmed = raw.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
}

/// Text that must not be empty.
pub fn required_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    text(d)?.ok_or_else(|| de::Error::custom("不能为空"))
}

pub fn optional_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d)
}

pub fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    Ok(text(d)?.map(PathBuf::from))
}

pub fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    required_text(d).map(PathBuf::from)
}

fn socket_addr<E: de::Error>(v: &str) -> Result<SocketAddr, E> {
    v.parse()
        .map_err(|_| E::custom(format!("{v:?} 不是 主机:端口 形式的地址")))
}

pub fn addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    socket_addr(&required_text(d)?)
}

pub fn optional_addr<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    text(d)?.map(|v| socket_addr(&v)).transpose()
}

fn http_url<E: de::Error>(v: &str) -> Result<Url, E> {
    let url = Url::parse(v.trim_end_matches('/'))
        .map_err(|e| E::custom(format!("不是有效的 URL（{e}）")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(E::custom("必须以 http:// 或 https:// 开头"));
    }
    Ok(url)
}

/// An http(s) URL without a trailing slash.
pub fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    http_url(&required_text(d)?)
}

/// The public base URL, kept as text without a trailing slash.
pub fn public_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    text(d)?
        .map(|v| http_url::<D::Error>(&v).map(|_| v.trim_end_matches('/').to_owned()))
        .transpose()
}

pub fn redis_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RedisUrl>, D::Error> {
    // Reported without the value: it may hold a password.
    text(d)?
        .map(|v| RedisUrl::parse(&v).map_err(de::Error::custom))
        .transpose()
}

/// Cluster seed nodes, comma-separated text or a list: `redis://[:password@]host:port` each,
/// or a bare `host:port`. Reported without the values: they may hold a password.
pub fn cluster_urls<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RedisUrl>, D::Error> {
    list(d)?
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let url = if u.contains("://") {
                u.clone()
            } else {
                format!("redis://{u}")
            };
            let parsed = RedisUrl::parse(&url)
                .map_err(|reason| de::Error::custom(format!("第 {} 个节点: {reason}", i + 1)))?;
            match url::Url::parse(&url).ok().and_then(|u| u.port()) {
                Some(_) => Ok(parsed),
                None => Err(de::Error::custom(format!(
                    "第 {} 个节点缺少端口（应为 主机:端口）",
                    i + 1
                ))),
            }
        })
        .collect()
}

/// Sentinel addresses, comma-separated text or a list; `redis://` is optional.
pub fn sentinel_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items = list(d)?;
    items
        .iter()
        .map(|u| {
            let hostport = u
                .strip_prefix("redis://")
                .unwrap_or(u)
                .trim_end_matches('/');
            match hostport.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(hostport.to_owned())
                }
                _ => Err(de::Error::custom(format!(
                    "{u:?} 不是 主机:端口 形式的哨兵地址"
                ))),
            }
        })
        .collect()
}

pub const MIN_TOKEN_LEN: usize = 8;

fn token<E: de::Error>(t: &str) -> Result<SecretString, E> {
    if t.chars().count() < MIN_TOKEN_LEN {
        return Err(E::custom(format!("令牌至少需要 {MIN_TOKEN_LEN} 个字符")));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(E::custom("令牌不能包含空白或控制字符"));
    }
    Ok(SecretString::from(t))
}

pub fn optional_token<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    text(d)?.map(|t| token(&t)).transpose()
}

/// The longest user name, in characters.
pub const MAX_USER_NAME: usize = 64;

/// A user's name: what plans, usage and sessions are kept under.
fn user_name<E: de::Error>(name: &str) -> Result<String, E> {
    let name = name.trim();
    if name.is_empty() {
        return Err(E::custom("用户名不能为空"));
    }
    if name.chars().count() > MAX_USER_NAME {
        return Err(E::custom(format!("用户名不能超过 {MAX_USER_NAME} 个字符")));
    }
    if name.chars().any(char::is_control) {
        return Err(E::custom("用户名不能包含控制字符"));
    }
    Ok(name.to_owned())
}

pub fn required_user_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    user_name(&required_text(d)?)
}

/// `USER_TOKENS`: comma-separated text or a list of `name:token` (a bare token is named by
/// its position). A message names the entry by its position, never by its token.
pub fn user_tokens<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<UserToken>, D::Error> {
    list(d)?
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = |e: D::Error| de::Error::custom(format!("第 {} 项：{e}", i + 1));
            match entry.split_once(':') {
                Some((name, secret)) => Ok(UserToken {
                    name: Some(user_name(name).map_err(at)?),
                    token: token(secret.trim()).map_err(at)?,
                }),
                None => Ok(UserToken {
                    name: None,
                    token: token(entry).map_err(at)?,
                }),
            }
        })
        .collect()
}

/// The session secret: long enough that it cannot be guessed.
pub fn optional_session_secret<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<SecretString>, D::Error> {
    match text(d)? {
        Some(s) if s.chars().count() < 32 => Err(de::Error::custom("至少需要 32 个字符")),
        other => Ok(other.map(SecretString::from)),
    }
}

/// IP addresses, comma-separated text or a list; an IPv4-mapped IPv6 address is kept as the
/// IPv4 address (what a peer is compared as).
pub fn ip_addrs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<std::net::IpAddr>, D::Error> {
    use std::net::IpAddr;
    list(d)?
        .iter()
        .map(|a| match a.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => Ok(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
            Ok(v4) => Ok(v4),
            Err(_) => Err(de::Error::custom(format!("{a:?} 不是 IP 地址"))),
        })
        .collect()
}

pub fn optional_secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(text(d)?.map(SecretString::from))
}

/// `postgres://`, `postgresql://` or `sqlite:`. Reported without the value: it may hold a
/// password.
pub fn database_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let Some(v) = text(d)? else {
        return Ok(None);
    };
    let scheme = v.split(':').next().unwrap_or_default().to_ascii_lowercase();
    if !matches!(scheme.as_str(), "postgres" | "postgresql" | "sqlite") {
        return Err(de::Error::custom(
            "应以 postgres://、postgresql:// 或 sqlite: 开头",
        ));
    }
    if Url::parse(&v).is_err() {
        return Err(de::Error::custom("不是有效的数据库地址"));
    }
    Ok(Some(SecretString::from(v)))
}

/// The cache key prefix: no spaces or control characters, at most 64 bytes.
pub fn key_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v: String = serde::Deserialize::deserialize(d)?;
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(de::Error::custom("不能包含空白或控制字符"));
    }
    if v.len() > 64 {
        return Err(de::Error::custom("长度不能超过 64 字节"));
    }
    Ok(v)
}

/// A list given as comma-separated text (the environment) or as an array (the file); blank
/// items dropped.
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a comma-separated list")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                let item = item.trim();
                if !item.is_empty() {
                    out.push(item.to_owned());
                }
            }
            Ok(out)
        }
    }
    d.deserialize_any(ListVisitor)
}
