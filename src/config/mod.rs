//! The typed settings tree. Defaults (each section's `Default`), then the runtime config file
//! (`Leptos.toml`, or `YUEEN_CONFIG`), then `.env` and the environment, layered by figment; each
//! key is written once, as a field, and read by the reader its type needs (`values`). A bad value
//! stops the app with a message naming the key as the operator wrote it.

#[macro_use]
mod section;
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
pub use section::Setting;
use sources::{is_secret, key_name, line_of, EnvLayer, FileLayer};
pub use values::token_digest;

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

/// Every setting the environment can set, section by section.
pub fn settings() -> impl Iterator<Item = &'static Setting> {
    [
        ServerSettings::SETTINGS,
        AuthSettings::SETTINGS,
        CacheSettings::SETTINGS,
        AiSettings::SETTINGS,
        LimitSettings::SETTINGS,
        StoreSettings::SETTINGS,
    ]
    .into_iter()
    .flatten()
}

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

section! {
    /// Where writers' plans are kept, and how much of them.
    pub struct StoreSettings in "store" {
        /// `postgres://…` (what several instances share) or `sqlite://…`; unset: the SQLite
        /// file `yueen.db` under `data_dir`, made on first start.
        ["DATABASE_URL", "database_url", "values::database_url", "未设置", secret]
        pub database_url: Option<SecretString> = None,
        ["DATA_DIR", "data_dir", "values::path", "`data`"]
        pub data_dir: PathBuf = PathBuf::from("data"),
        /// Automatic versions (one per generated section) kept per plan; named ones are all
        /// kept.
        ["PLAN_AUTO_VERSIONS", "auto_versions", "values::count_usize::<_, 1, 10_000>", "`50`"]
        pub auto_versions: usize = 50,
        /// Named versions a plan may have.
        ["PLAN_NAMED_VERSIONS", "named_versions", "values::count_usize::<_, 1, 10_000>", "`200`"]
        pub named_versions: usize = 200,
        /// Plans (the trash included) one user may keep.
        ["PLAN_MAX_PER_USER", "max_plans_per_user", "values::count_usize::<_, 1, 1_000_000>", "`1000`"]
        pub max_plans_per_user: usize = 1000,
        /// Enterprise profiles one user may keep (a consultant keeps one per client firm).
        ["ENTERPRISE_MAX_PER_USER", "max_enterprises_per_user", "values::count_usize::<_, 1, 100_000>", "`200`"]
        pub max_enterprises_per_user: usize = 200,
        /// Space one user's plans, versions and trash may take, in MiB.
        ["PLAN_STORAGE_PER_USER_MIB", "storage_per_user_mib", "values::count::<_, 1, 10_000_000>", "`1024`"]
        pub storage_per_user_mib: u64 = 1024,
        /// Days a deleted plan can still be restored.
        ["PLAN_TRASH_DAYS", "trash_days", "values::count_u32::<_, 1, 3650>", "`30`"]
        pub trash_days: u32 = 30,
        /// Deadline for every database call (waiting for a connection included).
        ["DATABASE_TIMEOUT_MS", "timeout_ms", "values::millis::<_, 100, 60_000>", "`5000`"]
        pub timeout: Duration = Duration::from_secs(5),
        /// Connections this instance keeps open at most.
        ["DATABASE_MAX_CONNECTIONS", "max_connections", "values::count_u32::<_, 1, 1_000>", "`8`"]
        pub max_connections: u32 = 8,
        /// How long an instance's claim on a generation job holds without being renewed (it
        /// is renewed every third of it): when the instance dies, another takes the job over
        /// this long after.
        ["PLAN_JOB_LEASE_MS", "job_lease_ms", "values::millis::<_, 1_000, 600_000>", "`30000`"]
        pub job_lease: Duration = Duration::from_secs(30),
    }
}

