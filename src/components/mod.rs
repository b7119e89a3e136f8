//! Components shared by several pages.

pub mod chart;
pub mod check;
pub mod hydrated;
pub mod template_select;
