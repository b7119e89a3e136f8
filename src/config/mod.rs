//! The typed settings tree. Defaults (each section's `Default`), then the runtime config file
//! (`Leptos.toml`, or `YUEEN_CONFIG`), then `.env` and the environment, layered by figment; each
//! key is written once, as a field, and read by the reader its type needs (`values`). A bad value
//! stops the app with a message naming the key as the operator wrote it.

mod drift;
mod redis_url;
mod sources;
mod values;

use std::{collections::HashMap, net::SocketAddr, path::PathBuf, time::Duration};

use figment::{Figment, Metadata, Provider};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

pub use redis_url::{redact_url, RedisUrl};
pub use sources::ENV;
use sources::{key_name, line_of, EnvLayer, FileLayer, SECRET_KEYS};
pub use values::token_digest;

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub cache: CacheSettings,
    pub ai: AiSettings,
    pub limits: LimitSettings,
    pub store: StoreSettings,
}

/// Where writers' plans are kept, and how much of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `postgres://…` (what several instances share) or `sqlite://…`; unset: the SQLite file
    /// `yueen.db` under `data_dir`, made on first start.
    #[serde(deserialize_with = "values::database_url")]
    pub database_url: Option<SecretString>,
    #[serde(deserialize_with = "values::path")]
    pub data_dir: PathBuf,
    /// Automatic versions (one per generated section) kept per plan; named ones are all kept.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 10_000>")]
    pub auto_versions: usize,
    /// Named versions a plan may have.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 10_000>")]
    pub named_versions: usize,
    /// Plans (the trash included) one user may keep.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 1_000_000>")]
    pub max_plans_per_user: usize,
    /// Space one user's plans, versions and trash may take, in MiB.
    #[serde(deserialize_with = "values::count::<_, 1, 10_000_000>")]
    pub storage_per_user_mib: u64,
    /// Days a deleted plan can still be restored.
    #[serde(deserialize_with = "values::count_u32::<_, 1, 3650>")]
    pub trash_days: u32,
    /// Deadline for every database call (waiting for a connection included).
    #[serde(
        rename = "timeout_ms",
        deserialize_with = "values::millis::<_, 100, 60_000>"
    )]
    pub timeout: Duration,
    /// Connections this instance keeps open at most.
    #[serde(deserialize_with = "values::count_u32::<_, 1, 1_000>")]
    pub max_connections: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("data"),
            auto_versions: 50,
            named_versions: 200,
            max_plans_per_user: 1000,
            storage_per_user_mib: 1024,
            trash_days: 30,
            timeout: Duration::from_secs(5),
            max_connections: 8,
        }
    }
}

/// How much one user may ask for; unset is unlimited. The `[limits]` table holds everyone's
/// defaults, a user entry may set its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Requests (a cache hit too; each section of a plan) per minute.
    #[serde(deserialize_with = "values::optional_u32::<_, 1, 1_000_000>")]
    pub requests_per_minute: Option<u32>,
    /// Generations (a plan is one) running at once.
    #[serde(deserialize_with = "values::optional_u32::<_, 1, 10_000>")]
    pub concurrent_generations: Option<u32>,
    /// Model tokens (prompt and completion) per day, China time.
    #[serde(deserialize_with = "values::optional_u64::<_, 1, 1_000_000_000_000>")]
    pub tokens_per_day: Option<u64>,
}

impl LimitSettings {
    /// These limits, each one this user does not set taken from `defaults`.
    pub fn or(self, defaults: LimitSettings) -> LimitSettings {
        LimitSettings {
            requests_per_minute: self.requests_per_minute.or(defaults.requests_per_minute),
            concurrent_generations: self
                .concurrent_generations
                .or(defaults.concurrent_generations),
            tokens_per_day: self.tokens_per_day.or(defaults.tokens_per_day),
        }
    }
}

/// One entry of `USER_TOKENS`.
#[derive(Debug, Clone)]
pub struct UserToken {
    /// `None`: a bare token, named by its position in the list.
    pub name: Option<String>,
    pub token: SecretString,
}

