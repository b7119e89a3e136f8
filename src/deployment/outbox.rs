//! What an instance has counted and not yet seen added to the deployment's figures, as numbered
//! reports. Each report is made once, at its interval (so it lands in the minute and day it was
//! counted in, even when Redis was away then), and sent until Redis confirms it. Redis applies a
//! number only once, so a report whose answer was lost (a timeout after the write) is not added
//! twice when it is sent again.

use std::collections::VecDeque;

use super::figures::Figures;

/// Reports kept while Redis is away; past this, the oldest unsent ones are merged.
const MAX_KEPT: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub seq: u64,
    pub minute: u64,
    pub day: u64,
    pub delta: Figures,
}

#[derive(Default)]
pub struct Outbox {
    /// The counters as of the last report made.
    made: Figures,
    /// What Redis has confirmed adding: the sum of every report sent and confirmed.
    confirmed: Figures,
    waiting: VecDeque<Report>,
    last_seq: u64,
}

impl Outbox {
    /// Makes a report of what `now` has beyond the last one, counted in `minute` of `day`.
    pub fn make(&mut self, now: Figures, minute: u64, day: u64) {
        let delta = now.since(&self.made);
        self.made = now;
        if delta.is_empty() {
            return;
        }
        self.last_seq += 1;
        self.waiting.push_back(Report {
            seq: self.last_seq,
            minute,
            day,
            delta,
        });
        if self.waiting.len() > MAX_KEPT {
            // The first may have reached Redis unconfirmed: it keeps its number and contents.
            // The next two were never sent (sending stops at the first failure).
            if let (Some(second), Some(third)) = (self.waiting.remove(1), self.waiting.remove(1)) {
                self.waiting.insert(
                    1,
                    Report {
                        delta: second.delta.plus(&third.delta),
                        ..third
                    },
                );
            }
        }
    }

    /// The report to send next.
    pub fn next(&self) -> Option<&Report> {
        self.waiting.front()
    }

    /// Redis has the report `seq` (the one `next` gave).
    pub fn confirm(&mut self, seq: u64) {
        if self.waiting.front().is_some_and(|r| r.seq == seq) {
            if let Some(report) = self.waiting.pop_front() {
                self.confirmed = self.confirmed.plus(&report.delta);
            }
        }
    }

    /// What Redis is known to hold from this instance.
    pub fn confirmed(&self) -> &Figures {
        &self.confirmed
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn figures(hits: i64) -> Figures {
        Figures::from_hash(HashMap::from([("cache:hits".to_owned(), hits)]))
    }

    #[test]
    fn reports_wait_in_order_and_merge_without_touching_the_first() {
        let mut outbox = Outbox::default();
        outbox.make(figures(0), 1, 1);
        assert!(outbox.next().is_none(), "nothing new, no report");
        for n in 1..=(MAX_KEPT as i64 + 1) {
            outbox.make(figures(n), n as u64, 1);
        }
        assert_eq!(outbox.waiting.len(), MAX_KEPT);
        let first = outbox.next().unwrap().clone();
        assert_eq!((first.seq, first.delta.clone()), (1, figures(1)));
        assert_eq!(outbox.waiting[1].delta, figures(2), "two merged");
        assert_eq!(outbox.waiting[1].seq, 3);
        let sum = outbox
            .waiting
            .iter()
            .fold(Figures::default(), |sum, r| sum.plus(&r.delta));
        assert_eq!(sum, figures(MAX_KEPT as i64 + 1), "nothing lost");
        let seqs: Vec<u64> = outbox.waiting.iter().map(|r| r.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));

        outbox.confirm(2);
        assert_eq!(outbox.next().unwrap().seq, 1, "only the first is confirmed");
        outbox.confirm(1);
        assert_eq!(outbox.confirmed(), &figures(1));
        assert_eq!(outbox.next().unwrap().seq, 3);
    }
}
