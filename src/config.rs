//! The typed settings tree: `Leptos.toml` (the app's runtime file), then `.env`, then the
//! process environment, each layer overriding the one before. Every value is checked here, once,
//! at startup; a bad value stops the app with a message naming the key.

use std::{collections::HashMap, fmt, net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::ai::retry::RetryPolicy;

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

#[derive(Debug, Clone)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub cache: CacheSettings,
    pub ai: AiSettings,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub addr: SocketAddr,
    /// Base URL printed in the login link; defaults to `http://<addr>`.
    pub public_url: Option<String>,
    pub body_limit_bytes: usize,
    /// `None` means the registry compiled into the binary.
    pub templates_path: Option<PathBuf>,
    pub log_dir: PathBuf,
    /// A second listener serving only `/metrics`, without a token (keep it private).
    pub metrics_addr: Option<SocketAddr>,
    /// A JSON file of generate requests to pre-fill the cache with at startup.
    pub warmup_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    pub admin_token: Option<SecretString>,
    pub user_tokens: Vec<SecretString>,
}

#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub redis_url: Option<RedisUrl>,
    /// Find the Redis master through Sentinel; `redis_url` then only supplies password and db.
    pub sentinel: Option<SentinelSettings>,
    pub key_prefix: String,
    pub memory_max_entries: usize,
    /// Deadline for every single Redis command.
    pub redis_timeout: Duration,
    /// How often a degraded service checks whether Redis is back.
    pub redis_probe_interval: Duration,
    /// Keep an in-process L1 in front of Redis.
    pub l1_enabled: bool,
    /// Upper bound on an L1 entry's life (never beyond the entry's own TTL).
    pub l1_ttl: Duration,
    /// How long an expired entry is kept to answer when the AI fails.
    pub stale_grace: Duration,
}

#[derive(Debug, Clone)]
pub struct SentinelSettings {
    /// `host:port` of each sentinel.
    pub addrs: Vec<String>,
    pub master: String,
}

#[derive(Debug, Clone)]
pub struct AiSettings {
    pub api_key: Option<SecretString>,
    pub base_url: Url,
    pub model: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub temperature: f32,
    pub max_tokens: Option<u32>,
    /// The pause between the mock generator's streamed pieces, so the page shows it writing.
    pub mock_chunk_delay: Duration,
    /// How many sections of one plan are written at the same time.
    pub plan_concurrency: usize,
}

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

/// A configuration value that could not be used; names the key the operator has to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}: {reason}")]
    File { path: String, reason: String },
    #[error("配置项 {key} 无效: {reason}")]
    Invalid { key: String, reason: String },
}

