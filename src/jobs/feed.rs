//! Each plan's event log, which its viewers follow: in Redis (a stream every instance reads, so
//! a viewer may be served by another instance than the one running the job), in this process
//! while Redis is not configured or away. Every event has an id, `<ms>-<n>`, increasing, so a
//! viewer that comes back with the last id it had gets exactly what it missed.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::{
    clock::now_ms,
    coord::Coordination,
    model::{FeedEvent, FeedItem},
};

/// Events kept per plan (about: Redis trims whole blocks): a plan of 50 sections streamed in
/// small pieces fits.
const MAX_EVENTS: usize = 20_000;
/// How long a plan's log is kept after its last event (a viewer back later reads the saved
/// plan and the job).
const KEPT_FOR: Duration = Duration::from_secs(6 * 3600);
/// Plans whose log this process keeps while Redis is away; the oldest goes first.
const MAX_LOCAL_PLANS: usize = 1_000;

/// Where to read from: from an event on (inclusive), or after one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    From(EventId),
    After(EventId),
}

/// An event's id: milliseconds and a sequence number within them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventId(u64, u64);

impl EventId {
    /// Reads `<ms>-<n>`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, n) = text.split_once('-')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(n) {
            return None;
        }
        Some(Self(ms.parse().ok()?, n.parse().ok()?))
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One plan's log here: when it was last written (a count), and its events.
type LocalLog = (u64, VecDeque<(EventId, Arc<str>)>);

#[derive(Default)]
struct Local {
    logs: HashMap<String, LocalLog>,
    last: Option<EventId>,
    appended: u64,
}

pub struct Feed {
    coord: Arc<Coordination>,
    local: Mutex<Local>,
    /// For each plan someone here waits on, what this process wakes them with when it writes
    /// to that plan's log.
    wakers: Mutex<HashMap<String, Weak<Notify>>>,
}

impl Feed {
    pub fn new(coord: Arc<Coordination>) -> Self {
        Self {
            coord,
            local: Mutex::default(),
            wakers: Mutex::default(),
        }
    }

    fn name(owner: &str, plan_id: &str) -> String {
        let owner = hex::encode(&Sha256::digest(owner.as_bytes())[..8]);
        format!("feed:{owner}:{plan_id}")
    }

    /// Adds `item` to the plan's log; its id (`None` only if it could not be written at all).
    pub async fn publish(&self, owner: &str, plan_id: &str, item: &FeedItem) -> Option<String> {
        let payload = serde_json::to_string(item).ok()?;
        let name = Self::name(owner, plan_id);
        let id = match self.coord.shared() {
            Some(shared) => shared.append(&name, &payload, MAX_EVENTS, KEPT_FOR).await,
            None => None,
        };
        let id = id.unwrap_or_else(|| self.append_here(&name, payload).to_string());
        let waker = self.wakers().get(&name).and_then(Weak::upgrade);
        if let Some(waker) = waker {
            waker.notify_waiters();
        }
        Some(id)
    }

