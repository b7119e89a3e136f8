//! What a cache entry holds: the payload and the moment it stops being fresh. Entries live on
//! past that moment for the stale grace period, so an old answer can stand in when the AI fails.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `<fresh-until ms>|<payload>`.
pub fn seal(payload: &str, fresh_until_ms: u64) -> String {
    format!("{fresh_until_ms}|{payload}")
}

/// The payload and whether it is still fresh at `now_ms`; `None` for anything malformed.
pub fn open(raw: &str, now_ms: u64) -> Option<(&str, bool)> {
    let (until, payload) = raw.split_once('|')?;
    let until: u64 = until.parse().ok()?;
    Some((payload, now_ms < until))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_round_trip() {
        let raw = seal("{\"a\":\"x|y\"}", 1_000);
        assert_eq!(open(&raw, 999), Some(("{\"a\":\"x|y\"}", true)));
        assert_eq!(open(&raw, 1_000), Some(("{\"a\":\"x|y\"}", false)));
        assert_eq!(open("no header", 0), None);
    }
}
