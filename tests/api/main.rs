//! HTTP integration tests on the real router, compiled into one binary.
#![cfg(feature = "ssr")]

mod ai_retry;
mod binary;
mod cluster;
mod errors;
mod helpers;
mod memory_cache;
mod ops;
mod pages;
mod plan;
mod redis_cache;
mod resilience;
mod security;
mod sentinel;
mod stream;
mod usage;
mod warmup;
