//! Validated business input: parse, don't validate.

pub mod enterprise;
pub mod fact_check;
pub mod facts;