#[cfg(test)]
impl From<&str> for UserToken {
    /// `name:token` or a bare token, as `USER_TOKENS` reads it (unchecked: for tests).
    fn from(entry: &str) -> Self {
        match entry.split_once(':') {
            Some((name, token)) => Self {
                name: Some(name.to_owned()),
                token: token.into(),
            },
            None => Self {
                name: None,
                token: entry.into(),
            },
        }
    }
}

/// A named user of the configuration file: the token is given only as its SHA-256 (hex), so
/// the file holds no secret.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    #[serde(deserialize_with = "values::required_user_name")]
    pub name: String,
    #[serde(default = "user_role")]
    pub role: crate::model::Role,
    #[serde(deserialize_with = "values::sha256_hex")]
    pub token_sha256: [u8; 32],
    /// This user's own limits, over the `[limits]` defaults
    /// (`limits = { tokens_per_day = 200000 }`).
    #[serde(default)]
    pub limits: LimitSettings,
}

fn user_role() -> crate::model::Role {
    crate::model::Role::User
}

/// The name `ADMIN_TOKEN` (and the token made up at startup) goes by.
pub const ADMIN_NAME: &str = "管理员";

/// The name the `n`-th (from 1) of `USER_TOKENS` goes by.
pub fn user_token_name(n: usize) -> String {
    format!("用户{n}")
}

impl AuthSettings {
    /// Whether any user at all is configured: without one, the app makes up an admin token.
    pub fn has_users(&self) -> bool {
        self.admin_token.is_some() || !self.user_tokens.is_empty() || !self.users.is_empty()
    }

