//! The logged-in role of the current page request, for components and server functions.

use axum::http::request::Parts;
use leptos::prelude::*;

use super::Role;

/// Put in the request's extensions by the gate; `None` when not logged in.
#[derive(Debug, Clone, Copy)]
pub struct Viewer(pub Option<Role>);

/// The current request's role, read from the context leptos_axum provides.
pub fn current_role() -> Option<Role> {
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<Viewer>().copied())
        .and_then(|viewer| viewer.0)
}

/// For server functions: the caller's role, or an error the page turns into a login prompt.
pub fn require_login() -> Result<Role, ServerFnError> {
    current_role().ok_or_else(|| ServerFnError::new("登录已失效，请重新登录"))
}

pub fn require_admin() -> Result<(), ServerFnError> {
    match require_login()? {
        Role::Admin => Ok(()),
        Role::User => Err(ServerFnError::new("需要管理员权限")),
    }
}