section! {
    /// How much one user may ask for; unset is unlimited. The `[limits]` table holds
    /// everyone's defaults, a user entry may set its own.
    #[derive(Copy, PartialEq, Eq)]
    pub struct LimitSettings in "limits" {
        /// Requests (a cache hit too; each section of a plan) per minute.
        ["LIMIT_REQUESTS_PER_MINUTE", "requests_per_minute", "values::optional_u32::<_, 1, 1_000_000>", "不限"]
        pub requests_per_minute: Option<u32> = None,
        /// Generations (a plan is one) running at once.
        ["LIMIT_CONCURRENT_GENERATIONS", "concurrent_generations", "values::optional_u32::<_, 1, 10_000>", "不限"]
        pub concurrent_generations: Option<u32> = None,
        /// Model tokens (prompt and completion) per day, China time.
        ["LIMIT_TOKENS_PER_DAY", "tokens_per_day", "values::optional_u64::<_, 1, 1_000_000_000_000>", "不限"]
        pub tokens_per_day: Option<u64> = None,
    }
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

section! {
    pub struct ServerSettings in "server" {
        ["LEPTOS_SITE_ADDR", "addr", "values::addr", "`127.0.0.1:3000`"]
        pub addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 3000)),
        /// Base URL printed in the login link; defaults to `http://<addr>`.
        ["PUBLIC_URL", "public_url", "values::public_url", "`http://<监听地址>`"]
        pub public_url: Option<String> = None,
        ["BODY_LIMIT_BYTES", "body_limit_bytes", "values::count_usize::<_, 1, 1_073_741_824>", "`65536`"]
        pub body_limit_bytes: usize = 64 * 1024,
        /// `None` means the registry compiled into the binary.
        ["TEMPLATES_PATH", "templates_path", "values::optional_path", "内置模板"]
        pub templates_path: Option<PathBuf> = None,
        ["LOG_DIR", "log_dir", "values::path", "`logs`"]
        pub log_dir: PathBuf = PathBuf::from("logs"),
        /// Daily log files kept.
        ["LOG_KEEP_DAYS", "log_keep_days", "values::count_usize::<_, 1, 3650>", "`14`"]
        pub log_keep_days: usize = 14,
        /// A second listener serving only `/metrics`, without a token (keep it private).
        ["METRICS_ADDR", "metrics_addr", "values::optional_addr", "未设置"]
        pub metrics_addr: Option<SocketAddr> = None,
        /// A JSON file of generate requests to pre-fill the cache with at startup.
        ["WARMUP_FILE", "warmup_file", "values::optional_path", "未设置"]
        pub warmup_file: Option<PathBuf> = None,
        /// Connections served at once; more wait in the listen queue.
        ["MAX_CONNECTIONS", "max_connections", "values::count_usize::<_, 1, 1_000_000>", "`4096`"]
        pub max_connections: usize = 4096,
        /// Connections one client address may hold at once (IPv6 by its /64; trusted proxies
        /// are not counted, they carry many clients).
        ["MAX_CONNECTIONS_PER_IP", "max_connections_per_ip", "values::count_usize::<_, 1, 1_000_000>", "`256`"]
        pub max_connections_per_ip: usize = 256,
        /// A client must send its request headers within this.
        ["HEADER_READ_TIMEOUT_SECS", "header_read_timeout_secs", "values::seconds::<_, 60, false>", "`10`"]
        pub header_read_timeout: Duration = Duration::from_secs(10),
        /// A request's body must have arrived within this from the request's start;
        /// otherwise 408.
        ["BODY_READ_TIMEOUT_SECS", "body_read_timeout_secs", "values::seconds::<_, 600, false>", "`30`"]
        pub body_read_timeout: Duration = Duration::from_secs(30),
        /// A response the client takes nothing of for this long ends its connection.
        ["WRITE_TIMEOUT_SECS", "write_timeout_secs", "values::seconds::<_, 600, false>", "`30`"]
        pub write_timeout: Duration = Duration::from_secs(30),
        /// A request must have its answer started within this (streams then run on their own
        /// deadline); otherwise 504.
        ["REQUEST_TIMEOUT_SECS", "request_timeout_secs", "values::seconds::<_, 3600, false>", "`150`"]
        pub request_timeout: Duration = Duration::from_secs(150),
        /// Proxies (load balancers) whose `X-Forwarded-For` names the client; others are the
        /// client themselves.
        ["TRUSTED_PROXIES", "trusted_proxies", "values::ip_addrs", "未设置"]
        pub trusted_proxies: Vec<std::net::IpAddr> = Vec::new(),
        /// The longest a streamed answer (a section or a whole plan) may run.
        ["STREAM_DEADLINE_SECS", "stream_deadline_secs", "values::seconds::<_, 7200, false>", "`600`"]
        pub stream_deadline: Duration = Duration::from_secs(600),
        /// After SIGTERM: how long `/readyz` says 503 while requests are still served, so a
        /// balancer stops sending before the listener closes.
        ["SHUTDOWN_DRAIN_SECS", "shutdown_drain_secs", "values::seconds::<_, 600, true>", "`5`"]
        pub shutdown_drain: Duration = Duration::from_secs(5),
        /// Then: how long running requests, streams and generations may take to finish.
        ["SHUTDOWN_TIMEOUT_SECS", "shutdown_timeout_secs", "values::seconds::<_, 3600, false>", "`60`"]
        pub shutdown_timeout: Duration = Duration::from_secs(60),
        /// How often this instance reports its figures and itself to the deployment (Redis).
        ["DEPLOYMENT_REPORT_MS", "report_interval_ms", "values::millis::<_, 100, 60_000>", "`5000`"]
        pub report_interval: Duration = Duration::from_secs(5),
    }
}