    /// The name each `USER_TOKENS` entry goes by, in order.
    pub fn user_token_names(&self) -> impl Iterator<Item = String> + '_ {
        self.user_tokens
            .iter()
            .enumerate()
            .map(|(i, entry)| entry.name.clone().unwrap_or_else(|| user_token_name(i + 1)))
    }

    /// Every user has a name of their own and a token of their own.
    fn check_users(&self) -> Result<(), String> {
        use secrecy::ExposeSecret;
        let mut names = std::collections::HashSet::new();
        let mut digests = std::collections::HashSet::new();
        let tokens = self
            .admin_token
            .iter()
            .map(|t| {
                (
                    ADMIN_NAME.to_owned(),
                    values::token_digest(t.expose_secret()),
                )
            })
            .chain(
                self.user_token_names()
                    .zip(&self.user_tokens)
                    .map(|(name, e)| (name, values::token_digest(e.token.expose_secret()))),
            )
            .chain(self.users.iter().map(|u| (u.name.clone(), u.token_sha256)));
        for (name, digest) in tokens {
            if !names.insert(name.clone()) {
                return Err(format!("用户名 {name:?} 重复（ADMIN_TOKEN 名为{ADMIN_NAME}，USER_TOKENS 中没有名称的令牌依次名为用户1、用户2……）"));
            }
            if !digests.insert(digest) {
                return Err(format!("用户 {name:?} 的令牌与另一个用户相同"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    #[serde(deserialize_with = "values::addr")]
    pub addr: SocketAddr,
    /// Base URL printed in the login link; defaults to `http://<addr>`.
    #[serde(deserialize_with = "values::public_url")]
    pub public_url: Option<String>,
    #[serde(deserialize_with = "values::count_usize::<_, 1, 1_073_741_824>")]
    pub body_limit_bytes: usize,
    /// `None` means the registry compiled into the binary.
    #[serde(deserialize_with = "values::optional_path")]
    pub templates_path: Option<PathBuf>,
    #[serde(deserialize_with = "values::path")]
    pub log_dir: PathBuf,
    /// Daily log files kept.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 3650>")]
    pub log_keep_days: usize,
    /// A second listener serving only `/metrics`, without a token (keep it private).
    #[serde(deserialize_with = "values::optional_addr")]
    pub metrics_addr: Option<SocketAddr>,
    /// A JSON file of generate requests to pre-fill the cache with at startup.
    #[serde(deserialize_with = "values::optional_path")]
    pub warmup_file: Option<PathBuf>,
    /// Connections served at once; more wait in the listen queue.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 1_000_000>")]
    pub max_connections: usize,
    /// Connections one client address may hold at once (IPv6 by its /64; trusted proxies are
    /// not counted, they carry many clients).
    #[serde(deserialize_with = "values::count_usize::<_, 1, 1_000_000>")]
    pub max_connections_per_ip: usize,
    /// A client must send its request headers within this.
    #[serde(
        rename = "header_read_timeout_secs",
        deserialize_with = "values::seconds::<_, 60, false>"
    )]
    pub header_read_timeout: Duration,
    /// A request's body must have arrived within this from the request's start; otherwise 408.
    #[serde(
        rename = "body_read_timeout_secs",
        deserialize_with = "values::seconds::<_, 600, false>"
    )]
    pub body_read_timeout: Duration,
    /// A response the client takes nothing of for this long ends its connection.
    #[serde(
        rename = "write_timeout_secs",
        deserialize_with = "values::seconds::<_, 600, false>"
    )]
    pub write_timeout: Duration,
    /// A request must have its answer started within this (streams then run on their own
    /// deadline); otherwise 504.
    #[serde(
        rename = "request_timeout_secs",
        deserialize_with = "values::seconds::<_, 3600, false>"
    )]
    pub request_timeout: Duration,
    /// Proxies (load balancers) whose `X-Forwarded-For` names the client; others are the
    /// client themselves.
    #[serde(deserialize_with = "values::ip_addrs")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The longest a streamed answer (a section or a whole plan) may run.
    #[serde(
        rename = "stream_deadline_secs",
        deserialize_with = "values::seconds::<_, 7200, false>"
    )]
    pub stream_deadline: Duration,
    /// After SIGTERM: how long `/readyz` says 503 while requests are still served, so a
    /// balancer stops sending before the listener closes.
    #[serde(
        rename = "shutdown_drain_secs",
        deserialize_with = "values::seconds::<_, 600, true>"
    )]
    pub shutdown_drain: Duration,
    /// Then: how long running requests, streams and generations may take to finish.
    #[serde(
        rename = "shutdown_timeout_secs",
        deserialize_with = "values::seconds::<_, 3600, false>"
    )]
    pub shutdown_timeout: Duration,
    /// How often this instance reports its figures and itself to the deployment (Redis).
    #[serde(
        rename = "report_interval_ms",
        deserialize_with = "values::millis::<_, 100, 60_000>"
    )]
    pub report_interval: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            body_limit_bytes: 64 * 1024,
            templates_path: None,
            log_dir: PathBuf::from("logs"),
            log_keep_days: 14,
            metrics_addr: None,
            warmup_file: None,
            max_connections: 4096,
            max_connections_per_ip: 256,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            trusted_proxies: Vec::new(),
            request_timeout: Duration::from_secs(150),
            stream_deadline: Duration::from_secs(600),
            shutdown_drain: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(60),
            report_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    #[serde(deserialize_with = "values::optional_token")]
    pub admin_token: Option<SecretString>,
    /// `name:token` entries (a bare token goes by its position: 用户1, 用户2, …).
    #[serde(deserialize_with = "values::user_tokens")]
    pub user_tokens: Vec<UserToken>,
    /// Signs session cookies; every instance must share it. Unset: one made up per process.
    #[serde(deserialize_with = "values::optional_session_secret")]
    pub session_secret: Option<SecretString>,
    /// A session's longest life.
    #[serde(
        rename = "session_ttl_secs",
        deserialize_with = "values::seconds::<_, 7_776_000, false>"
    )]
    pub session_ttl: Duration,
    /// Login attempts a client address may make per minute (a burst of this many, then one
    /// every `60 / n` seconds).
    #[serde(deserialize_with = "values::count_u32::<_, 1, 10_000>")]
    pub login_attempts_per_minute: u32,
    /// Named users, each with a token (as its SHA-256), a role and their own limits.
    pub users: Vec<UserSettings>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            admin_token: None,
            user_tokens: Vec::new(),
            session_secret: None,
            session_ttl: Duration::from_secs(7 * 86_400),
            login_attempts_per_minute: 30,
            users: Vec::new(),
        }
    }
}