impl ConfigError {
    fn invalid(key: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The shape of `Leptos.toml`. Unknown keys are rejected so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: FileServer,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    cache: FileCache,
    #[serde(default)]
    ai: FileAi,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    addr: Option<String>,
    public_url: Option<String>,
    body_limit_bytes: Option<u64>,
    templates_path: Option<String>,
    log_dir: Option<String>,
    metrics_addr: Option<String>,
    warmup_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    admin_token: Option<String>,
    user_tokens: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCache {
    redis_url: Option<String>,
    sentinel_urls: Option<String>,
    sentinel_master: Option<String>,
    key_prefix: Option<String>,
    memory_max_entries: Option<u64>,
    redis_timeout_ms: Option<u64>,
    redis_probe_ms: Option<u64>,
    l1_enabled: Option<bool>,
    l1_ttl_secs: Option<f64>,
    stale_grace_secs: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAi {
    api_key: Option<String>,
    base_url: Option<String>,
    model: Option<String>,
    max_retries: Option<u32>,
    retry_base_secs: Option<f64>,
    retry_after_max_secs: Option<f64>,
    timeout_secs: Option<f64>,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    mock_chunk_delay_ms: Option<u64>,
    plan_concurrency: Option<usize>,
}

/// One value with the name an operator would use to change it.
struct Source<'a> {
    env: &'a HashMap<String, String>,
}

impl Source<'_> {
    /// The environment value for `env_key` if set and non-empty, else the file's value.
    fn pick(
        &self,
        env_key: &str,
        file_key: &str,
        file: Option<String>,
    ) -> Option<(String, String)> {
        match self
            .env
            .get(env_key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(v) => Some((env_key.to_owned(), v.to_owned())),
            None => file.map(|v| (file_key.to_owned(), v)),
        }
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        env_key: &str,
        file_key: &str,
        file: Option<T>,
    ) -> Result<Option<(String, T)>, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self
            .env
            .get(env_key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
        {
            Some(v) => v
                .parse::<T>()
                .map(|t| Some((env_key.to_owned(), t)))
                .map_err(|e| ConfigError::invalid(env_key, format!("无法解析 {v:?}: {e}"))),
            None => Ok(file.map(|t| (file_key.to_owned(), t))),
        }
    }
}

impl Settings {
    /// Reads `.env`, then `Leptos.toml` (or the file named by `YUEEN_CONFIG`), then the
    /// process environment.
    pub fn load() -> Result<Self, ConfigError> {
        // A missing .env is normal; a broken one is reported by the values it fails to set.
        let _ = dotenvy::dotenv();
        let env: HashMap<String, String> = std::env::vars().collect();
        let path = env
            .get("YUEEN_CONFIG")
            .cloned()
            .unwrap_or_else(|| DEFAULT_CONFIG_FILE.to_owned());
        let explicit = env.contains_key("YUEEN_CONFIG");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => None,
            Err(e) => {
                return Err(ConfigError::File {
                    path,
                    reason: e.to_string(),
                })
            }
        };
        Self::from_sources(text.as_deref().map(|t| (path.as_str(), t)), &env)
    }

    /// Builds settings from a config file's text (with its name, for messages) and an
    /// environment map. Tests call this directly.
    pub fn from_sources(
        file: Option<(&str, &str)>,
        env: &HashMap<String, String>,
    ) -> Result<Self, ConfigError> {
        let file: FileConfig = match file {
            Some((path, text)) => toml::from_str(text).map_err(|e| ConfigError::File {
                path: path.to_owned(),
                reason: e.message().to_owned() + &describe_toml_span(text, e.span()),
            })?,
            None => FileConfig::default(),
        };
        let src = Source { env };
        Ok(Self {
            server: server_settings(&src, file.server)?,
            auth: auth_settings(&src, file.auth)?,
            cache: cache_settings(&src, file.cache)?,
            ai: ai_settings(&src, file.ai)?,
        })
    }
}

fn describe_toml_span(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    match span {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("（第 {line} 行）")
        }
        None => String::new(),
    }
}

fn server_settings(src: &Source, file: FileServer) -> Result<ServerSettings, ConfigError> {
    let addr = match src.pick("LEPTOS_SITE_ADDR", "server.addr", file.addr) {
        Some((key, v)) => v
            .parse::<SocketAddr>()
            .map_err(|_| ConfigError::invalid(&key, format!("{v:?} 不是 主机:端口 形式的地址")))?,
        None => SocketAddr::from(([127, 0, 0, 1], 3000)),
    };
    let public_url = match src.pick("PUBLIC_URL", "server.public_url", file.public_url) {
        Some((key, v)) => {
            let url = Url::parse(&v).map_err(|e| ConfigError::invalid(&key, e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::invalid(
                    &key,
                    "必须以 http:// 或 https:// 开头",
                ));
            }
            Some(v.trim_end_matches('/').to_owned())
        }
        None => None,
    };
    let body_limit_bytes = match src.parsed(
        "BODY_LIMIT_BYTES",
        "server.body_limit_bytes",
        file.body_limit_bytes,
    )? {
        Some((key, 0)) => return Err(ConfigError::invalid(&key, "必须大于 0")),
        Some((key, n)) => usize::try_from(n).map_err(|_| ConfigError::invalid(&key, "数值过大"))?,
        None => 64 * 1024,
    };
    let templates_path = src
        .pick(
            "TEMPLATES_PATH",
            "server.templates_path",
            file.templates_path,
        )
        .map(|(_, v)| PathBuf::from(v));
    let log_dir = src
        .pick("LOG_DIR", "server.log_dir", file.log_dir)
        .map(|(_, v)| PathBuf::from(v))
        .unwrap_or_else(|| PathBuf::from("logs"));
    let metrics_addr =
        match src.pick("METRICS_ADDR", "server.metrics_addr", file.metrics_addr) {
            Some((key, v)) => Some(v.parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid(&key, format!("{v:?} 不是 主机:端口 形式的地址"))
            })?),
            None => None,
        };
    let warmup_file = src
        .pick("WARMUP_FILE", "server.warmup_file", file.warmup_file)
        .map(|(_, v)| PathBuf::from(v));
    Ok(ServerSettings {
        addr,
        public_url,
        body_limit_bytes,
        templates_path,
        log_dir,
        metrics_addr,
        warmup_file,
    })
}

