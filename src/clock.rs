//! The clock, in one place: Unix seconds and milliseconds, minutes, and days and times as writers
//! in China read them (UTC+8, no daylight saving). Unit tests move it with `shift` (per thread,
//! so tests running side by side keep their own time).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const OFFSET_SECS: i64 = 8 * 3600;
const DAY_SECS: u64 = 86_400;

#[cfg(test)]
thread_local! {
    static SHIFT: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Moves this thread's clock forward by `by` (tests only).
#[cfg(test)]
pub fn shift(by: Duration) {
    SHIFT.with(|s| s.set(s.get() + by));
}

/// Now.
pub fn now() -> SystemTime {
    let now = SystemTime::now();
    #[cfg(test)]
    let now = now + SHIFT.with(std::cell::Cell::get);
    now
}

fn since_epoch(at: SystemTime) -> Duration {
    at.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Seconds since the Unix epoch at `at`.
pub fn unix_at(at: SystemTime) -> u64 {
    since_epoch(at).as_secs()
}

/// Seconds since the Unix epoch, now.
pub fn unix() -> u64 {
    unix_at(now())
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    since_epoch(now()).as_millis() as u64
}

/// Milliseconds since the Unix epoch, now, as the database stores them.
pub fn now_ms() -> i64 {
    unix_ms() as i64
}

/// Minutes since the Unix epoch, now.
pub fn minute() -> u64 {
    unix() / 60
}

/// The China-time day, as days since the epoch.
pub fn china_day() -> u64 {
    (unix() + OFFSET_SECS as u64) / DAY_SECS
}

/// Seconds until the next midnight in China.
pub fn secs_to_china_midnight() -> u64 {
    DAY_SECS - (unix() + OFFSET_SECS as u64) % DAY_SECS
}

/// The day of `at` in China, `YYYY-MM-DD`.
pub fn date(at: SystemTime) -> String {
    rfc3339(since_epoch(at).as_millis() as i64)[..10].to_owned()
}

/// `ms` since the epoch as China time in RFC 3339: `2026-11-26T09:30:00+08:00`.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000) + OFFSET_SECS;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+08:00",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Days since 1970-01-01 to a Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_shifted_clock_crosses_midnight_in_china() {
        let (day, left) = (china_day(), secs_to_china_midnight());
        assert!((1..=DAY_SECS).contains(&left));
        shift(Duration::from_secs(left));
        assert_eq!(china_day(), day + 1);
        assert!(secs_to_china_midnight() > DAY_SECS - 2);
        assert_eq!(minute(), unix() / 60);
    }

    #[test]
    fn dates_and_times_in_china() {
        assert_eq!(date(UNIX_EPOCH), "1970-01-01");
        // 2026-11-25 16:30 UTC is already the 26th in Beijing.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_624_200);
        assert_eq!(date(t), "2026-11-26");
        assert_eq!(rfc3339(1_795_624_200_000), "2026-11-26T00:30:00+08:00");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