/// Where the cache lives. Chosen from `REDIS_URL` and the sentinel settings.
#[derive(Debug, Clone, Default)]
pub enum CacheBackend {
    /// In-process memory only.
    #[default]
    Memory,
    /// One Redis server, with memory as L1 and as the fallback.
    Redis { url: RedisUrl },
    /// The master the sentinels name; `url` supplies only the password and the db.
    Sentinel {
        sentinel: SentinelSettings,
        url: RedisUrl,
    },
    /// A Redis Cluster, found from its seed nodes.
    Cluster { seeds: Vec<RedisUrl> },
}

impl CacheBackend {
    pub fn uses_redis(&self) -> bool {
        !matches!(self, Self::Memory)
    }
}

#[derive(Debug, Clone)]
pub struct SentinelSettings {
    /// `host:port` of each sentinel.
    pub addrs: Vec<String>,
    pub master: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheSettings {
    /// Worked out from the three keys below once the layers are merged.
    #[serde(skip)]
    pub backend: CacheBackend,
    #[serde(deserialize_with = "values::redis_url")]
    redis_url: Option<RedisUrl>,
    #[serde(deserialize_with = "values::sentinel_addrs")]
    sentinel_urls: Vec<String>,
    #[serde(deserialize_with = "values::optional_text")]
    sentinel_master: Option<String>,
    #[serde(deserialize_with = "values::cluster_urls")]
    cluster_urls: Vec<RedisUrl>,
    #[serde(deserialize_with = "values::key_prefix")]
    pub key_prefix: String,
    #[serde(deserialize_with = "values::count_usize::<_, 1, 100_000_000>")]
    pub memory_max_entries: usize,
    /// Deadline for every single Redis command.
    #[serde(
        rename = "redis_timeout_ms",
        deserialize_with = "values::millis::<_, 1, 10_000>"
    )]
    pub redis_timeout: Duration,
    /// How often a degraded service checks whether Redis is back.
    #[serde(
        rename = "redis_probe_ms",
        deserialize_with = "values::millis::<_, 10, 60_000>"
    )]
    pub redis_probe_interval: Duration,
    /// Keep an in-process L1 in front of Redis.
    #[serde(deserialize_with = "values::flag")]
    pub l1_enabled: bool,
    /// Upper bound on an L1 entry's life (never beyond the entry's own TTL).
    #[serde(
        rename = "l1_ttl_secs",
        deserialize_with = "values::seconds::<_, 2_592_000, false>"
    )]
    pub l1_ttl: Duration,
    /// How long an expired entry is kept to answer when the AI fails.
    #[serde(
        rename = "stale_grace_secs",
        deserialize_with = "values::seconds::<_, 2_592_000, true>"
    )]
    pub stale_grace: Duration,
    /// Keep answers that miss elements of the standard as fresh too (normally they are
    /// returned with their check and the next request asks the model again).
    #[serde(deserialize_with = "values::flag")]
    pub keep_incomplete: bool,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            backend: CacheBackend::Memory,
            redis_url: None,
            sentinel_urls: Vec::new(),
            sentinel_master: None,
            cluster_urls: Vec::new(),
            key_prefix: "yueen:".to_owned(),
            memory_max_entries: 10_000,
            redis_timeout: Duration::from_millis(250),
            redis_probe_interval: Duration::from_millis(500),
            l1_enabled: true,
            l1_ttl: Duration::from_secs(300),
            stale_grace: Duration::from_secs(86_400),
            keep_incomplete: false,
        }
    }
}

