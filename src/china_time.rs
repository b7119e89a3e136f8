//! Times as writers in China read them (UTC+8, no daylight saving).

use std::time::{SystemTime, UNIX_EPOCH};

const OFFSET_SECS: i64 = 8 * 3600;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The day of `at` in China, `YYYY-MM-DD`.
pub fn date(at: SystemTime) -> String {
    let ms = at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    rfc3339(ms)[..10].to_owned()
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
    fn dates_and_times_in_china() {
        assert_eq!(date(UNIX_EPOCH), "1970-01-01");
        // 2026-11-25 16:30 UTC is already the 26th in Beijing.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_624_200);
        assert_eq!(date(t), "2026-11-26");
        assert_eq!(rfc3339(1_795_624_200_000), "2026-11-26T00:30:00+08:00");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
