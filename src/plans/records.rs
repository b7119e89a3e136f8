//! The SQL: plans and versions as rows, read and written on a connection the service holds
//! (mostly inside its transaction). Every statement names its owner: one user's query never
//! touches another's rows.

use sqlx::{any::AnyRow, AnyConnection, Row};

use crate::{
    clock::rfc3339,
    model::{PlanSummary, VersionKind, VersionSummary},
};

/// A plan's row.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub id: String,
    pub title: String,
    pub template_id: String,
    pub template_name: String,
    pub enterprise_name: String,
    /// The profile the plan was made from.
    pub enterprise_id: Option<String>,
    /// The enterprise form of a plan made from a profile (JSON), read without its text.
    pub enterprise_data: Option<String>,
    pub sections_done: i64,
    pub sections_total: i64,
    pub body: String,
    pub revision: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
}

const PLAN_COLUMNS: &str = "id, title, template_id, template_name, enterprise_name, enterprise_id, enterprise_data, sections_done, sections_total, body, revision, created_at, updated_at, deleted_at";
const SUMMARY_COLUMNS: &str = "id, title, template_name, enterprise_name, sections_done, sections_total, revision, created_at, updated_at, deleted_at";

fn plan_record(row: &AnyRow) -> Result<PlanRecord, sqlx::Error> {
    Ok(PlanRecord {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        template_id: row.try_get("template_id")?,
        template_name: row.try_get("template_name")?,
        enterprise_name: row.try_get("enterprise_name")?,
        enterprise_id: row.try_get("enterprise_id")?,
        enterprise_data: row.try_get("enterprise_data")?,
        sections_done: row.try_get("sections_done")?,
        sections_total: row.try_get("sections_total")?,
        body: row.try_get("body")?,
        revision: row.try_get("revision")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn summary(row: &AnyRow, trash_ms: i64) -> Result<PlanSummary, sqlx::Error> {
    let deleted_at: Option<i64> = row.try_get("deleted_at")?;
    Ok(PlanSummary {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        template_name: row.try_get("template_name")?,
        enterprise_name: row.try_get("enterprise_name")?,
        sections_done: row.try_get("sections_done")?,
        sections_total: row.try_get("sections_total")?,
        revision: row.try_get("revision")?,
        created_at: rfc3339(row.try_get("created_at")?),
        updated_at: rfc3339(row.try_get("updated_at")?),
        deleted_at: deleted_at.map(rfc3339),
        purge_at: deleted_at.map(|at| rfc3339(at + trash_ms)),
    })
}

/// The plan `id` of `owner`, in the trash or not.
pub async fn find(
    conn: &mut AnyConnection,
    owner: &str,
    id: &str,
) -> Result<Option<PlanRecord>, sqlx::Error> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE owner = $1 AND id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(plan_record)
        .transpose()
}

pub struct ListQuery<'a> {
    /// Part of the title, as typed; `%` and `_` are matched as themselves.
    pub search: &'a str,
    pub trash: bool,
    pub by_title: bool,
    pub limit: i64,
    pub offset: i64,
}

/// `owner`'s plans (or the trash), newest change first or by title, and how many match.
pub async fn list(
    conn: &mut AnyConnection,
    owner: &str,
    query: &ListQuery<'_>,
    trash_ms: i64,
) -> Result<(Vec<PlanSummary>, i64), sqlx::Error> {
    // SQLite's LOWER folds ASCII only: so does the pattern.
    let pattern = format!("%{}%", escape_like(&query.search.to_ascii_lowercase()));
    let state = if query.trash {
        "deleted_at IS NOT NULL"
    } else {
        "deleted_at IS NULL"
    };
    let filter = format!("WHERE owner = $1 AND {state} AND LOWER(title) LIKE $2 ESCAPE '!'");
    let order = if query.by_title {
        "title ASC, updated_at DESC"
    } else {
        "updated_at DESC, id ASC"
    };
    let sql =
        format!("SELECT {SUMMARY_COLUMNS} FROM plans {filter} ORDER BY {order} LIMIT $3 OFFSET $4");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(&pattern)
        .bind(query.limit)
        .bind(query.offset)
        .fetch_all(&mut *conn)
        .await?;
    let plans = rows
        .iter()
        .map(|row| summary(row, trash_ms))
        .collect::<Result<_, _>>()?;
    let count_sql = format!("SELECT COUNT(*) AS n FROM plans {filter}");
    let total: i64 = sqlx::query(sqlx::AssertSqlSafe(count_sql))
        .bind(owner)
        .bind(&pattern)
        .fetch_one(conn)
        .await?
        .try_get("n")?;
    Ok((plans, total))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// Takes `owner`'s turn for the rest of the transaction: their row in `plan_owners` is
/// written, which PostgreSQL locks until the transaction ends, so two transactions of one
/// owner never both count the plans and space as they were before the other (under its
/// default READ COMMITTED a count alone would not stop them). SQLite's write transactions
/// take their turns anyway.
pub async fn take_turn(conn: &mut AnyConnection, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_owners (owner, writes) VALUES ($1, 1) ON CONFLICT (owner) DO UPDATE SET writes = plan_owners.writes + 1",
    )
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Plans `owner` keeps, the trash included.
pub async fn count_of(conn: &mut AnyConnection, owner: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM plans WHERE owner = $1")
        .bind(owner)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

/// Bytes `owner`'s plans and versions hold, the trash included.
pub async fn bytes_of(conn: &mut AnyConnection, owner: &str) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT CAST(COALESCE(SUM(stored_bytes), 0) AS BIGINT) AS n FROM plans WHERE owner = $1",
    )
    .bind(owner)
    .fetch_one(conn)
    .await?
    .try_get("n")
}

/// Removes a plan in the trash for good, with its versions (the foreign key cascades); false
/// when there is none.
pub async fn remove(conn: &mut AnyConnection, owner: &str, id: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM plans WHERE owner = $1 AND id = $2 AND deleted_at IS NOT NULL")
            .bind(owner)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn insert(
    conn: &mut AnyConnection,
    owner: &str,
    plan: &PlanRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plans (owner, id, title, template_id, template_name, enterprise_name, sections_done, sections_total, body, revision, last_version, stored_bytes, created_at, updated_at, deleted_at, enterprise_id, enterprise_data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $13, $11, $12, NULL, $14, $15)",
    )
    .bind(owner)
    .bind(&plan.id)
    .bind(&plan.title)
    .bind(&plan.template_id)
    .bind(&plan.template_name)
    .bind(&plan.enterprise_name)
    .bind(plan.sections_done)
    .bind(plan.sections_total)
    .bind(&plan.body)
    .bind(plan.revision)
    .bind(plan.created_at)
    .bind(plan.updated_at)
    .bind(plan.body.len() as i64)
    .bind(plan.enterprise_id.as_deref())
    .bind(plan.enterprise_data.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// The template and enterprise form (JSON) of `owner`'s plans (not in the trash) made from
/// profile `enterprise_id`: small, their texts are not read.
pub async fn forms_of_enterprise(
    conn: &mut AnyConnection,
    owner: &str,
    enterprise_id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT template_id, enterprise_data FROM plans WHERE owner = $1 AND enterprise_id = $2 AND deleted_at IS NULL ORDER BY created_at LIMIT 1000",
    )
    .bind(owner)
    .bind(enterprise_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let data: Option<String> = row.try_get("enterprise_data")?;
            Ok((row.try_get("template_id")?, data.unwrap_or_default()))
        })
        .collect()
}

/// Writes the plan's content and revision as `plan` holds them (and `title` when given), if
/// the plan is still at revision `read` (what the caller read it at): false when another
/// writer came first. This compare-and-set, not a read lock, is what keeps two saves on
/// PostgreSQL from both passing the revision check. A title not given is left as it is in
/// the row, so a rename committed meanwhile is not undone.
pub async fn update(
    conn: &mut AnyConnection,
    owner: &str,
    plan: &PlanRecord,
    title: Option<&str>,
    read: i64,
    growth: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE plans SET title = COALESCE($3, title), template_name = $4, enterprise_name = $5, sections_done = $6, sections_total = $7, body = $8, revision = $9, updated_at = $10, stored_bytes = stored_bytes + $12, enterprise_id = $13, enterprise_data = $14 \
         WHERE owner = $1 AND id = $2 AND revision = $11 AND deleted_at IS NULL",
    )
    .bind(owner)
    .bind(&plan.id)
    .bind(title)
    .bind(&plan.template_name)
    .bind(&plan.enterprise_name)
    .bind(plan.sections_done)
    .bind(plan.sections_total)
    .bind(&plan.body)
    .bind(plan.revision)
    .bind(plan.updated_at)
    .bind(read)
    .bind(growth)
    .bind(plan.enterprise_id.as_deref())
    .bind(plan.enterprise_data.as_deref())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives the plan a new title; false when it is gone.
pub async fn rename(
    conn: &mut AnyConnection,
    owner: &str,
    id: &str,
    title: &str,
    at: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE plans SET title = $3, updated_at = $4 WHERE owner = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(owner)
    .bind(id)
    .bind(title)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the plan to the trash (`Some(now)`) or back (`None`); false when there was nothing
/// to move.
pub async fn set_deleted(
    conn: &mut AnyConnection,
    owner: &str,
    id: &str,
    at: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let done = match at {
        Some(at) => {
            sqlx::query("UPDATE plans SET deleted_at = $3 WHERE owner = $1 AND id = $2 AND deleted_at IS NULL")
                .bind(owner)
                .bind(id)
                .bind(at)
                .execute(conn)
                .await?
        }
        // Back from the trash it counts as changed now, so it is at the top of the list.
        None => {
            sqlx::query("UPDATE plans SET deleted_at = NULL, updated_at = $3 WHERE owner = $1 AND id = $2 AND deleted_at IS NOT NULL")
                .bind(owner)
                .bind(id)
                .bind(crate::clock::now_ms())
                .execute(conn)
                .await?
        }
    };
    Ok(done.rows_affected() > 0)
}

/// Removes for good at most `at_most` of the plans in the trash since before `cutoff`, with
/// their versions (the foreign key cascades); how many.
pub async fn purge(
    conn: &mut AnyConnection,
    cutoff: i64,
    at_most: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM plans WHERE (owner, id) IN (SELECT owner, id FROM plans WHERE deleted_at IS NOT NULL AND deleted_at < $1 LIMIT $2)",
    )
    .bind(cutoff)
    .bind(at_most)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The number the plan's next version takes, a version of `bytes` counted to the plan (the
/// plan's row is locked until the transaction ends, so two writers never take the same one).
pub async fn next_version(
    conn: &mut AnyConnection,
    owner: &str,
    id: &str,
    bytes: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE plans SET last_version = last_version + 1, stored_bytes = stored_bytes + $3 WHERE owner = $1 AND id = $2 RETURNING last_version",
    )
    .bind(owner)
    .bind(id)
    .bind(bytes)
    .fetch_one(conn)
    .await?
    .try_get("last_version")
}

pub struct VersionRecord<'a> {
    pub version: i64,
    pub kind: VersionKind,
    pub note: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub created_at: i64,
}