impl CacheSettings {
    /// Memory only, for tests and tools.
    pub fn memory(key_prefix: &str) -> Self {
        Self {
            key_prefix: key_prefix.to_owned(),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiSettings {
    /// Unset: the mock generator.
    #[serde(deserialize_with = "values::optional_secret")]
    pub api_key: Option<SecretString>,
    #[serde(deserialize_with = "values::base_url")]
    pub base_url: Url,
    #[serde(deserialize_with = "values::required_text")]
    pub model: String,
    /// Per attempt.
    #[serde(
        rename = "timeout_secs",
        deserialize_with = "values::seconds::<_, 600, false>"
    )]
    pub timeout: Duration,
    /// Retries after the first attempt (the seed's 3).
    #[serde(deserialize_with = "values::count_u32::<_, 0, 10>")]
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each one after.
    #[serde(
        rename = "retry_base_secs",
        deserialize_with = "values::seconds::<_, 60, true>"
    )]
    pub retry_base: Duration,
    /// Upper bound on a server-requested `Retry-After` wait.
    #[serde(
        rename = "retry_after_max_secs",
        deserialize_with = "values::seconds::<_, 600, true>"
    )]
    pub retry_after_max: Duration,
    #[serde(deserialize_with = "values::temperature")]
    pub temperature: f32,
    #[serde(deserialize_with = "values::optional_u32::<_, 1, 4_294_967_295>")]
    pub max_tokens: Option<u32>,
    /// The pause between the mock generator's streamed pieces, so the page shows it writing.
    #[serde(
        rename = "mock_chunk_delay_ms",
        deserialize_with = "values::millis::<_, 0, 5_000>"
    )]
    pub mock_chunk_delay: Duration,
    /// How many sections of one plan are written at the same time.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 16>")]
    pub plan_concurrency: usize,
    /// Price of a million prompt tokens; 0 = not priced.
    #[serde(deserialize_with = "values::non_negative::<_, 1_000_000>")]
    pub price_input_per_mtok: f64,
    /// Price of a million completion tokens; 0 = not priced.
    #[serde(deserialize_with = "values::non_negative::<_, 1_000_000>")]
    pub price_output_per_mtok: f64,
    #[serde(deserialize_with = "values::required_text")]
    pub price_currency: String,
    /// Model calls this instance makes at once.
    #[serde(deserialize_with = "values::count_usize::<_, 1, 10_000>")]
    pub max_concurrency: usize,
    /// Generations that may wait for a free call; past this, 503.
    #[serde(deserialize_with = "values::count_usize::<_, 0, 100_000>")]
    pub max_queue: usize,
}

impl Default for AiSettings {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: Url::parse("https://api.openai.com/v1")
                .expect("the default base URL is valid"),
            model: "gpt-4".to_owned(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_base: Duration::from_secs(2),
            retry_after_max: Duration::from_secs(30),
            temperature: 0.3,
            max_tokens: None,
            mock_chunk_delay: Duration::from_millis(25),
            plan_concurrency: 3,
            price_input_per_mtok: 0.0,
            price_output_per_mtok: 0.0,
            price_currency: "CNY".to_owned(),
            max_concurrency: 16,
            max_queue: 100,
        }
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

impl Settings {
    /// Reads `.env` into the environment, then layers `Leptos.toml` (or the file named by
    /// `YUEEN_CONFIG`) and the environment over the defaults.
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
        let file = file.map(|(path, text)| FileLayer {
            path: path.to_owned(),
            text: text.to_owned(),
        });
        let mut figment = Figment::new();
        if let Some(file) = &file {
            // A file that is not TOML at all is reported as a whole.
            file.data().map_err(|e| ConfigError::File {
                path: file.path.clone(),
                reason: e.to_string(),
            })?;
            figment = figment.merge(file);
        }
        let figment = figment.merge(EnvLayer(env));
        let invalid = |key: &str, reason: String| -> ConfigError {
            invalid(key, reason, figment.find_metadata(key), file.as_ref())
        };
        let mut settings: Settings = figment.extract().map_err(|e| {
            let (key, reason) = describe(&e);
            invalid(&key, reason)
        })?;
        settings.cache.backend = settings.cache.choose_backend(&invalid)?;
        settings
            .auth
            .check_users()
            .map_err(|reason| invalid("auth.users", reason))?;
        Ok(settings)
    }
}

