//! Prometheus metrics. Cache and AI counters are read from the services' own stats at scrape
//! time (one source of truth with the JSON stats and the dashboard); HTTP traffic and AI latency
//! are recorded as they happen. Each app has its own registry, so tests in one process never mix.

use std::{fmt::Write, sync::Arc, time::Duration};

use axum::extract::{MatchedPath, Request};
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::ConstGauge,
        histogram::{exponential_buckets, Histogram},
        MetricType,
    },
    registry::Registry,
};

use crate::{ai::AiService, cache::CacheService, usage::Accounts};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

pub struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(cache: Arc<CacheService>, ai: Arc<AiService>, accounts: Arc<Accounts>) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "yueen_http_requests",
            "HTTP requests by route, method and status",
            http_requests.clone(),
        );
        let http_seconds = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.5, 14))
        });
        registry.register(
            "yueen_http_request_duration_seconds",
            "HTTP request latency by route and method",
            http_seconds.clone(),
        );
        registry.register(
            "yueen_ai_generation_duration_seconds",
            "Time for one AI generation including retries and waits",
            ai.latency_histogram(),
        );
        registry.register_collector(Box::new(StatsCollector {
            cache,
            ai,
            accounts,
        }));
        Self {
            registry,
            http_requests,
            http_seconds,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
            let _ = writeln!(out, "# metrics could not be encoded");
        }
        out
    }

    fn observe(&self, route: String, method: String, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.clone(),
                method: method.clone(),
                status: status.to_string(),
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels { route, method })
            .observe(seconds);
    }
}

/// The route pattern a request matched, as a label (low cardinality).
pub fn route_label(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/pkg/") {
                "/pkg/*".to_owned()
            } else {
                "other".to_owned()
            }
        })
}

impl Metrics {
    /// Counts and times one answered request (see `edge`).
    pub fn record(&self, route: String, method: &axum::http::Method, status: u16, took: Duration) {
        self.observe(
            route,
            method_label(method).to_owned(),
            status,
            took.as_secs_f64(),
        );
    }
}

/// The method as a label: one of the standard methods or `other`, so made-up methods cannot
/// grow the label set.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    STANDARD
        .iter()
        .find(|m| *m == method)
        .map_or("other", |m| m.as_str())
}

struct StatsCollector {
    cache: Arc<CacheService>,
    ai: Arc<AiService>,
    accounts: Arc<Accounts>,
}

impl std::fmt::Debug for StatsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatsCollector")
    }
}

fn counters<const N: usize>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: [([(&str, &str); 2], u64); N],
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let c = ConstCounter::new(value);
    c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: i64,
) -> Result<(), std::fmt::Error> {
    let g = ConstGauge::new(value);
    g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let c = self.cache.stats();
        let a = self.ai.stats();
        counters(
            &mut encoder,
            "yueen_cache_lookups",
            "Cache lookups by tier (l1 memory, l2 redis) and result",
            [
                ([("tier", "l1"), ("result", "hit")], c.tiers.l1.hits),
                ([("tier", "l1"), ("result", "miss")], c.tiers.l1.misses),
                ([("tier", "l2"), ("result", "hit")], c.tiers.l2.hits),
                ([("tier", "l2"), ("result", "miss")], c.tiers.l2.misses),
            ],
        )?;
        counters(
            &mut encoder,
            "yueen_cache_requests",
            "Generation requests answered from the cache or not (the seed's hits and misses)",
            [
                ([("result", "hit"), ("source", "cache")], c.hits),
                ([("result", "miss"), ("source", "cache")], c.misses),
            ],
        )?;
        counter(&mut encoder, "yueen_cache_sets", "Entries written", c.sets)?;
        counter(
            &mut encoder,
            "yueen_cache_errors",
            "Failed Redis commands",
            c.errors,
        )?;
        counter(
            &mut encoder,
            "yueen_cache_stale_served",
            "Expired entries served because the AI failed",
            c.stale_served,
        )?;
        counters(
            &mut encoder,
            "yueen_cache_breaker_transitions",
            "Redis circuit breaker transitions",
            [
                ([("to", "open"), ("backend", "memory")], c.breaker.opened),
                ([("to", "closed"), ("backend", "redis")], c.breaker.closed),
            ],
        )?;
        gauge(
            &mut encoder,
            "yueen_cache_breaker_open",
            "1 while Redis is configured but memory serves",
            i64::from(c.degraded),
        )?;
        gauge(
            &mut encoder,
            "yueen_cache_redis_active",
            "1 while Redis serves the cache",
            i64::from(c.backend == "redis"),
        )?;
        counters(
            &mut encoder,
            "yueen_ai_generations",
            "AI generations by outcome",
            [
                ([("outcome", "success"), ("mode", &a.mode)], a.successes),
                ([("outcome", "failure"), ("mode", &a.mode)], a.failures),
            ],
        )?;
        counter(
            &mut encoder,
            "yueen_ai_attempts",
            "HTTP attempts to the model API",
            a.calls,
        )?;
        counter(
            &mut encoder,
            "yueen_ai_retries",
            "Retries after a failed attempt",
            a.retries,
        )?;
        self.usage(&mut encoder)
    }
}

impl StatsCollector {
    /// Tokens, cost and savings by user name (the configured users: a bounded label set).
    fn usage(&self, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let by_user = self.accounts.spend_by_user();
        let mut tokens = encoder.encode_descriptor(
            "yueen_ai_tokens",
            "Model tokens used, by user and kind (prompt, completion)",
            None,
            MetricType::Counter,
        )?;
        for (user, spend) in &by_user {
            for (kind, n) in [
                ("prompt", spend.prompt_tokens),
                ("completion", spend.completion_tokens),
            ] {
                ConstCounter::new(n)
                    .encode(tokens.encode_family(&[("user", &**user), ("kind", kind)])?)?;
            }
        }
        type Read = fn(&crate::model::Spend) -> f64;
        let families: [(&str, &str, Read); 4] = [
            (
                "yueen_ai_cost",
                "What the model tokens cost, by user (in AI_PRICE_CURRENCY)",
                |s| s.cost,
            ),
            (
                "yueen_cache_saved_tokens",
                "Model tokens the cache saved, by user",
                |s| s.saved_tokens as f64,
            ),
            (
                "yueen_cache_saved_cost",
                "What the cache saved, by user (in AI_PRICE_CURRENCY)",
                |s| s.saved_cost,
            ),
            (
                "yueen_requests_by_user",
                "Requests counted against the limits, by user",
                |s| s.requests as f64,
            ),
        ];
        for (name, help, read) in families {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (user, spend) in &by_user {
                ConstCounter::new(read(spend))
                    .encode(family.encode_family(&[("user", &**user)])?)?;
            }
        }
        Ok(())
    }
}