const MIN_TOKEN_LEN: usize = 8;

fn check_token(key: &str, token: &str) -> Result<SecretString, ConfigError> {
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(ConfigError::invalid(
            key,
            format!("令牌至少需要 {MIN_TOKEN_LEN} 个字符"),
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(key, "令牌不能包含空白或控制字符"));
    }
    Ok(SecretString::from(token))
}

fn auth_settings(src: &Source, file: FileAuth) -> Result<AuthSettings, ConfigError> {
    let admin_token = match src.pick("ADMIN_TOKEN", "auth.admin_token", file.admin_token) {
        Some((key, v)) => Some(check_token(&key, &v)?),
        None => None,
    };
    let user_tokens = match src.env.get("USER_TOKENS").filter(|v| !v.trim().is_empty()) {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| check_token("USER_TOKENS", t))
            .collect::<Result<Vec<_>, _>>()?,
        None => file
            .user_tokens
            .unwrap_or_default()
            .iter()
            .map(|t| check_token("auth.user_tokens", t.trim()))
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(AuthSettings {
        admin_token,
        user_tokens,
    })
}

fn cache_settings(src: &Source, file: FileCache) -> Result<CacheSettings, ConfigError> {
    let redis_url = match src.pick("REDIS_URL", "cache.redis_url", file.redis_url) {
        Some((key, v)) => {
            Some(RedisUrl::parse(&v).map_err(|reason| ConfigError::invalid(&key, reason))?)
        }
        None => None,
    };
    let sentinel = match (
        src.pick(
            "REDIS_SENTINEL_URLS",
            "cache.sentinel_urls",
            file.sentinel_urls,
        ),
        src.pick(
            "REDIS_SENTINEL_MASTER",
            "cache.sentinel_master",
            file.sentinel_master,
        ),
    ) {
        (None, None) => None,
        (Some((key, _)), None) => {
            return Err(ConfigError::invalid(
                &key,
                "还需要设置 REDIS_SENTINEL_MASTER（主节点名称）",
            ))
        }
        (None, Some((key, _))) => {
            return Err(ConfigError::invalid(
                &key,
                "还需要设置 REDIS_SENTINEL_URLS（哨兵地址）",
            ))
        }
        (Some((key, urls)), Some((_, master))) => {
            let addrs = urls
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(|u| {
                    let hostport = u
                        .strip_prefix("redis://")
                        .unwrap_or(u)
                        .trim_end_matches('/');
                    match hostport.rsplit_once(':') {
                        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                            Ok(hostport.to_owned())
                        }
                        _ => Err(ConfigError::invalid(
                            &key,
                            format!("{u:?} 不是 主机:端口 形式的哨兵地址"),
                        )),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            if addrs.is_empty() {
                return Err(ConfigError::invalid(&key, "至少需要一个哨兵地址"));
            }
            Some(SentinelSettings { addrs, master })
        }
    };
    let key_prefix = match src.pick("CACHE_KEY_PREFIX", "cache.key_prefix", file.key_prefix) {
        Some((key, v)) => {
            if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::invalid(&key, "不能包含空白或控制字符"));
            }
            if v.len() > 64 {
                return Err(ConfigError::invalid(&key, "长度不能超过 64 字节"));
            }
            v
        }
        None => "yueen:".to_owned(),
    };
    let memory_max_entries = match src.parsed(
        "CACHE_MEMORY_MAX_ENTRIES",
        "cache.memory_max_entries",
        file.memory_max_entries,
    )? {
        Some((key, 0)) => return Err(ConfigError::invalid(&key, "必须大于 0")),
        Some((key, n)) => usize::try_from(n).map_err(|_| ConfigError::invalid(&key, "数值过大"))?,
        None => 10_000,
    };
    let redis_timeout = match src.parsed(
        "CACHE_REDIS_TIMEOUT_MS",
        "cache.redis_timeout_ms",
        file.redis_timeout_ms,
    )? {
        Some((key, 0)) => return Err(ConfigError::invalid(&key, "必须大于 0")),
        Some((key, n)) if n > 10_000 => {
            return Err(ConfigError::invalid(&key, "不能超过 10000 毫秒"))
        }
        Some((_, n)) => Duration::from_millis(n),
        None => Duration::from_millis(250),
    };
    let redis_probe_interval = match src.parsed(
        "CACHE_REDIS_PROBE_MS",
        "cache.redis_probe_ms",
        file.redis_probe_ms,
    )? {
        Some((key, n)) if !(10..=60_000).contains(&n) => {
            return Err(ConfigError::invalid(&key, "应在 10 到 60000 毫秒之间"))
        }
        Some((_, n)) => Duration::from_millis(n),
        None => Duration::from_millis(500),
    };
    let l1_enabled = match src.parsed("CACHE_L1_ENABLED", "cache.l1_enabled", file.l1_enabled)? {
        Some((_, b)) => b,
        None => true,
    };
    let l1_ttl = match src.parsed("CACHE_L1_TTL_SECS", "cache.l1_ttl_secs", file.l1_ttl_secs)? {
        Some((key, v)) => seconds(&key, v, 30.0 * 86_400.0, false)?,
        None => Duration::from_secs(300),
    };
    let stale_grace = match src.parsed(
        "CACHE_STALE_GRACE_SECS",
        "cache.stale_grace_secs",
        file.stale_grace_secs,
    )? {
        Some((key, v)) => seconds(&key, v, 30.0 * 86_400.0, true)?,
        None => Duration::from_secs(86_400),
    };
    Ok(CacheSettings {
        redis_url,
        sentinel,
        key_prefix,
        memory_max_entries,
        redis_timeout,
        redis_probe_interval,
        l1_enabled,
        l1_ttl,
        stale_grace,
    })
}

