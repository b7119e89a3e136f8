//! When to try the model again and how long to wait: the seed's exponential backoff
//! (base · 2ⁿ: 2, 4, 8 s by default), `Retry-After` honoured up to a cap.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

pub use crate::config::RetryPolicy;

/// The policy's waits, worked out here and nowhere else.
impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): base · 2^retry.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.base.saturating_mul(2u32.saturating_pow(retry))
    }

    /// The wait before retry number `retry`, letting the server's `Retry-After` replace the
    /// backoff when it gave one (capped, so a hostile value cannot park a request).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(asked) => asked.min(self.retry_after_max),
            None => self.backoff(retry),
        }
    }

    /// Every wait in order, for documentation and tests.
    pub fn schedule(&self) -> Vec<Duration> {
        (0..self.max_retries).map(|n| self.backoff(n)).collect()
    }
}

/// Whether an HTTP status from the model API can succeed on a later try: timeouts, rate limits
/// and server-side failures can; a bad request, a bad key or a wrong URL cannot.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            base: Duration::from_secs(2),
            retry_after_max: Duration::from_secs(30),
        }
    }

    #[test]
    fn default_schedule_is_two_four_eight() {
        assert_eq!(
            policy().schedule(),
            vec![
                Duration::from_secs(2),
                Duration::from_secs(4),
                Duration::from_secs(8)
            ]
        );
    }

    #[test]
    fn fractional_base_doubles() {
        let p = RetryPolicy {
            base: Duration::from_millis(50),
            ..policy()
        };
        assert_eq!(p.backoff(0), Duration::from_millis(50));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
    }

    #[test]
    fn backoff_saturates_instead_of_overflowing() {
        assert_eq!(
            policy().backoff(200),
            Duration::from_secs(2 * u64::from(u32::MAX))
        );
    }

    #[test]
    fn retry_after_replaces_backoff_but_is_capped() {
        let p = policy();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600))),
            Duration::from_secs(30)
        );
        assert_eq!(p.delay(1, None), Duration::from_secs(4));
    }

    #[test]
    fn classification_retries_only_what_can_succeed() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(
                is_retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(code).unwrap()),
                "{code}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(12));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(12)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(12));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
