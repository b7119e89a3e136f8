//! The layers a setting can come from, and the name an operator knows each key by.
//!
//! The config file is TOML with the tree's own keys (`[ai] max_retries = 3`); the environment
//! (with `.env` loaded into it) uses the README's variable names, mapped onto the same keys by
//! `ENV`. An error is reported under the name of the layer that supplied the bad value.

use std::collections::HashMap;

use figment::{
    providers::{Format, Toml},
    value::{Dict, Map, Value},
    Error, Metadata, Profile, Provider,
};

/// Every environment variable and the key it sets.
pub const ENV: &[(&str, &str)] = &[
    ("LEPTOS_SITE_ADDR", "server.addr"),
    ("PUBLIC_URL", "server.public_url"),
    ("BODY_LIMIT_BYTES", "server.body_limit_bytes"),
    ("TEMPLATES_PATH", "server.templates_path"),
    ("LOG_DIR", "server.log_dir"),
    ("LOG_KEEP_DAYS", "server.log_keep_days"),
    ("METRICS_ADDR", "server.metrics_addr"),
    ("WARMUP_FILE", "server.warmup_file"),
    ("MAX_CONNECTIONS", "server.max_connections"),
    ("MAX_CONNECTIONS_PER_IP", "server.max_connections_per_ip"),
    (
        "HEADER_READ_TIMEOUT_SECS",
        "server.header_read_timeout_secs",
    ),
    ("BODY_READ_TIMEOUT_SECS", "server.body_read_timeout_secs"),
    ("WRITE_TIMEOUT_SECS", "server.write_timeout_secs"),
    ("REQUEST_TIMEOUT_SECS", "server.request_timeout_secs"),
    ("STREAM_DEADLINE_SECS", "server.stream_deadline_secs"),
    ("SHUTDOWN_DRAIN_SECS", "server.shutdown_drain_secs"),
    ("SHUTDOWN_TIMEOUT_SECS", "server.shutdown_timeout_secs"),
    ("DEPLOYMENT_REPORT_MS", "server.report_interval_ms"),
    ("ADMIN_TOKEN", "auth.admin_token"),
    ("USER_TOKENS", "auth.user_tokens"),
    ("SESSION_SECRET", "auth.session_secret"),
    ("SESSION_TTL_SECS", "auth.session_ttl_secs"),
    (
        "LOGIN_ATTEMPTS_PER_MINUTE",
        "auth.login_attempts_per_minute",
    ),
    ("TRUSTED_PROXIES", "server.trusted_proxies"),
    ("REDIS_URL", "cache.redis_url"),
    ("REDIS_SENTINEL_URLS", "cache.sentinel_urls"),
    ("REDIS_SENTINEL_MASTER", "cache.sentinel_master"),
    ("REDIS_CLUSTER_URLS", "cache.cluster_urls"),
    ("CACHE_KEY_PREFIX", "cache.key_prefix"),
    ("CACHE_MEMORY_MAX_ENTRIES", "cache.memory_max_entries"),
    ("CACHE_REDIS_TIMEOUT_MS", "cache.redis_timeout_ms"),
    ("CACHE_REDIS_PROBE_MS", "cache.redis_probe_ms"),
    ("CACHE_L1_ENABLED", "cache.l1_enabled"),
    ("CACHE_KEEP_INCOMPLETE", "cache.keep_incomplete"),
    ("CACHE_L1_TTL_SECS", "cache.l1_ttl_secs"),
    ("CACHE_STALE_GRACE_SECS", "cache.stale_grace_secs"),
    ("OPENAI_API_KEY", "ai.api_key"),
    ("OPENAI_BASE_URL", "ai.base_url"),
    ("AI_MODEL", "ai.model"),
    ("AI_MAX_RETRIES", "ai.max_retries"),
    ("AI_RETRY_BASE_SECS", "ai.retry_base_secs"),
    ("AI_RETRY_AFTER_MAX_SECS", "ai.retry_after_max_secs"),
    ("AI_TIMEOUT_SECS", "ai.timeout_secs"),
    ("AI_TEMPERATURE", "ai.temperature"),
    ("AI_MAX_TOKENS", "ai.max_tokens"),
    ("AI_PLAN_CONCURRENCY", "ai.plan_concurrency"),
    ("AI_MOCK_CHUNK_DELAY_MS", "ai.mock_chunk_delay_ms"),
    ("AI_PRICE_INPUT_PER_MTOK", "ai.price_input_per_mtok"),
    ("AI_PRICE_OUTPUT_PER_MTOK", "ai.price_output_per_mtok"),
    ("AI_PRICE_CURRENCY", "ai.price_currency"),
    ("AI_MAX_CONCURRENCY", "ai.max_concurrency"),
    ("AI_MAX_QUEUE", "ai.max_queue"),
    ("LIMIT_REQUESTS_PER_MINUTE", "limits.requests_per_minute"),
    (
        "LIMIT_CONCURRENT_GENERATIONS",
        "limits.concurrent_generations",
    ),
    ("LIMIT_TOKENS_PER_DAY", "limits.tokens_per_day"),
    ("DATABASE_URL", "store.database_url"),
    ("DATA_DIR", "store.data_dir"),
    ("PLAN_AUTO_VERSIONS", "store.auto_versions"),
    ("PLAN_NAMED_VERSIONS", "store.named_versions"),
    ("PLAN_MAX_PER_USER", "store.max_plans_per_user"),
    ("PLAN_STORAGE_PER_USER_MIB", "store.storage_per_user_mib"),
    ("PLAN_TRASH_DAYS", "store.trash_days"),
    ("DATABASE_TIMEOUT_MS", "store.timeout_ms"),
    ("DATABASE_MAX_CONNECTIONS", "store.max_connections"),
];

