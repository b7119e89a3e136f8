//! Yueen: emergency-plan sections written by an LLM, behind a cache that survives Redis failures.

// The generator page's view type is deep enough to exceed the default limit in release builds.
#![recursion_limit = "256"]

pub mod app;
pub mod browser;
pub mod components;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod admission;
#[cfg(feature = "ssr")]
pub mod ai;
#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod coord;
#[cfg(feature = "ssr")]
pub mod deployment;
#[cfg(feature = "ssr")]
pub mod domain;
#[cfg(feature = "ssr")]
pub mod enterprises;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
pub mod generation;
#[cfg(feature = "ssr")]
pub mod jobs;
#[cfg(feature = "ssr")]
pub mod kv;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod periodic;
#[cfg(feature = "ssr")]
pub mod plans;
#[cfg(feature = "ssr")]
pub mod prompt;
#[cfg(feature = "ssr")]
pub mod startup;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod telemetry;
#[cfg(feature = "ssr")]
pub mod templates;
#[cfg(feature = "ssr")]
pub mod usage;
#[cfg(feature = "ssr")]
pub mod warmup;
#[cfg(feature = "ssr")]
pub mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Waits for the wasm chunk of a lazily loaded page before hydrating it, then says the page
    // is interactive.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        leptos::mount::hydrate_from_async(body, app::App)
            .await
            .forget();
        browser::mark_hydrated();
    });
}
