//! A small ring buffer of cache traffic per interval, for the dashboard's chart.

use std::{collections::VecDeque, sync::Mutex};

use crate::model::HistoryPoint;

pub struct History {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    points: VecDeque<HistoryPoint>,
    last_total: u64,
    last_hits: u64,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    /// Records the traffic since the last call, given the running totals.
    pub fn record(&self, total_requests: u64, hits: u64) {
        let at_unix = crate::clock::unix();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let point = HistoryPoint {
            at_unix,
            requests: total_requests.saturating_sub(inner.last_total),
            hits: hits.saturating_sub(inner.last_hits),
        };
        inner.last_total = total_requests;
        inner.last_hits = hits;
        if inner.points.len() == self.capacity {
            inner.points.pop_front();
        }
        inner.points.push_back(point);
    }

    pub fn points(&self) -> Vec<HistoryPoint> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.points.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_deltas_and_drops_the_oldest() {
        let h = History::new(2);
        h.record(10, 4);
        h.record(15, 8);
        h.record(15, 8);
        let points = h.points();
        assert_eq!(points.len(), 2);
        assert_eq!((points[0].requests, points[0].hits), (5, 4));
        assert_eq!((points[1].requests, points[1].hits), (0, 0));
    }
}
