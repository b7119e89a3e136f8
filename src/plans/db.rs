//! The database behind the plans: one pool over SQLite or PostgreSQL (sqlx's `Any` driver, so
//! every query is written once), its schema brought up to date by the embedded migrations, and
//! its failures sorted into what the writer is told.

use std::{path::Path, str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::{Migration, MigrationType, Migrator},
    sqlite::SqliteConnectOptions,
    AnyPool, ConnectOptions, SqlSafeStr,
};

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }

    /// What opens a transaction that will write. SQLite takes the write lock up front, so two
    /// writers wait their turn (busy timeout) instead of one failing when it upgrades.
    pub fn begin_write(self) -> &'static str {
        match self {
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        }
    }
}

/// The schema, oldest first. Plain SQL both engines read the same way.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "plans", include_str!("../../migrations/0001_plans.sql")),
    (
        2,
        "owners",
        include_str!("../../migrations/0002_owners.sql"),
    ),
    (3, "jobs", include_str!("../../migrations/0003_jobs.sql")),
    (
        4,
        "enterprises",
        include_str!("../../migrations/0004_enterprises.sql"),
    ),
    (
        5,
        "plan enterprise",
        include_str!("../../migrations/0005_plan_enterprise.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Where the plans go: `url` when set, otherwise `data_dir/yueen.db` (the directory is made).
pub fn options(
    url: Option<&SecretString>,
    data_dir: &Path,
) -> Result<(AnyConnectOptions, Engine), String> {
    if let Some(url) = url {
        let url = url.expose_secret();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            Engine::Postgres
        };
        // The address may hold a password: its parse error is not repeated.
        let options = AnyConnectOptions::from_str(url).map_err(|_| "DATABASE_URL 无法解析")?;
        return Ok((options, engine));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("无法创建数据目录 {}: {e}", data_dir.display()))?;
    let sqlite = SqliteConnectOptions::new()
        .filename(data_dir.join("yueen.db"))
        .create_if_missing(true);
    let options = AnyConnectOptions::from_url(&sqlite.to_url_lossy())
        .map_err(|e| format!("数据库文件路径无效: {e}"))?;
    Ok((options, Engine::Sqlite))
}

/// A pool that connects when first used: a database that is down at startup is retried, it
/// does not stop the app.
pub fn pool(
    options: AnyConnectOptions,
    engine: Engine,
    max_connections: u32,
    timeout: Duration,
) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(timeout)
        // A connection idle this long is closed, and one older than this replaced, so a
        // restarted database is met with fresh connections.
        .idle_timeout(Duration::from_secs(300))
        .max_lifetime(Duration::from_secs(1800))
        // A connection is checked before use: after the database restarts, the dead ones are
        // replaced instead of failing the next saves.
        .test_before_acquire(true)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if engine == Engine::Sqlite {
                    // Readers do not wait for the writer; a writer waits for another up to
                    // the busy timeout.
                    sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
                        .execute(conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options)
}

/// Brings the schema up to date (several instances starting at once take turns).
pub async fn migrate(pool: &AnyPool) -> Result<(), sqlx::migrate::MigrateError> {
    migrator().run(pool).await
}

/// What a database failure means to the writer. The cause is logged here; it never reaches
/// the answer (it may name the server or the file).
pub fn classify(operation: &str, e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    // SQLite: 13 SQLITE_FULL; PostgreSQL: class 53 (insufficient resources: disk full, out of
    // memory, too many connections) is told as full only for the disk.
    let full = matches!(code.as_deref(), Some("13") | Some("53100"));
    tracing::warn!("预案库操作失败（{operation}）: {e}");
    if full {
        StoreError::Full
    } else {
        StoreError::Unavailable
    }
}
