//! Plans as the server keeps them: the writer's plan (`Plan`) with its id, title, revision and
//! times, its versions, and a section compared between two versions. Times are China time in
//! RFC 3339 (`2026-11-26T09:30:00+08:00`).

use serde::{Deserialize, Serialize};

use super::Plan;

/// The longest title a plan may have, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The longest note a version may have, in characters.
pub const MAX_NOTE_CHARS: usize = 200;

/// A plan with everything the server keeps about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedPlan {
    #[cfg_attr(feature = "ssr", schema(example = "3f9a2c1b7d4e4f0a9b8c6d5e4f3a2b1c"))]
    pub id: String,
    #[cfg_attr(feature = "ssr", schema(example = "某化工有限公司-综合应急预案"))]
    pub title: String,
    /// Raised by every change; send it back as `base_revision` to be told about a change made
    /// elsewhere in between.
    #[cfg_attr(feature = "ssr", schema(example = 3))]
    pub revision: i64,
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-26T09:30:00+08:00"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-26T10:05:12+08:00"))]
    pub updated_at: String,
    pub plan: Plan,
}

/// A plan in a list: what tells it apart, without its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    pub id: String,
    pub title: String,
    #[cfg_attr(feature = "ssr", schema(example = "综合应急预案"))]
    pub template_name: String,
    pub enterprise_name: String,
    /// Sections written to the end, of `sections_total`.
    pub sections_done: i64,
    pub sections_total: i64,
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When it was moved to the trash; absent for a plan in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// When a plan in the trash is gone for good.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_at: Option<String>,
}

/// Why a version was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// A section was generated or generated again (only the latest few are kept).
    Auto,
    /// The writer saved it with a note (kept for good).
    Named,
    /// An earlier version was restored.
    Restore,
    /// The text another window or device had saved, replaced when a conflict was settled.
    Conflict,
}

impl VersionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Named => "named",
            Self::Restore => "restore",
            Self::Conflict => "conflict",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Auto, Self::Named, Self::Restore, Self::Conflict]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "自动",
            Self::Named => "手动保存",
            Self::Restore => "恢复",
            Self::Conflict => "冲突保留",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    /// Counts up from 1 within the plan.
    #[cfg_attr(feature = "ssr", schema(example = 7))]
    pub version: i64,
    pub kind: VersionKind,
    #[cfg_attr(feature = "ssr", schema(example = "生成：3. 风险评估"))]
    pub note: String,
    /// The plan's title when the version was kept.
    pub title: String,
    pub created_at: String,
}

/// One version with the plan as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanVersion {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub plan: Plan,
}

/// A new plan. The browser chooses the id of a plan it started offline; the API leaves it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewPlan {
    /// 32 lowercase hex digits; leave out to have one made up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(pattern = "^[0-9a-f]{32}$"))]
    pub id: Option<String>,
    /// Defaults to `<企业名称>-<预案类型>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub title: Option<String>,
    pub plan: Plan,
}

/// A change to a plan: its title, its content, or both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The revision this change was made on. When the plan has changed since, nothing is
    /// written and the answer is 409 with the plan as it is now. Leave out to overwrite.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option_i64"
    )]
    #[cfg_attr(feature = "ssr", schema(minimum = 0))]
    pub base_revision: Option<i64>,
    /// Keep the plan after this change as an automatic version, with this note (the page
    /// does so when a section has been generated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub snapshot: Option<String>,
    /// Keep the plan as it is before this change as a `conflict` version: used to settle a
    /// conflict in favour of this change without losing the other text.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_replaced: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewVersion {
    #[cfg_attr(
        feature = "ssr",
        schema(example = "2026 年修订送审稿", min_length = 1, max_length = 200)
    )]
    pub note: String,
    /// The plan to keep; leave out to keep the plan as saved now. The page sends its own text
    /// when a conflict is settled in favour of the other one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

/// A copy of a plan (next year's revision).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DuplicatePlan {
    /// Defaults to the plan's title with `（副本）`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub title: Option<String>,
}

/// What saving from the page came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SaveOutcome {
    Saved {
        revision: i64,
        updated_at: String,
    },
    /// The plan changed elsewhere since the page's revision; nothing was written.
    Conflict(Box<SavedPlan>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Same,
    /// The line is on both sides, changed.
    Changed,
    /// Only on the right (the newer side).
    Added,
    /// Only on the left.
    Removed,
}

/// A piece of a line; `changed` marks what differs from the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiffSpan {
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub changed: bool,
}

/// One row of the side-by-side view: the line on the left, the line on the right.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiffRow {
    pub kind: DiffKind,
    pub left: Option<Vec<DiffSpan>>,
    pub right: Option<Vec<DiffSpan>>,
}

/// One section compared between two versions (version 0 is the plan as saved now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SectionDiff {
    pub section_id: String,
    pub section_title: String,
    pub from: i64,
    pub to: i64,
    /// False when the two texts are the same.
    pub changed: bool,
    pub rows: Vec<DiffRow>,
}

/// What an administrator sees of the stored plans: how many, never their text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanCounts {
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// False while the database cannot be reached; the counts are then zero.
    pub available: bool,
    pub plans: i64,
    /// Users with at least one plan.
    pub writers: i64,
    pub in_trash: i64,
    pub versions: i64,
}

/// A time as the pages show it: `2026-11-26 09:30`.
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

/// A save from the page: `revision` 0 creates the plan under the id the page chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaveRequest {
    pub id: String,
    pub revision: i64,
    pub plan: Plan,
    /// A note for an automatic version of the plan as saved (a section was generated).
    pub snapshot: Option<String>,
    /// Settles a conflict for this text, keeping the replaced one as a version.
    pub keep_replaced: bool,
}

/// What the list page does to one plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanChange {
    Rename(String),
    Duplicate,
    Delete,
    Undelete,
    /// Removes a plan in the trash for good.
    Purge,
}
