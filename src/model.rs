//! Types that cross the wire between server functions and the browser. Compiled for both sides.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    User,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::User => "用户",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldView>,
    pub sections: Vec<SectionView>,
    /// Written first in a whole plan; its text goes to the other sections.
    pub context_section: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldView {
    pub id: String,
    pub label: String,
    /// `text`, `textarea` or `integer`.
    pub kind: String,
    pub required: bool,
    pub max_len: Option<usize>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub placeholder: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
}

/// One field the server rejected: the field id (as in the form) and the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub backend: String,
    pub degraded: bool,
    pub redis_configured: bool,
    pub hits: u64,
    pub misses: u64,
    pub sets: u64,
    pub errors: u64,
    pub total_requests: u64,
    pub hit_rate: String,
    pub l1_enabled: bool,
    pub l1_hits: u64,
    pub l1_misses: u64,
    pub l2_hits: u64,
    pub l2_misses: u64,
    /// Times Redis was given up on and taken back since startup.
    pub breaker_opened: u64,
    pub breaker_closed: u64,
    pub stale_served: u64,
    pub ai_mock: bool,
    pub ai_model: String,
    pub ai_calls: u64,
    pub ai_retries: u64,
    pub ai_failures: u64,
    /// Oldest first.
    pub history: Vec<HistoryPoint>,
    /// Newest first.
    pub warmups: Vec<WarmupJobView>,
}

/// Cache traffic in one sampling interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub at_unix: u64,
    pub requests: u64,
    pub hits: u64,
}

/// The API documentation as the `/docs` page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocsView {
    pub title: String,
    pub description: String,
    pub version: String,
    pub operations: Vec<OperationView>,
    pub schemas: Vec<SchemaView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationView {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub request_schema: Option<String>,
    pub responses: Vec<ResponseView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseView {
    pub status: String,
    pub description: String,
    pub schema: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaView {
    pub name: String,
    pub json: String,
}

/// Progress of one warm-up job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarmupJobView {
    pub id: u64,
    pub label: String,
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub finished: bool,
    pub errors: Vec<String>,
}

/// One step of a section being written, as the stream carries it: `start`, any number of
/// `text`, then `done` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SectionEvent {
    /// What is being written and where it comes from.
    Start {
        template_id: String,
        section_id: String,
        section_title: String,
        model: String,
        cached: bool,
        /// An expired entry served because the model failed.
        stale: bool,
    },
    /// The next piece of text.
    Text { text: String },
    /// The section is complete (and cached, when it was new).
    Done { elapsed_ms: u64 },
    /// The section failed; any text received before stays valid but incomplete, and nothing
    /// was cached.
    Error { code: String, message: String },
}