const ENV_LAYER: &str = "环境变量";

/// Keys whose values are never quoted in a message.
pub const SECRET_KEYS: &[&str] = &[
    "auth.admin_token",
    "auth.user_tokens",
    "auth.session_secret",
    "ai.api_key",
    "cache.redis_url",
    "cache.cluster_urls",
    "store.database_url",
];

/// The config file's values, named after the file.
pub struct FileLayer {
    pub path: String,
    pub text: String,
}

impl Provider for FileLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.path.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Toml::string(&self.text).data()
    }
}

/// The environment's values for the keys in `ENV`, as text; blank values count as unset.
pub struct EnvLayer<'a>(pub &'a HashMap<String, String>);

impl Provider for EnvLayer<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_LAYER)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        for (var, key) in ENV {
            let Some(value) = self.0.get(*var).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
                continue;
            };
            let (table, field) = key.split_once('.').unwrap_or(("", key));
            if let Value::Dict(_, dict) = root
                .entry(table.to_owned())
                .or_insert_with(|| Value::from(Dict::new()))
            {
                dict.insert(field.to_owned(), Value::from(value.to_owned()));
            }
        }
        Ok(Profile::Default.collect(root))
    }
}

/// What an operator would change: the variable when the environment gave the value, else the
/// file key.
pub fn key_name(key: &str, metadata: Option<&Metadata>) -> String {
    match ENV.iter().find(|(_, k)| *k == key) {
        Some((var, _)) if metadata.is_some_and(|m| m.name == ENV_LAYER) => (*var).to_owned(),
        _ => key.to_owned(),
    }
}

/// The line of `key` (`table.field`) in the file, if it is written there.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let (table, field) = key.split_once('.')?;
    let mut current = "";
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if current == table && name.trim().trim_matches('"') == field {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_maps_to_a_distinct_key() {
        let mut keys: Vec<_> = ENV.iter().map(|(_, k)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ENV.len());
    }

    #[test]
    fn lines_are_found_inside_their_table() {
        let text = "[ai]\nmodel = \"x\"\n\n[cache]\nmodel = 1\n";
        assert_eq!(line_of(text, "ai.model"), Some(2));
        assert_eq!(line_of(text, "cache.model"), Some(5));
        assert_eq!(line_of(text, "server.model"), None);
    }
}
