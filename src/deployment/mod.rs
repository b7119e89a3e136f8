//! One view of the whole deployment. Every few seconds each instance reports itself to Redis —
//! who it is, and what its counters gained since its last report (added to the deployment's
//! totals, to that day's and to that minute's, once, however often a report is sent) — so any
//! instance can answer with every instance's figures added up, the last ten minutes of traffic,
//! and the list of instances. While Redis is down an instance shows only its own figures and
//! says so; its reports wait, and are added when Redis is back.

mod figures;
mod outbox;

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use self::{figures::Figures, outbox::Outbox};
use crate::{
    cache::{history::History, CacheService},
    clock::{china_day, minute, unix},
    coord::{Coordination, HashAdd, SharedState},
    generation::GenerationService,
    model::{AiStats, CacheStats, HistoryPoint, InstanceView, Scope, UsageStats},
};

/// An instance that has not reported for this many of its intervals has gone quiet.
const LIVE_REPORTS: u32 = 3;
/// One that has not reported for this long leaves the list.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// How long Redis remembers the number of an instance's last report (a report held back longer
/// than this by an outage could be added twice).
const REMEMBER_REPORTS: Duration = Duration::from_secs(86_400);
/// The longest the deployment's figures read from Redis are reused for.
const REUSE_READ: Duration = Duration::from_secs(1);
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

/// What an instance says about itself in the list.
#[derive(Serialize, Deserialize)]
struct Card {
    address: String,
    version: String,
    started_unix: u64,
    backend: String,
    breaker: String,
    /// How often it reports: it has gone quiet after a few of its own intervals.
    #[serde(default)]
    every_ms: u64,
}

/// The deployment's part of a view, as read from Redis, with what Redis held from this instance
/// then (the rest of this instance's counts are added on top).
struct Read {
    at: Instant,
    confirmed: Figures,
    total: Figures,
    today: Figures,
    minutes: Vec<(u64, Figures)>,
    now_ms: u64,
    listed: Vec<(String, u64, String)>,
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
    cache: Arc<CacheService>,
    /// Where the deployment's figures and the list of instances are kept.
    coord: Arc<Coordination>,
    /// This instance's own chart, for when the deployment's cannot be read.
    history: Arc<History>,
    history_step: Duration,
    /// How often this instance reports.
    every: Duration,
    /// The reports not yet confirmed. Held through a report and through leaving, so the two
    /// never interleave.
    outbox: tokio::sync::Mutex<Reporting>,
    /// The last read of the deployment's figures, reused for a moment.
    last_read: Mutex<Option<Arc<Read>>>,
}

#[derive(Default)]
struct Reporting {
    outbox: Outbox,
    /// Set once the instance has left: no more reports, so it stays off the list.
    left: bool,
}

/// The address others can tell this instance by: the bound one, or, when it listens on every
/// interface, the host's name and the port.
fn advertised(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("{}:{}", host_name(), addr.port())
    } else {
        addr.to_string()
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "yueen".to_owned())
}

/// A name for this instance: the host's, and a random part, as hosts may run several.
fn instance_id() -> String {
    use rand::RngCore;
    let mut random = [0u8; 4];
    rand::rng().fill_bytes(&mut random);
    format!("{}-{}", host_name(), hex::encode(random))
}

