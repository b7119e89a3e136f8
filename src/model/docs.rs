//! The API documentation as the `/docs` page lists it.

use serde::{Deserialize, Serialize};

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
