//! The logged-in user of the current page request, for components and server functions.

use std::sync::Arc;

use axum::http::request::Parts;
use leptos::prelude::*;

use super::tokens::User;

/// Put in the request's extensions by the gate; `None` when not logged in.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<Arc<User>>);

/// The current request's user, read from the context leptos_axum provides.
pub fn current_user() -> Option<Arc<User>> {
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
        .and_then(|viewer| viewer.0)
}