fn seconds(key: &str, value: f64, max: f64, allow_zero: bool) -> Result<Duration, ConfigError> {
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) {
        let bound = if allow_zero {
            "不能为负数"
        } else {
            "必须大于 0"
        };
        return Err(ConfigError::invalid(key, bound));
    }
    if value > max {
        return Err(ConfigError::invalid(key, format!("不能超过 {max} 秒")));
    }
    Ok(Duration::from_secs_f64(value))
}

fn ai_settings(src: &Source, file: FileAi) -> Result<AiSettings, ConfigError> {
    let api_key = src
        .pick("OPENAI_API_KEY", "ai.api_key", file.api_key)
        .map(|(_, v)| SecretString::from(v));
    let base_url = match src.pick("OPENAI_BASE_URL", "ai.base_url", file.base_url) {
        Some((key, v)) => {
            let url = Url::parse(v.trim_end_matches('/'))
                .map_err(|e| ConfigError::invalid(&key, format!("不是有效的 URL（{e}）")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(ConfigError::invalid(
                    &key,
                    "必须以 http:// 或 https:// 开头",
                ));
            }
            url
        }
        None => Url::parse("https://api.openai.com/v1").expect("the default base URL is valid"),
    };
    let model = src
        .pick("AI_MODEL", "ai.model", file.model)
        .map(|(_, v)| v)
        .unwrap_or_else(|| "gpt-4".to_owned());
    let max_retries = match src.parsed("AI_MAX_RETRIES", "ai.max_retries", file.max_retries)? {
        Some((key, n)) if n > 10 => return Err(ConfigError::invalid(&key, "不能超过 10")),
        Some((_, n)) => n,
        None => 3,
    };
    let base = match src.parsed(
        "AI_RETRY_BASE_SECS",
        "ai.retry_base_secs",
        file.retry_base_secs,
    )? {
        Some((key, v)) => seconds(&key, v, 60.0, true)?,
        None => Duration::from_secs(2),
    };
    let retry_after_max = match src.parsed(
        "AI_RETRY_AFTER_MAX_SECS",
        "ai.retry_after_max_secs",
        file.retry_after_max_secs,
    )? {
        Some((key, v)) => seconds(&key, v, 600.0, true)?,
        None => Duration::from_secs(30),
    };
    let timeout = match src.parsed("AI_TIMEOUT_SECS", "ai.timeout_secs", file.timeout_secs)? {
        Some((key, v)) => seconds(&key, v, 600.0, false)?,
        None => Duration::from_secs(30),
    };
    let temperature = match src.parsed("AI_TEMPERATURE", "ai.temperature", file.temperature)? {
        Some((key, t)) if !(0.0..=2.0).contains(&t) => {
            return Err(ConfigError::invalid(&key, "应在 0 到 2 之间"))
        }
        Some((_, t)) => t,
        None => 0.3,
    };
    let max_tokens = match src.parsed("AI_MAX_TOKENS", "ai.max_tokens", file.max_tokens)? {
        Some((key, 0)) => return Err(ConfigError::invalid(&key, "必须大于 0")),
        Some((_, n)) => Some(n),
        None => None,
    };
    let mock_chunk_delay = match src.parsed(
        "AI_MOCK_CHUNK_DELAY_MS",
        "ai.mock_chunk_delay_ms",
        file.mock_chunk_delay_ms,
    )? {
        Some((key, ms)) if ms > 5_000 => {
            return Err(ConfigError::invalid(&key, "不能超过 5000 毫秒"))
        }
        Some((_, ms)) => Duration::from_millis(ms),
        None => Duration::from_millis(25),
    };
    let plan_concurrency = match src.parsed(
        "AI_PLAN_CONCURRENCY",
        "ai.plan_concurrency",
        file.plan_concurrency,
    )? {
        Some((key, n)) if !(1..=16).contains(&n) => {
            return Err(ConfigError::invalid(&key, "应在 1 到 16 之间"))
        }
        Some((_, n)) => n,
        None => 3,
    };
    Ok(AiSettings {
        api_key,
        base_url,
        model,
        timeout,
        retry: RetryPolicy {
            max_retries,
            base,
            retry_after_max,
        },
        temperature,
        max_tokens,
        mock_chunk_delay,
        plan_concurrency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn invalid_key(err: ConfigError) -> String {
        match err {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("expected an invalid value, got {other}"),
        }
    }

    #[test]
    fn defaults_match_the_seed() {
        let s = Settings::from_sources(None, &env(&[])).unwrap();
        assert!(s.cache.redis_url.is_none());
        assert!(s.ai.api_key.is_none());
        assert_eq!(s.ai.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(s.ai.model, "gpt-4");
        assert_eq!(s.ai.retry.max_retries, 3);
        assert_eq!(s.ai.retry.base, Duration::from_secs(2));
        assert_eq!(s.ai.timeout, Duration::from_secs(30));
        assert_eq!(s.cache.key_prefix, "yueen:");
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn environment_overrides_the_file() {
        let file =
            "[ai]\nmodel = \"qwen-max\"\nretry_base_secs = 1.5\n[cache]\nkey_prefix = \"a:\"\n";
        let s = Settings::from_sources(
            Some(("Leptos.toml", file)),
            &env(&[("CACHE_KEY_PREFIX", "b:"), ("AI_RETRY_BASE_SECS", "0.25")]),
        )
        .unwrap();
        assert_eq!(s.ai.model, "qwen-max");
        assert_eq!(s.ai.retry.base, Duration::from_millis(250));
        assert_eq!(s.cache.key_prefix, "b:");
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let s = Settings::from_sources(None, &env(&[("REDIS_URL", ""), ("OPENAI_API_KEY", " ")]))
            .unwrap();
        assert!(s.cache.redis_url.is_none());
        assert!(s.ai.api_key.is_none());
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            ("AI_MAX_RETRIES", "three"),
            ("AI_MAX_RETRIES", "11"),
            ("AI_RETRY_BASE_SECS", "-1"),
            ("AI_TIMEOUT_SECS", "0"),
            ("REDIS_URL", "http://localhost:6379"),
            ("OPENAI_BASE_URL", "not a url"),
            ("CACHE_MEMORY_MAX_ENTRIES", "0"),
            ("CACHE_KEY_PREFIX", "has space"),
            ("CACHE_L1_ENABLED", "maybe"),
            ("CACHE_STALE_GRACE_SECS", "-1"),
            ("CACHE_REDIS_PROBE_MS", "1"),
            ("REDIS_SENTINEL_URLS", "localhost"),
            ("ADMIN_TOKEN", "short"),
            ("LEPTOS_SITE_ADDR", "localhost"),
        ];
        for (key, value) in cases {
            let err = Settings::from_sources(None, &env(&[(key, value)])).unwrap_err();
            let message = err.to_string();
            assert_eq!(invalid_key(err), key, "{message}");
            assert!(message.contains(key), "{message}");
        }
    }

    #[test]
    fn bad_file_values_name_the_file_key() {
        let err = Settings::from_sources(
            Some(("Leptos.toml", "[ai]\ntimeout_secs = -3\n")),
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(invalid_key(err), "ai.timeout_secs");
    }

    #[test]
    fn unknown_file_keys_are_rejected_with_the_line() {
        let err = Settings::from_sources(
            Some(("Leptos.toml", "[cache]\n\nredis_ulr = \"x\"\n")),
            &env(&[]),
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("redis_ulr"), "{message}");
        assert!(message.contains("第 3 行"), "{message}");
    }

    #[test]
    fn user_tokens_are_comma_separated() {
        let s = Settings::from_sources(
            None,
            &env(&[("USER_TOKENS", "user-token-1, user-token-2,")]),
        )
        .unwrap();
        assert_eq!(s.auth.user_tokens.len(), 2);
        assert_eq!(s.auth.user_tokens[1].expose_secret(), "user-token-2");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::from_sources(
            None,
            &env(&[
                ("OPENAI_API_KEY", "sk-very-secret"),
                ("ADMIN_TOKEN", "admin-very-secret"),
                ("REDIS_URL", "redis://:hunter2-pass@localhost:6379/0"),
            ]),
        )
        .unwrap();
        let printed = format!("{s:?}");
        for secret in ["sk-very-secret", "admin-very-secret", "hunter2-pass"] {
            assert!(!printed.contains(secret), "{secret} leaked in {printed}");
        }
    }

    #[test]
    fn redaction_hides_passwords_only() {
        assert_eq!(
            redact_url("redis://:s3cret@localhost:6379/0"),
            "redis://:***@localhost:6379/0"
        );
        assert_eq!(
            redact_url("redis://user:s3cret@cache.internal:6380/2"),
            "redis://user:***@cache.internal:6380/2"
        );
        assert_eq!(
            redact_url("redis://localhost:6379/0"),
            "redis://localhost:6379/0"
        );
        assert_eq!(redact_url("redis//:oops@x"), "***");
    }

    #[test]
    fn scrub_removes_the_password_from_messages() {
        let url = RedisUrl::parse("redis://:p%40ss-word@127.0.0.1:1/0").unwrap();
        let message = format!("failed to connect to {} with p%40ss-word", url.expose());
        let scrubbed = url.scrub(&message);
        assert!(!scrubbed.contains("p%40ss-word"), "{scrubbed}");
        assert!(
            scrubbed.contains("redis://:***@127.0.0.1:1/0"),
            "{scrubbed}"
        );
    }
}
