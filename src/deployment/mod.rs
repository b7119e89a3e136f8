//! One view of the whole deployment. Every few seconds each instance reports itself to Redis —
//! who it is, and what its counters gained since its last report (added to the deployment's
//! totals, to today's and to this minute's) — so any instance can answer with every instance's
//! figures added up, the last ten minutes of traffic, and the list of instances. While Redis is
//! down an instance shows only its own figures and says so; what it could not report waits for
//! the next report.

mod figures;

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use self::figures::Figures;
use crate::{
    cache::{history::History, HashAdd, SharedState},
    generation::GenerationService,
    model::{AiStats, CacheStats, HistoryPoint, InstanceView, Scope, UsageStats},
};

/// An instance that has not reported for this many of its intervals has gone quiet.
const LIVE_REPORTS: u32 = 3;
/// One that has not reported for this long leaves the list.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// The deployment chart: one point a minute.
const CHART_MINUTES: u64 = 10;

// The deployment's keys share the hash tag `{deployment}`: one slot, in a cluster, so a report
// is one transaction.
const INSTANCES: &str = "{deployment}:instances";
const TOTAL: &str = "{deployment}:total";

fn day_hash(day: u64) -> String {
    format!("{{deployment}}:day:{day}")
}

fn minute_hash(minute: u64) -> String {
    format!("{{deployment}}:minute:{minute}")
}

fn unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What an instance says about itself in the list.
#[derive(Serialize, Deserialize)]
struct Card {
    address: String,
    version: String,
    started_unix: u64,
    backend: String,
    breaker: String,
}

/// The figures a stats answer or the dashboard shows.
pub struct View {
    pub scope: Scope,
    pub stats: CacheStats,
    pub ai: AiStats,
    pub usage: UsageStats,
    pub instances: Vec<InstanceView>,
    /// Oldest first, `history_step_secs` apart.
    pub history: Vec<HistoryPoint>,
    pub history_step_secs: u64,
}

pub struct Deployment {
    id: String,
    address: String,
    started_unix: u64,
    generation: Arc<GenerationService>,
    /// This instance's own chart, for when the deployment's cannot be read.
    history: Arc<History>,
    history_step: Duration,
    /// How often this instance reports.
    every: Duration,
    /// The counters as last added to the deployment's. Held while reporting, so an answer
    /// never counts a report twice or misses one.
    reported: tokio::sync::Mutex<Figures>,
}

/// A name for this instance: the host's, and a random part, as hosts may run several.
fn instance_id() -> String {
    use rand::RngCore;
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "yueen".to_owned());
    let mut random = [0u8; 4];
    rand::rng().fill_bytes(&mut random);
    format!("{host}-{}", hex::encode(random))
}

impl Deployment {
    pub fn new(
        address: String,
        generation: Arc<GenerationService>,
        history: Arc<History>,
        history_step: Duration,
        every: Duration,
    ) -> Self {
        Self {
            id: instance_id(),
            address,
            started_unix: unix(),
            generation,
            history,
            history_step,
            every,
            reported: tokio::sync::Mutex::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reports now and then at its interval, for as long as the deployment lives.
    pub fn spawn_reports(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let every = self.every;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while let Some(me) = {
                tick.tick().await;
                me.upgrade()
            } {
                me.report().await;
            }
        });
    }

    /// This instance's stats, its own counters.
    async fn own(&self) -> (CacheStats, AiStats, UsageStats) {
        let service = &self.generation;
        (
            service.cache().stats(),
            service.ai().stats(),
            service.accounts().stats().await,
        )
    }

    /// Adds what the counters gained since the last report to the deployment's, and says this
    /// instance is alive.
    pub async fn report(&self) {
        let Some(shared) = self.generation.cache().shared() else {
            return;
        };
        let (cache, ai, usage) = self.own().await;
        let mut reported = self.reported.lock().await;
        let now = Figures::of(&cache, &ai, &usage);
        let new = now.since(&reported);
        if !new.is_empty() {
            let fields = new.fields();
            let traffic = new.traffic();
            let day = day_hash(crate::usage::china_day());
            let minute = minute_hash(unix() / 60);
            let hashes = [
                HashAdd {
                    name: TOTAL,
                    ttl: None,
                    fields: &fields,
                },
                HashAdd {
                    name: &day,
                    ttl: Some(Duration::from_secs(3 * 86_400)),
                    fields: &fields,
                },
                HashAdd {
                    name: &minute,
                    ttl: Some(Duration::from_secs(CHART_MINUTES * 60 + 300)),
                    fields: &traffic,
                },
            ];
            if shared.add_to_hashes(&hashes).await.is_some() {
                *reported = now;
            }
        }
        drop(reported);
        let card = Card {
            address: self.address.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_unix: self.started_unix,
            backend: cache.backend,
            breaker: cache.breaker.state,
        };
        if let Ok(card) = serde_json::to_string(&card) {
            shared.stamp(INSTANCES, &self.id, &card).await;
        }
    }