impl CacheSettings {
    fn choose_backend(
        &mut self,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<CacheBackend, ConfigError> {
        let addrs = std::mem::take(&mut self.sentinel_urls);
        let url = self.redis_url.take();
        let seeds = std::mem::take(&mut self.cluster_urls);
        if !seeds.is_empty() {
            if url.is_some() || !addrs.is_empty() || self.sentinel_master.is_some() {
                return Err(invalid(
                    "cache.cluster_urls",
                    "集群与 REDIS_URL / 哨兵只能选一种（集群节点的密码写在各自的地址里）"
                        .to_owned(),
                ));
            }
            return Ok(CacheBackend::Cluster { seeds });
        }
        match (addrs.is_empty(), self.sentinel_master.take()) {
            (true, None) => Ok(url.map_or(CacheBackend::Memory, |url| CacheBackend::Redis { url })),
            (false, None) => Err(invalid(
                "cache.sentinel_urls",
                "还需要设置 REDIS_SENTINEL_MASTER（cache.sentinel_master，主节点名称）".to_owned(),
            )),
            (true, Some(_)) => Err(invalid(
                "cache.sentinel_master",
                "还需要设置 REDIS_SENTINEL_URLS（cache.sentinel_urls，哨兵地址）".to_owned(),
            )),
            (false, Some(master)) => Ok(CacheBackend::Sentinel {
                sentinel: SentinelSettings { addrs, master },
                // Without a URL: no password, db 0; the host comes from the sentinels.
                url: match url {
                    Some(url) => url,
                    None => RedisUrl::parse("redis://127.0.0.1:6379/0")
                        .map_err(|reason| invalid("cache.redis_url", reason))?,
                },
            }),
        }
    }
}

impl AiSettings {
    /// The retry policy these settings describe.
    pub fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            base: self.retry_base,
            retry_after_max: self.retry_after_max,
        }
    }
}

/// When to try the model again and how long to wait: base · 2ⁿ, `Retry-After` capped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base: Duration,
    pub retry_after_max: Duration,
}

/// The key (dotted) and the reason of a figment error, in the operator's words.
fn describe(e: &figment::Error) -> (String, String) {
    use figment::error::Kind;
    // An item of a list is reported as the list.
    let path: Vec<&str> = e
        .path
        .iter()
        .map(String::as_str)
        .filter(|p| p.parse::<usize>().is_err())
        .collect();
    let key = path.join(".");
    let reason = match &e.kind {
        Kind::Message(m) => m.clone(),
        // A secret's value is not repeated, even when it is the wrong type.
        Kind::InvalidType(..) | Kind::InvalidValue(..) if SECRET_KEYS.contains(&key.as_str()) => {
            "类型不正确，应为字符串".to_owned()
        }
        Kind::InvalidType(actual, _) | Kind::InvalidValue(actual, _) => {
            format!("无法解析 {actual}")
        }
        Kind::UnknownField(..) => "不是已知的配置项".to_owned(),
        other => other.to_string(),
    };
    (key, reason)
}

