//! Routed pages. Server functions sit beside the component that calls them; what they call on
//! the server side is in `server`.

pub mod dashboard;
pub mod docs;
pub mod forbidden;
pub mod generator;
pub mod login;
pub mod nav;
pub mod not_found;
pub mod plan;
pub mod plans;
pub mod profile_sheet;
pub mod profiles;
pub mod save_machine;
pub mod save_status;
pub mod saved;
#[cfg(feature = "ssr")]
pub mod server;
pub mod sync;
pub mod versions;
