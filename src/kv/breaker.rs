//! The Redis circuit breaker. A failed or late Redis command opens it at once, so the requests
//! after it go to memory without waiting; the background probe closes it when Redis answers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::model::BreakerStats;

#[derive(Default)]
pub struct Breaker {
    open: AtomicBool,
    opened: AtomicU64,
    closed: AtomicU64,
}

impl Breaker {
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Gives up on Redis; logs the seed's line once per outage.
    pub fn trip(&self, reason: &str) {
        if !self.open.swap(true, Ordering::AcqRel) {
            self.opened.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("Redis 不可用，降级到内存缓存: {reason}");
        }
    }

    /// Takes Redis back after a successful probe.
    pub fn reset(&self) {
        if self.open.swap(false, Ordering::AcqRel) {
            self.closed.fetch_add(1, Ordering::Relaxed);
            tracing::info!("Redis 已恢复，切回 Redis 缓存");
        }
    }

    pub fn stats(&self) -> BreakerStats {
        BreakerStats {
            state: if self.is_open() { "open" } else { "closed" }.to_owned(),
            opened: self.opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_transition_once() {
        let b = Breaker::default();
        b.trip("boom");
        b.trip("boom again");
        assert!(b.is_open());
        b.reset();
        b.reset();
        assert!(!b.is_open());
        assert_eq!(
            b.stats(),
            BreakerStats {
                state: "closed".to_owned(),
                opened: 1,
                closed: 1
            }
        );
    }
}
