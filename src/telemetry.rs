//! Logs to stdout and to a file a day in `<log_dir>` (`app.<YYYY-MM-DD>.log`, the seed's
//! `logs/app.log` with the date in its name), keeping the last `keep_days` files. `RUST_LOG`
//! overrides the default level.

use std::path::Path;

use tracing_appender::{
    non_blocking::WorkerGuard,
    rolling::{RollingFileAppender, Rotation},
};
use tracing_subscriber::{fmt, layer::SubscriberExt, util::SubscriberInitExt, EnvFilter};

const DEFAULT_FILTER: &str = "info,tower_http=warn,hyper=warn,reqwest=warn,redis=warn";

/// Installs the global subscriber. Keep the guard alive for the life of the process so the
/// file writer flushes.
pub fn init(log_dir: &Path, keep_days: usize) -> std::io::Result<WorkerGuard> {
    std::fs::create_dir_all(log_dir)?;
    let file = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("app")
        .filename_suffix("log")
        .max_log_files(keep_days)
        .build(log_dir)
        .map_err(std::io::Error::other)?;
    let (file_writer, guard) = tracing_appender::non_blocking(file);
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_target(false))
        .with(
            fmt::layer()
                .with_target(false)
                .with_ansi(false)
                .with_writer(file_writer),
        )
        .init();
    Ok(guard)
}
