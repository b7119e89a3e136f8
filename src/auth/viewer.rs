//! The logged-in user of the current page request, for components and server functions.

use std::sync::Arc;

use axum::http::request::Parts;
use leptos::prelude::*;

use super::{tokens::User, Role};

/// Put in the request's extensions by the gate; `None` when not logged in.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<Arc<User>>);

/// The current request's user, read from the context leptos_axum provides.
pub fn current_user() -> Option<Arc<User>> {
    use_context::<Parts>()
        .and_then(|parts| parts.extensions.get::<Viewer>().cloned())
        .and_then(|viewer| viewer.0)
}

/// For server functions: the caller, or an error the page turns into a login prompt.
pub fn require_login() -> Result<Arc<User>, ServerFnError> {
    current_user().ok_or_else(|| ServerFnError::new("登录已失效，请重新登录"))
}

pub fn require_admin() -> Result<Arc<User>, ServerFnError> {
    let user = require_login()?;
    match user.role {
        Role::Admin => Ok(user),
        Role::User => Err(ServerFnError::new("需要管理员权限")),
    }
}
