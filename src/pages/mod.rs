//! Routed pages. Server functions sit beside the component that calls them.

pub mod dashboard;
pub mod docs;
pub mod forbidden;
pub mod generator;
pub mod login;
pub mod not_found;
pub mod plan;