    /// Leaves the deployment: a last report, then off the list.
    pub async fn leave(&self) {
        self.report().await;
        if let Some(shared) = self.generation.cache().shared() {
            shared.unstamp(INSTANCES, &self.id).await;
        }
    }

    /// The deployment's figures, or — without Redis — this instance's.
    pub async fn view(&self) -> View {
        let (mut cache, mut ai, mut usage) = self.own().await;
        if let Some(shared) = self.generation.cache().shared() {
            if let Some(view) = self
                .deployment_view(&shared, &mut cache, &mut ai, &mut usage)
                .await
            {
                let (instances, history) = view;
                return View {
                    scope: Scope::Deployment,
                    stats: cache,
                    ai,
                    usage,
                    instances,
                    history,
                    history_step_secs: 60,
                };
            }
        }
        let me = self.alone(&cache);
        View {
            scope: Scope::Instance,
            stats: cache,
            ai,
            usage,
            instances: vec![me],
            history: self.history.points(),
            history_step_secs: self.history_step.as_secs(),
        }
    }

    /// Reads the deployment's totals into the stats; the instances and the chart.
    async fn deployment_view(
        &self,
        shared: &SharedState<'_>,
        cache: &mut CacheStats,
        ai: &mut AiStats,
        usage: &mut UsageStats,
    ) -> Option<(Vec<InstanceView>, Vec<HistoryPoint>)> {
        let this_minute = unix() / 60;
        let first = this_minute + 1 - CHART_MINUTES;
        let mut names = vec![TOTAL.to_owned(), day_hash(crate::usage::china_day())];
        names.extend((first..=this_minute).map(minute_hash));
        // Not yet reported: counted here, on top of what Redis has.
        let reported = self.reported.lock().await;
        let pending = Figures::of(cache, ai, usage).since(&reported);
        let mut hashes = shared.read_hashes(&names).await?.into_iter();
        drop(reported);
        let (now_ms, listed) = shared.stamps(INSTANCES, FORGET_AFTER).await?;

        let total = Figures::from_hash(hashes.next()?).plus(&pending);
        total.apply(cache, ai, usage);
        Figures::from_hash(hashes.next()?)
            .plus(&pending)
            .apply_today(usage);
        let history = (first..=this_minute)
            .zip(hashes)
            .map(|(minute, hash)| {
                let mut figures = Figures::from_hash(hash);
                if minute == this_minute {
                    figures = figures.plus(&pending);
                }
                let (requests, hits) = figures.requests_and_hits();
                HistoryPoint {
                    at_unix: minute * 60,
                    requests,
                    hits,
                }
            })
            .collect();
        let mut instances: Vec<InstanceView> = listed
            .into_iter()
            .filter_map(|(id, at_ms, card)| {
                let card: Card = serde_json::from_str(&card).ok()?;
                let ago = Duration::from_millis(now_ms.saturating_sub(at_ms));
                Some(InstanceView {
                    this: id == self.id,
                    id,
                    address: card.address,
                    version: card.version,
                    started_unix: card.started_unix,
                    backend: card.backend,
                    breaker: card.breaker,
                    seen_secs_ago: ago.as_secs(),
                    live: ago <= self.every * LIVE_REPORTS,
                })
            })
            .collect();
        if !instances.iter().any(|i| i.this) {
            instances.push(self.alone(cache));
        }
        instances.sort_by(|a, b| (!a.live, &a.id).cmp(&(!b.live, &b.id)));
        Some((instances, history))
    }

    /// This instance as the list shows it, from its own stats.
    fn alone(&self, cache: &CacheStats) -> InstanceView {
        InstanceView {
            id: self.id.clone(),
            address: self.address.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_unix: self.started_unix,
            backend: cache.backend.clone(),
            breaker: cache.breaker.state.clone(),
            seen_secs_ago: 0,
            live: true,
            this: true,
        }
    }
}
