//! Routed pages. Server functions sit beside the component that calls them.

pub mod home;
pub mod not_found;
