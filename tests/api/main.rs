//! HTTP integration tests on the real router, compiled into one binary.
#![cfg(feature = "ssr")]

mod ai_retry;
mod assets;
mod balancer;
mod binary;
mod check;
mod cluster;
mod deployment;
mod enterprises;
mod errors;
mod helpers;
mod hostile;
mod jobs;
mod memory_cache;
mod ops;
mod pages;
mod plan;
mod postgres;
mod process;
mod redis_cache;
mod resilience;
mod saved_plans;
mod security;
mod sentinel;
mod stream;
mod usage;
mod warmup;