section! {
    pub struct AuthSettings in "auth" {
        ["ADMIN_TOKEN", "admin_token", "values::optional_token", "未设置", secret]
        pub admin_token: Option<SecretString> = None,
        /// `name:token` entries (a bare token goes by its position: 用户1, 用户2, …).
        ["USER_TOKENS", "user_tokens", "values::user_tokens", "未设置", secret]
        pub user_tokens: Vec<UserToken> = Vec::new(),
        /// Signs session cookies; every instance must share it. Unset: one made up per
        /// process.
        ["SESSION_SECRET", "session_secret", "values::optional_session_secret", "未设置", secret]
        pub session_secret: Option<SecretString> = None,
        /// A session's longest life.
        ["SESSION_TTL_SECS", "session_ttl_secs", "values::seconds::<_, 7_776_000, false>", "`604800`"]
        pub session_ttl: Duration = Duration::from_secs(7 * 86_400),
        /// Login attempts a client address may make per minute (a burst of this many, then
        /// one every `60 / n` seconds).
        ["LOGIN_ATTEMPTS_PER_MINUTE", "login_attempts_per_minute", "values::count_u32::<_, 1, 10_000>", "`30`"]
        pub login_attempts_per_minute: u32 = 30,
    }
    also {
        /// Named users, each with a token (as its SHA-256), a role and their own limits: in
        /// the config file only.
        pub users: Vec<UserSettings> = Vec::new(),
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

section! {
    pub struct CacheSettings in "cache" {
        ["REDIS_URL", "redis_url", "values::redis_url", "未设置", secret]
        redis_url: Option<RedisUrl> = None,
        ["REDIS_SENTINEL_URLS", "sentinel_urls", "values::sentinel_addrs", "未设置"]
        sentinel_urls: Vec<String> = Vec::new(),
        ["REDIS_SENTINEL_MASTER", "sentinel_master", "values::optional_text", "未设置"]
        sentinel_master: Option<String> = None,
        ["REDIS_CLUSTER_URLS", "cluster_urls", "values::cluster_urls", "未设置", secret]
        cluster_urls: Vec<RedisUrl> = Vec::new(),
        ["CACHE_KEY_PREFIX", "key_prefix", "values::key_prefix", "`yueen:`"]
        pub key_prefix: String = "yueen:".to_owned(),
        ["CACHE_MEMORY_MAX_ENTRIES", "memory_max_entries", "values::count_usize::<_, 1, 100_000_000>", "`10000`"]
        pub memory_max_entries: usize = 10_000,
        /// Deadline for every single Redis command.
        ["CACHE_REDIS_TIMEOUT_MS", "redis_timeout_ms", "values::millis::<_, 1, 10_000>", "`250`"]
        pub redis_timeout: Duration = Duration::from_millis(250),
        /// How often a degraded service checks whether Redis is back.
        ["CACHE_REDIS_PROBE_MS", "redis_probe_ms", "values::millis::<_, 10, 60_000>", "`500`"]
        pub redis_probe_interval: Duration = Duration::from_millis(500),
        /// Keep an in-process L1 in front of Redis.
        ["CACHE_L1_ENABLED", "l1_enabled", "values::flag", "`true`"]
        pub l1_enabled: bool = true,
        /// Upper bound on an L1 entry's life (never beyond the entry's own TTL).
        ["CACHE_L1_TTL_SECS", "l1_ttl_secs", "values::seconds::<_, 2_592_000, false>", "`300`"]
        pub l1_ttl: Duration = Duration::from_secs(300),
        /// How long an expired entry is kept to answer when the AI fails.
        ["CACHE_STALE_GRACE_SECS", "stale_grace_secs", "values::seconds::<_, 2_592_000, true>", "`86400`"]
        pub stale_grace: Duration = Duration::from_secs(86_400),
        /// Keep answers that miss elements of the standard as fresh too (normally they are
        /// returned with their check and the next request asks the model again).
        ["CACHE_KEEP_INCOMPLETE", "keep_incomplete", "values::flag", "`false`"]
        pub keep_incomplete: bool = false,
    }
    also {
        /// Worked out from the Redis keys once the layers are merged.
        #[serde(skip)]
        pub backend: CacheBackend = CacheBackend::Memory,
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

section! {
    pub struct AiSettings in "ai" {
        /// Unset: the mock generator.
        ["OPENAI_API_KEY", "api_key", "values::optional_secret", "未设置", secret]
        pub api_key: Option<SecretString> = None,
        ["OPENAI_BASE_URL", "base_url", "values::base_url", "`https://api.openai.com/v1`"]
        pub base_url: Url = Url::parse("https://api.openai.com/v1").expect("a valid URL"),
        ["AI_MODEL", "model", "values::required_text", "`gpt-4`"]
        pub model: String = "gpt-4".to_owned(),
        /// Per attempt.
        ["AI_TIMEOUT_SECS", "timeout_secs", "values::seconds::<_, 600, false>", "`30`"]
        pub timeout: Duration = Duration::from_secs(30),
        /// Retries after the first attempt (the seed's 3).
        ["AI_MAX_RETRIES", "max_retries", "values::count_u32::<_, 0, 10>", "`3`"]
        pub max_retries: u32 = 3,
        /// Wait before the first retry; doubled for each one after.
        ["AI_RETRY_BASE_SECS", "retry_base_secs", "values::seconds::<_, 60, true>", "`2`"]
        pub retry_base: Duration = Duration::from_secs(2),
        /// Upper bound on a server-requested `Retry-After` wait.
        ["AI_RETRY_AFTER_MAX_SECS", "retry_after_max_secs", "values::seconds::<_, 600, true>", "`30`"]
        pub retry_after_max: Duration = Duration::from_secs(30),
        ["AI_TEMPERATURE", "temperature", "values::temperature", "`0.3`"]
        pub temperature: f32 = 0.3,
        ["AI_MAX_TOKENS", "max_tokens", "values::optional_u32::<_, 1, 4_294_967_295>", "未设置"]
        pub max_tokens: Option<u32> = None,
        /// The pause between the mock generator's streamed pieces, so the page shows it
        /// writing.
        ["AI_MOCK_CHUNK_DELAY_MS", "mock_chunk_delay_ms", "values::millis::<_, 0, 5_000>", "`25`"]
        pub mock_chunk_delay: Duration = Duration::from_millis(25),
        /// How many sections of one plan are written at the same time.
        ["AI_PLAN_CONCURRENCY", "plan_concurrency", "values::count_usize::<_, 1, 16>", "`3`"]
        pub plan_concurrency: usize = 3,
        /// Price of a million prompt tokens; 0 = not priced.
        ["AI_PRICE_INPUT_PER_MTOK", "price_input_per_mtok", "values::non_negative::<_, 1_000_000>", "`0`"]
        pub price_input_per_mtok: f64 = 0.0,
        /// Price of a million completion tokens; 0 = not priced.
        ["AI_PRICE_OUTPUT_PER_MTOK", "price_output_per_mtok", "values::non_negative::<_, 1_000_000>", "`0`"]
        pub price_output_per_mtok: f64 = 0.0,
        ["AI_PRICE_CURRENCY", "price_currency", "values::required_text", "`CNY`"]
        pub price_currency: String = "CNY".to_owned(),
        /// Model calls this instance makes at once.
        ["AI_MAX_CONCURRENCY", "max_concurrency", "values::count_usize::<_, 1, 10_000>", "`16`"]
        pub max_concurrency: usize = 16,
        /// Generations that may wait for a free call; past this, 503.
        ["AI_MAX_QUEUE", "max_queue", "values::count_usize::<_, 0, 100_000>", "`100`"]
        pub max_queue: usize = 100,
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
        Kind::InvalidType(..) | Kind::InvalidValue(..) if is_secret(&key) => {
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
        for Setting { env: var, key, .. } in settings() {
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