pub async fn insert_version(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
    v: &VersionRecord<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO plan_versions (owner, plan_id, version, kind, note, title, body, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $8)",
    )
    .bind(owner)
    .bind(plan_id)
    .bind(v.version)
    .bind(v.kind.as_str())
    .bind(v.note)
    .bind(v.title)
    .bind(v.body)
    .bind(v.created_at)
    .bind(v.body.len() as i64)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps only the latest `keep` automatic versions (generations and restores), and apart from
/// them the latest `keep` texts kept from conflicts; named versions are never pruned.
pub async fn prune_versions(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
    keep: i64,
) -> Result<(), sqlx::Error> {
    for kinds in ["('auto', 'restore')", "('conflict')"] {
        let pruned = format!(
            "FROM plan_versions WHERE owner = $1 AND plan_id = $2 AND kind IN {kinds} AND version NOT IN \
             (SELECT version FROM plan_versions WHERE owner = $1 AND plan_id = $2 AND kind IN {kinds} ORDER BY version DESC LIMIT $3)"
        );
        let freed: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) AS n {pruned}"
        )))
        .bind(owner)
        .bind(plan_id)
        .bind(keep)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        if freed == 0 {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE {pruned}")))
            .bind(owner)
            .bind(plan_id)
            .bind(keep)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "UPDATE plans SET stored_bytes = stored_bytes - $3 WHERE owner = $1 AND id = $2",
        )
        .bind(owner)
        .bind(plan_id)
        .bind(freed)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub async fn count_named(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM plan_versions WHERE owner = $1 AND plan_id = $2 AND kind = 'named'")
        .bind(owner)
        .bind(plan_id)
        .fetch_one(conn)
        .await?
        .try_get("n")
}

