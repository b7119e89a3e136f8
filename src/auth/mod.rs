//! Who is calling: the token table (API Bearer tokens and page logins share it) and the signed
//! session cookie used by the pages.

pub mod session;
pub mod tokens;

pub use crate::model::Role;
pub use tokens::Tokens;
