//! What a cache entry holds: the payload and the moment it stops being fresh. Entries live on
//! past that moment for the stale grace period, so an old answer can stand in when the AI fails.

/// `<fresh-until ms>|<payload>`.
pub fn seal(payload: &str, fresh_until_ms: u64) -> String {
    format!("{fresh_until_ms}|{payload}")
}

/// The payload and the moment it stops being fresh; `None` for anything malformed.
pub fn open(raw: &str) -> Option<(&str, u64)> {
    let (until, payload) = raw.split_once('|')?;
    Some((payload, until.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_round_trip() {
        let raw = seal("{\"a\":\"x|y\"}", 1_000);
        assert_eq!(open(&raw), Some(("{\"a\":\"x|y\"}", 1_000)));
        assert_eq!(open("no header"), None);
    }
}
