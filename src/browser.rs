//! The few browser APIs the pages use. They only do something in the hydrated page; during
//! server rendering they are inert.

/// A value from `localStorage`.
pub fn load(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()?
            .local_storage()
            .ok()??
            .get_item(key)
            .ok()?
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Stores a value in `localStorage`; false when the storage is full or disabled.
pub fn save(key: &str, value: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .is_some_and(|storage| storage.set_item(key, value).is_ok())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (key, value);
        false
    }
}

/// Asks the user to confirm; `false` when there is no window.
pub fn confirm(message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.confirm_with_message(message).ok())
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = message;
        false
    }
}

/// Copies text to the clipboard and reports whether it worked.
pub fn copy(text: String, done: impl FnOnce(bool) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let Some(window) = web_sys::window() else {
            return done(false);
        };
        let promise = window.navigator().clipboard().write_text(&text);
        wasm_bindgen_futures::spawn_local(async move {
            done(wasm_bindgen_futures::JsFuture::from(promise).await.is_ok());
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        done(false);
    }
}

/// Moves keyboard focus to the element with `id`.
pub fn focus(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// Resolves after `ms` milliseconds (the browser's timer; at once on the server).
pub async fn sleep(ms: u64) {
    #[cfg(feature = "hydrate")]
    {
        let (done, waited) = futures::channel::oneshot::channel::<()>();
        leptos::prelude::set_timeout(
            move || {
                let _ = done.send(());
            },
            std::time::Duration::from_millis(ms),
        );
        let _ = waited.await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}

/// Marks the document as interactive (`<html data-hydrated>`): the page's code has loaded (a
/// lazily loaded page's own chunk included) and hydrated it. Parts loaded after that (the plan
/// cards) come later. What the benchmarks and tests wait for.
pub fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-hydrated", "");
    }
}

/// Removes a value from `localStorage`.
pub fn remove(key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.remove_item(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

/// The `localStorage` keys that start with `prefix`.
pub fn keys(prefix: &str) -> Vec<String> {
    #[cfg(feature = "hydrate")]
    {
        let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
            return Vec::new();
        };
        let count = storage.length().unwrap_or(0);
        (0..count)
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter(|k| k.starts_with(prefix))
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = prefix;
        Vec::new()
    }
}

/// 32 random lowercase hex digits from the browser's cryptographic generator (which, unlike
/// `randomUUID`, also works on a plain-HTTP intranet address).
pub fn random_id() -> String {
    #[cfg_attr(not(feature = "hydrate"), allow(unused_mut))]
    let mut bytes = [0u8; 16];
    #[cfg(feature = "hydrate")]
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Goes to `url` on this site (a full page load).
pub fn go(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// Asks for a line of text; `None` when cancelled or there is no window.
pub fn prompt(message: &str, default: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window()
            .and_then(|w| w.prompt_with_message_and_default(message, default).ok())
            .flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (message, default);
        None
    }
}

/// Runs `f` whenever the browser says it is back online.
pub fn on_online(f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{closure::Closure, JsCast};
        if let Some(window) = web_sys::window() {
            let callback = Closure::<dyn Fn()>::new(f);
            let _ = window
                .add_event_listener_with_callback("online", callback.as_ref().unchecked_ref());
            // Listens for the page's whole life.
            callback.forget();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = f;
}
