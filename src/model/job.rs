//! Whole-plan generation as a job the server runs, and the events of a plan its viewers (the
//! page, the API's event stream) follow: wire types shared by both sides.

use serde::{Deserialize, Serialize};

use super::{EnterpriseData, PlanEvent, PlanSection};

/// The most section ids a job may name.
pub const MAX_JOB_SECTIONS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted, not yet taken by an instance.
    Queued,
    Running,
    /// Its owner's allowance is used up: it goes on at `resumes_at`.
    WaitingForQuota,
    /// Asked to stop: the sections in flight finish, no new one starts.
    Cancelling,
    /// Every section asked for was written (some may have failed: see `failed`).
    Done,
    /// It could not run at all (see `message`).
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        Self::Queued,
        Self::Running,
        Self::WaitingForQuota,
        Self::Cancelling,
        Self::Done,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::WaitingForQuota => "waiting_for_quota",
            Self::Cancelling => "cancelling",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether the job still has work ahead (one such job per plan).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Queued | Self::Running | Self::WaitingForQuota | Self::Cancelling
        )
    }
}

/// A plan's generation job, as its viewers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanJob {
    #[cfg_attr(feature = "ssr", schema(example = "9b2f0c4e1a7d4c3e8f6a5b4c3d2e1f0a"))]
    pub id: String,
    pub plan_id: String,
    pub state: JobState,
    /// The sections it writes, in the template's order.
    pub sections: Vec<String>,
    /// Written and saved into the plan.
    pub done: Vec<String>,
    /// Failed; their error is in the plan's section.
    pub failed: Vec<String>,
    /// Edited by the writer while the job wrote them: the edit was kept, the generated text
    /// saved as a version of the plan.
    pub skipped: Vec<String>,
    /// Not settled yet.
    pub waiting: Vec<String>,
    /// Sections already done are written again.
    pub force: bool,
    /// Why it failed, waits or what it left, in the writer's language.
    pub message: Option<String>,
    /// When a job waiting for quota goes on.
    pub resumes_at: Option<String>,
    /// The instance running it, while one does.
    pub lease_holder: Option<String>,
    /// Until when that instance's claim holds; another takes the job over after it.
    pub lease_expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl PlanJob {
    /// How many of its sections are settled.
    pub fn settled(&self) -> usize {
        self.done.len() + self.failed.len() + self.skipped.len()
    }
}

/// What `POST /api/plans/{id}/generate` asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The sections to write, by id; leave out for every section not yet done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_items = 1, max_items = 50))]
    pub sections: Option<Vec<String>>,
    /// Write them even when already done (the writer's edits to them are kept as a version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
}

/// A new plan built on the server from an enterprise's data: every section waiting, with the
/// template's clauses and elements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanFromData {
    #[cfg_attr(feature = "ssr", schema(example = "emergency_plan", max_length = 64))]
    pub template_id: String,
    pub data: EnterpriseData,
    /// Defaults to `<企业名称>-<预案类型>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub title: Option<String>,
}

/// A new plan built on the server from an enterprise profile (企业档案): its form comes from
/// the profile, and each section reads the facts the registry says it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlanFromProfile {
    #[cfg_attr(feature = "ssr", schema(example = "emergency_plan", max_length = 64))]
    pub template_id: String,
    #[cfg_attr(
        feature = "ssr",
        schema(
            example = "5b1f0c9e8d7a4b3c2d1e0f9a8b7c6d5e",
            pattern = "^[0-9a-f]{32}$"
        )
    )]
    pub enterprise_id: String,
    /// What the profile cannot say (a special plan's accident category, an on-site plan's
    /// post), and fields the profile leaves empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<EnterpriseData>,
    /// Defaults to `<企业名称>-<预案类型>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(min_length = 1, max_length = 100))]
    pub title: Option<String>,
}

/// A section a job settled, as saved into the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedSection {
    /// The plan's revision before the save: a viewer whose copy is at this revision, and
    /// applies `section`, has the plan at `revision`.
    pub base_revision: i64,
    /// The plan's revision after the save.
    pub revision: i64,
    pub updated_at: String,
    pub outcome: SectionOutcome,
    /// The section as the plan now holds it.
    pub section: PlanSection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SectionOutcome {
    Done,
    Failed,
    /// The writer's edit was kept; the generated text is a version of the plan.
    Skipped,
}

/// A job started from the page: the plan as saved (its revision) and the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStarted {
    pub revision: i64,
    pub updated_at: String,
    pub job: PlanJob,
}

/// One event of a plan's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedItem {
    /// A piece of a section being written (start, text, done, error).
    Section(PlanEvent),
    /// A section saved into the plan.
    Saved(SavedSection),
    /// The job as it now stands.
    Job(PlanJob),
}

impl FeedItem {
    /// What the SSE event carries (its name says which kind).
    pub fn data(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Section(event) => serde_json::to_string(event),
            Self::Saved(saved) => serde_json::to_string(saved),
            Self::Job(job) => serde_json::to_string(job),
        }
    }

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Section(_) => "section",
            Self::Saved(_) => "saved",
            Self::Job(_) => "job",
        }
    }
}

/// An event of a plan's log with its id: a viewer that comes back names the last id it had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    pub id: String,
    #[serde(flatten)]
    pub item: FeedItem,
}