fn version_summary(row: &AnyRow) -> Result<VersionSummary, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    Ok(VersionSummary {
        version: row.try_get("version")?,
        kind: VersionKind::parse(&kind).unwrap_or(VersionKind::Auto),
        note: row.try_get("note")?,
        title: row.try_get("title")?,
        created_at: rfc3339(row.try_get("created_at")?),
    })
}

/// The plan's versions, newest first.
pub async fn versions(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
) -> Result<Vec<VersionSummary>, sqlx::Error> {
    sqlx::query("SELECT version, kind, note, title, created_at FROM plan_versions WHERE owner = $1 AND plan_id = $2 ORDER BY version DESC")
        .bind(owner)
        .bind(plan_id)
        .fetch_all(conn)
        .await?
        .iter()
        .map(version_summary)
        .collect()
}

/// One version and the plan it kept (as JSON).
pub async fn version(
    conn: &mut AnyConnection,
    owner: &str,
    plan_id: &str,
    version: i64,
) -> Result<Option<(VersionSummary, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT version, kind, note, title, created_at, body FROM plan_versions WHERE owner = $1 AND plan_id = $2 AND version = $3")
        .bind(owner)
        .bind(plan_id)
        .bind(version)
        .fetch_optional(conn)
        .await?;
    row.map(|row| Ok((version_summary(&row)?, row.try_get("body")?)))
        .transpose()
}

/// How many plans, writers, plans in the trash and versions there are.
pub async fn counts(conn: &mut AnyConnection) -> Result<[i64; 4], sqlx::Error> {
    let row = sqlx::query(
        "SELECT \
           (SELECT COUNT(*) FROM plans WHERE deleted_at IS NULL) AS plans, \
           (SELECT COUNT(DISTINCT owner) FROM plans WHERE deleted_at IS NULL) AS writers, \
           (SELECT COUNT(*) FROM plans WHERE deleted_at IS NOT NULL) AS trash, \
           (SELECT COUNT(*) FROM plan_versions) AS versions",
    )
    .fetch_one(conn)
    .await?;
    Ok([
        row.try_get("plans")?,
        row.try_get("writers")?,
        row.try_get("trash")?,
        row.try_get("versions")?,
    ])
}
