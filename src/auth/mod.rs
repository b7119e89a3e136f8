//! Who is calling: the token table (API Bearer tokens and page logins share it), the signed
//! session cookie of the pages, logging in and out, the gate in front of the pages, and the
//! role of the current page request.

pub mod gate;
pub mod login;
pub mod session;
pub mod tokens;
pub mod viewer;

use std::sync::Arc;

pub use crate::model::Role;
pub use tokens::Tokens;

/// What logging in and the gate need.
#[derive(Clone)]
pub struct Auth {
    pub tokens: Arc<Tokens>,
    /// Session cookies get `Secure` when the public URL is HTTPS.
    pub secure_cookies: bool,
}
