//! The browser side of the server: who may see which page, login and logout.

pub mod docs;
pub mod export;
pub mod gate;
pub mod login;
pub mod viewer;
pub mod views;