impl Deployment {
    pub fn new(
        address: SocketAddr,
        generation: Arc<GenerationService>,
        cache: Arc<CacheService>,
        coord: Arc<Coordination>,
        history: Arc<History>,
        history_step: Duration,
        every: Duration,
    ) -> Self {
        Self {
            id: instance_id(),
            address: advertised(address),
            started_unix: unix(),
            generation,
            cache,
            coord,
            history,
            history_step,
            every,
            outbox: tokio::sync::Mutex::default(),
            last_read: Mutex::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Reports now and then at its interval, for as long as the deployment lives.
    pub fn spawn_reports(self: &Arc<Self>) {
        crate::periodic::spawn_every(self, self.every, async |me| me.report().await);
    }

    /// This instance's counters, read here alone (no Redis): the stats they come from, and
    /// the figures a report adds.
    fn counted(&self) -> (CacheStats, AiStats, Figures) {
        let service = &self.generation;
        let (cache, ai) = (self.cache.stats(), service.ai().stats());
        let accounts = service.accounts();
        let figures = Figures::of(
            &cache,
            &ai,
            &accounts.spend_total(),
            &accounts.spend_by_user(),
        );
        (cache, ai, figures)
    }

    /// Makes a report of what the counters gained since the last one, sends every report Redis
    /// has not confirmed, and says this instance is alive.
    pub async fn report(&self) {
        let mut reporting = self.outbox.lock().await;
        if !reporting.left {
            self.report_held(&mut reporting).await;
        }
    }

    async fn report_held(&self, reporting: &mut Reporting) {
        let (cache, _, now) = self.counted();
        if !cache.redis_configured {
            return;
        }
        let minute = minute();
        reporting.outbox.make(now, minute, china_day());
        let Some(shared) = self.coord.shared() else {
            return;
        };
        while let Some(report) = reporting.outbox.next() {
            let fields = report.delta.fields();
            let traffic = report.delta.traffic();
            let (day, minute) = (day_hash(report.day), minute_hash(report.minute));
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
            let seq = report.seq;
            // Added now or before: either way Redis has it.
            if shared
                .add_once(&self.id, seq, REMEMBER_REPORTS, &hashes)
                .await
                .is_none()
            {
                return;
            }
            reporting.outbox.confirm(seq);
        }
        let card = Card {
            address: self.address.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_unix: self.started_unix,
            backend: cache.backend,
            breaker: cache.breaker.state,
            every_ms: u64::try_from(self.every.as_millis()).unwrap_or(u64::MAX),
        };
        if let Ok(card) = serde_json::to_string(&card) {
            shared.stamp(INSTANCES, &self.id, &card, FORGET_AFTER).await;
        }
    }

    /// Leaves the deployment: a last report, then off the list, and no report after.
    pub async fn leave(&self) {
        let mut reporting = self.outbox.lock().await;
        if reporting.left {
            return;
        }
        self.report_held(&mut reporting).await;
        reporting.left = true;
        if let Some(shared) = self.coord.shared() {
            shared.unstamp(INSTANCES, &self.id).await;
        }
    }

    /// The deployment's figures, or — without Redis — this instance's.
    pub async fn view(&self) -> View {
        let (mut cache, mut ai, own) = self.counted();
        let mut usage = self.generation.accounts().stats().await;
        if let Some(shared) = self.coord.shared() {
            if let Some(read) = self.read(&shared).await {
                let (instances, history) =
                    self.deployment_view(&read, &own, &mut cache, &mut ai, &mut usage);
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

    /// The deployment's figures in Redis, read at most once a second (or half a report
    /// interval): views in between reuse the last read, so a client asking in a loop costs
    /// Redis nothing more.
    async fn read(&self, shared: &SharedState<'_>) -> Option<Arc<Read>> {
        let reuse = REUSE_READ.min(self.every / 2);
        let recent = || {
            self.last_read
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .filter(|read| read.at.elapsed() < reuse)
        };
        if let Some(read) = recent() {
            return Some(read);
        }
        // No report in flight while reading, so what Redis holds from this instance is exactly
        // what it confirmed.
        let reporting = self.outbox.lock().await;
        if let Some(read) = recent() {
            return Some(read);
        }
        let this_minute = minute();
        let first = this_minute + 1 - CHART_MINUTES;
        let mut names = vec![TOTAL.to_owned(), day_hash(china_day())];
        names.extend((first..=this_minute).map(minute_hash));
        let confirmed = reporting.outbox.confirmed().clone();
        let hashes = shared.read_hashes(&names).await?;
        drop(reporting);
        let (now_ms, listed) = shared.stamps(INSTANCES, FORGET_AFTER).await?;
        let mut hashes = hashes.into_iter().map(Figures::from_hash);
        let read = Arc::new(Read {
            at: Instant::now(),
            confirmed,
            total: hashes.next()?,
            today: hashes.next()?,
            minutes: (first..=this_minute).zip(hashes).collect(),
            now_ms,
            listed,
        });
        *self
            .last_read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(read.clone());
        Some(read)
    }

    /// Writes the deployment's totals (and this instance's counts Redis does not have yet)
    /// into the stats; the instances and the chart.
    fn deployment_view(
        &self,
        read: &Read,
        own: &Figures,
        cache: &mut CacheStats,
        ai: &mut AiStats,
        usage: &mut UsageStats,
    ) -> (Vec<InstanceView>, Vec<HistoryPoint>) {
        let pending = own.since(&read.confirmed);
        read.total.plus(&pending).apply(cache, ai, usage);
        read.today.plus(&pending).apply_today(usage);
        let last = read.minutes.last().map(|(m, _)| *m);
        let history = read
            .minutes
            .iter()
            .map(|(minute, figures)| {
                let figures = if Some(*minute) == last {
                    figures.plus(&pending)
                } else {
                    figures.clone()
                };
                let (requests, hits) = figures.requests_and_hits();
                HistoryPoint {
                    at_unix: minute * 60,
                    requests,
                    hits,
                }
            })
            .collect();
        let mut instances: Vec<InstanceView> = read
            .listed
            .iter()
            .filter_map(|(id, at_ms, card)| {
                let card: Card = serde_json::from_str(card).ok()?;
                let ago = Duration::from_millis(read.now_ms.saturating_sub(*at_ms));
                let every = match card.every_ms {
                    0 => self.every,
                    ms => Duration::from_millis(ms),
                };
                Some(InstanceView {
                    this: *id == self.id,
                    id: id.clone(),
                    address: card.address,
                    version: card.version,
                    started_unix: card.started_unix,
                    backend: card.backend,
                    breaker: card.breaker,
                    seen_secs_ago: ago.as_secs(),
                    live: ago <= every * LIVE_REPORTS,
                })
            })
            .collect();
        if !instances.iter().any(|i| i.this) {
            instances.push(self.alone(cache));
        }
        instances.sort_by(|a, b| (!a.live, &a.id).cmp(&(!b.live, &b.id)));
        (instances, history)
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