    fn append_here(&self, name: &str, payload: String) -> EventId {
        let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms().max(0) as u64;
        let id = match local.last {
            Some(EventId(ms, n)) if ms >= now => EventId(ms, n + 1),
            _ => EventId(now, 0),
        };
        local.last = Some(id);
        local.appended += 1;
        let stamp = local.appended;
        if !local.logs.contains_key(name) && local.logs.len() >= MAX_LOCAL_PLANS {
            let oldest = local
                .logs
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                local.logs.remove(&oldest);
            }
        }
        let (at, log) = local.logs.entry(name.to_owned()).or_default();
        *at = stamp;
        if log.len() >= MAX_EVENTS {
            log.pop_front();
        }
        log.push_back((id, payload.into()));
        id
    }

    /// At most `count` events of the plan's log from `cursor`.
    pub async fn read(
        &self,
        owner: &str,
        plan_id: &str,
        cursor: &Cursor,
        count: usize,
    ) -> Vec<FeedEvent> {
        let name = Self::name(owner, plan_id);
        let entries = match self.coord.shared() {
            Some(shared) => {
                let start = match cursor {
                    Cursor::From(id) => id.to_string(),
                    Cursor::After(id) => format!("({id}"),
                };
                shared.read_log(&name, &start, count).await
            }
            None => None,
        };
        let entries = entries.unwrap_or_else(|| self.read_here(&name, cursor, count));
        entries
            .into_iter()
            .filter_map(|(id, payload)| {
                let item = serde_json::from_str::<FeedItem>(&payload).ok()?;
                Some(FeedEvent { id, item })
            })
            .collect()
    }

    fn read_here(&self, name: &str, cursor: &Cursor, count: usize) -> Vec<(String, String)> {
        let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, log)) = local.logs.get(name) else {
            return Vec::new();
        };
        log.iter()
            .filter(|(id, _)| match cursor {
                Cursor::From(from) => id >= from,
                Cursor::After(after) => id > after,
            })
            .take(count)
            .map(|(id, payload)| (id.to_string(), payload.to_string()))
            .collect()
    }

    /// Whether the log is shared with other instances (Redis configured).
    pub fn shared(&self) -> bool {
        self.coord.configured()
    }

    fn wakers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<Notify>>> {
        self.wakers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What wakes a viewer of the plan when this process writes to its log (one per plan,
    /// shared by its viewers here, gone with the last of them).
    pub fn waker(&self, owner: &str, plan_id: &str) -> Arc<Notify> {
        let name = Self::name(owner, plan_id);
        let mut wakers = self.wakers();
        if let Some(waker) = wakers.get(&name).and_then(Weak::upgrade) {
            return waker;
        }
        wakers.retain(|_, w| w.strong_count() > 0);
        let waker = Arc::new(Notify::new());
        wakers.insert(name, Arc::downgrade(&waker));
        waker
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_and_order() {
        let a = EventId::parse("1700000000000-0").unwrap();
        let b = EventId::parse("1700000000000-12").unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "1700000000000-12");
        for bad in ["", "1", "-1", "1-", "a-1", "1-2-3", "1 -2", &"9".repeat(21)] {
            assert_eq!(EventId::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_wakes_the_viewers_of_its_plan_only() {
        let feed = Feed::new(Coordination::start(&Default::default()).await);
        let item = FeedItem::Section(crate::model::PlanEvent {
            section_id: "1".into(),
            event: crate::model::SectionEvent::Text { text: "x".into() },
        });
        let waker = feed.waker("u", "a");
        assert!(Arc::ptr_eq(&waker, &feed.waker("u", "a")));
        let other = waker.notified();
        tokio::pin!(other);
        other.as_mut().enable();
        feed.publish("u", "b", &item).await;
        let woken = tokio::time::timeout(Duration::from_secs(5), other.as_mut()).await;
        assert!(woken.is_err(), "another plan's write wakes nobody here");
        // Listening before a write that comes before the wait still wakes.
        let mine = waker.notified();
        tokio::pin!(mine);
        mine.as_mut().enable();
        feed.publish("u", "a", &item).await;
        assert!(tokio::time::timeout(Duration::from_secs(5), mine)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_viewer_gets_what_it_missed_once() {
        let coord = Coordination::start(&Default::default()).await;
        let feed = Feed::new(coord);
        let event = |n: u64| {
            FeedItem::Section(crate::model::PlanEvent {
                section_id: n.to_string(),
                event: crate::model::SectionEvent::Text { text: "x".into() },
            })
        };
        let mut ids = Vec::new();
        for n in 0..5 {
            ids.push(feed.publish("u", "p", &event(n)).await.unwrap());
        }
        let first = EventId::parse(&ids[0]).unwrap();
        let all = feed.read("u", "p", &Cursor::From(first), 100).await;
        assert_eq!(
            all.iter().map(|e| &e.id).collect::<Vec<_>>(),
            ids.iter().collect::<Vec<_>>()
        );
        let after = EventId::parse(&ids[2]).unwrap();
        let rest = feed.read("u", "p", &Cursor::After(after), 100).await;
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].id, ids[3]);
        assert!(feed
            .read("v", "p", &Cursor::From(first), 100)
            .await
            .is_empty());
    }
}