fn invalid(
    key: &str,
    reason: String,
    metadata: Option<&Metadata>,
    file: Option<&FileLayer>,
) -> ConfigError {
    let name = key_name(key, metadata);
    let from_file = file.filter(|f| metadata.is_some_and(|m| m.name == f.path));
    let reason = match from_file.and_then(|f| line_of(&f.text, key).map(|line| (f, line))) {
        Some((f, line)) => format!("{reason}（{} 第 {line} 行）", f.path),
        None => reason,
    };
    ConfigError::Invalid { key: name, reason }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

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
        assert!(matches!(s.cache.backend, CacheBackend::Memory));
        assert!(s.ai.api_key.is_none());
        assert_eq!(s.ai.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(s.ai.model, "gpt-4");
        assert_eq!(s.ai.retry().max_retries, 3);
        assert_eq!(s.ai.retry().base, Duration::from_secs(2));
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
        assert_eq!(s.ai.retry_base, Duration::from_millis(250));
        assert_eq!(s.cache.key_prefix, "b:");
    }

    #[test]
    fn empty_environment_values_count_as_unset() {
        let s = Settings::from_sources(None, &env(&[("REDIS_URL", ""), ("OPENAI_API_KEY", " ")]))
            .unwrap();
        assert!(matches!(s.cache.backend, CacheBackend::Memory));
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
    fn sentinel_settings_need_each_other() {
        let err = Settings::from_sources(None, &env(&[("REDIS_SENTINEL_URLS", "127.0.0.1:26379")]))
            .unwrap_err();
        assert_eq!(invalid_key(err), "REDIS_SENTINEL_URLS");
        let err = Settings::from_sources(
            Some(("Leptos.toml", "[cache]\nsentinel_master = \"m\"\n")),
            &env(&[]),
        )
        .unwrap_err();
        assert_eq!(invalid_key(err), "cache.sentinel_master");
        let s = Settings::from_sources(
            None,
            &env(&[
                (
                    "REDIS_SENTINEL_URLS",
                    "redis://10.0.0.1:26379, 10.0.0.2:26379",
                ),
                ("REDIS_SENTINEL_MASTER", "mymaster"),
                ("REDIS_URL", "redis://:pw@ignored:6379/2"),
            ]),
        )
        .unwrap();
        let CacheBackend::Sentinel { sentinel, url } = &s.cache.backend else {
            panic!("expected sentinel, got {:?}", s.cache.backend);
        };
        assert_eq!(sentinel.addrs, ["10.0.0.1:26379", "10.0.0.2:26379"]);
        assert_eq!(sentinel.master, "mymaster");
        assert!(url.expose().ends_with("/2"));
    }

    #[test]
    fn cluster_seeds_are_urls_or_host_port_and_stand_alone() {
        let s = Settings::from_sources(
            None,
            &env(&[(
                "REDIS_CLUSTER_URLS",
                "redis://:pw-secret@10.0.0.1:7000, 10.0.0.2:7001",
            )]),
        )
        .unwrap();
        let CacheBackend::Cluster { seeds } = &s.cache.backend else {
            panic!("expected a cluster, got {:?}", s.cache.backend);
        };
        let shown: Vec<String> = seeds.iter().map(RedisUrl::redacted).collect();
        assert_eq!(
            shown,
            ["redis://:***@10.0.0.1:7000", "redis://10.0.0.2:7001"]
        );
        let err = Settings::from_sources(
            None,
            &env(&[("REDIS_CLUSTER_URLS", "redis://:pw-secret@10.0.0.1")]),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("pw-secret"), "{err}");
        assert_eq!(invalid_key(err), "REDIS_CLUSTER_URLS");
        let err = Settings::from_sources(
            None,
            &env(&[
                ("REDIS_CLUSTER_URLS", "10.0.0.1:7000"),
                ("REDIS_URL", "redis://10.0.0.9:6379/0"),
            ]),
        )
        .unwrap_err();
        assert_eq!(invalid_key(err), "REDIS_CLUSTER_URLS");
    }

    #[test]
    fn numbers_and_flags_read_from_the_file_and_the_environment_alike() {
        let s = Settings::from_sources(
            Some((
                "Leptos.toml",
                "[cache]\nl1_enabled = false\nl1_ttl_secs = 1.5\n[auth]\nuser_tokens = [\"user-token-1\"]\n",
            )),
            &env(&[("AI_MAX_TOKENS", "800"), ("ADMIN_TOKEN", "12345678")]),
        )
        .unwrap();
        assert!(!s.cache.l1_enabled);
        assert_eq!(s.cache.l1_ttl, Duration::from_millis(1500));
        assert_eq!(s.ai.max_tokens, Some(800));
        assert_eq!(s.auth.user_tokens.len(), 1);
        // A token made of digits stays text.
        assert_eq!(
            s.auth
                .admin_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            Some("12345678".to_owned())
        );
    }

    #[test]
    fn every_variable_of_the_table_is_read() {
        for (var, key) in ENV {
            let err = Settings::from_sources(None, &env(&[(var, "\u{1}bad value\u{1}")]));
            // Each variable either takes the odd text or names itself when it cannot.
            if let Err(e) = err {
                let message = e.to_string();
                assert!(message.contains(var), "{key}: {message}");
            }
        }
    }

    #[test]
    fn user_tokens_are_comma_separated() {
        let s = Settings::from_sources(
            None,
            &env(&[("USER_TOKENS", "user-token-1, user-token-2,")]),
        )
        .unwrap();
        assert_eq!(s.auth.user_tokens.len(), 2);
        assert_eq!(s.auth.user_tokens[1].token.expose_secret(), "user-token-2");
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
    fn secrets_of_the_wrong_type_are_not_quoted() {
        for file in [
            "[auth]\nadmin_token = 98765432123\n",
            "[ai]\napi_key = 98765432123\n",
            "[auth]\nuser_tokens = [98765432123]\n",
        ] {
            let err = Settings::from_sources(Some(("Leptos.toml", file)), &env(&[])).unwrap_err();
            let message = err.to_string();
            assert!(!message.contains("98765432123"), "{message}");
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
