//! The SQL of enterprise profiles: one row per profile, its content as JSON. Every statement
//! names its owner.

use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{clock::rfc3339, model::profile::ProfileSummary};

#[derive(Debug, Clone)]
pub struct ProfileRecord {
    pub id: String,
    pub name: String,
    pub body: String,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

fn record(row: &AnyRow) -> Result<ProfileRecord, sqlx::Error> {
    Ok(ProfileRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        body: row.try_get("body")?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub async fn find(
    conn: &mut AnyConnection,
    owner: &str,
    id: &str,
) -> Result<Option<ProfileRecord>, sqlx::Error> {
    sqlx::query(
        "SELECT id, name, body, revision, created_at, updated_at FROM enterprises WHERE owner = $1 AND id = $2",
    )
    .bind(owner)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(record)
    .transpose()
}

/// `owner`'s profiles, the last changed first, without their content.
pub async fn list(
    conn: &mut AnyConnection,
    owner: &str,
    limit: i64,
) -> Result<Vec<ProfileSummary>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, name, revision, created_at, updated_at FROM enterprises WHERE owner = $1 ORDER BY updated_at DESC, id LIMIT $2",
    )
    .bind(owner)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ProfileSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                revision: row.try_get("revision")?,
                created_at: rfc3339(row.try_get("created_at")?),
                updated_at: rfc3339(row.try_get("updated_at")?),
            })
        })
        .collect()
}

pub async fn count(conn: &mut AnyConnection, owner: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM enterprises WHERE owner = $1")
        .bind(owner)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

pub async fn insert(
    conn: &mut AnyConnection,
    owner: &str,
    profile: &ProfileRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO enterprises (owner, id, name, body, revision, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(owner)
    .bind(&profile.id)
    .bind(&profile.name)
    .bind(&profile.body)
    .bind(profile.revision)
    .bind(profile.created_at)
    .bind(profile.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes `profile` if the row is still at revision `read`: false when another writer came
/// first (or it is gone).
pub async fn update(
    conn: &mut AnyConnection,
    owner: &str,
    profile: &ProfileRecord,
    read: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE enterprises SET name = $3, body = $4, revision = $5, updated_at = $6 WHERE owner = $1 AND id = $2 AND revision = $7",
    )
    .bind(owner)
    .bind(&profile.id)
    .bind(&profile.name)
    .bind(&profile.body)
    .bind(profile.revision)
    .bind(profile.updated_at)
    .bind(read)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove(conn: &mut AnyConnection, owner: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM enterprises WHERE owner = $1 AND id = $2")
        .bind(owner)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
