//! Whether this part of the page answers to input yet: false while the server renders it and
//! until the browser has hydrated it (on a slow network, after its wasm chunk arrived). Buttons
//! that only work hydrated stay disabled until then, so an early click is not silently lost.

use leptos::prelude::*;

pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    // Effects run only in the browser, once hydrated.
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}
