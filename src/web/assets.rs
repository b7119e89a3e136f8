//! The site's static files and how browsers may keep them.
//!
//! `cargo leptos build` names the wasm, JS and CSS after a hash of their content (and records
//! the hashes in `hash.txt` beside the server binary), so a file under `/pkg/` whose name carries
//! a hash never changes: it is cached for a year and never revalidated. A release build also
//! writes brotli and gzip copies beside each file (`--precompress`); they are sent to browsers
//! that accept them, and anything else that compresses well is compressed as it is sent.
//! Pages are rendered per viewer, so browsers revalidate them every time and shared caches keep
//! none.

use std::path::{Path, PathBuf};

use axum::{
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
    Router,
};
use leptos::config::LeptosOptions;
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer, CompressionLevel,
    },
    services::ServeDir,
};

/// The name of the file `cargo leptos build` writes beside the binary when it hashes names.
const HASH_FILE: &str = "hash.txt";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
const PAGE: &str = "private, no-cache";
/// Files with fixed names outside `/pkg/` (the icon): a day, then asked again.
const PLAIN_FILE: &str = "public, max-age=86400";

/// Points `options` at the hashed file names when the build that made this binary hashed them
/// (its `hash.txt` lies beside the binary), whatever the environment says: a binary copied
/// without its `hash.txt` still finds unhashed files, one with it never asks for them.
pub fn resolve_names(options: &mut LeptosOptions) {
    options.hash_file = HASH_FILE.into();
    options.hash_files = hash_file_beside_binary().is_some_and(|p| p.is_file());
    if options.hash_files {
        tracing::debug!("静态文件使用带内容哈希的文件名");
    }
}

fn hash_file_beside_binary() -> Option<PathBuf> {
    Some(std::env::current_exe().ok()?.parent()?.join(HASH_FILE))
}

/// Warns when the page's script is not where pages will ask for it: the site was built by
/// another build than this binary, or `LEPTOS_SITE_ROOT` points elsewhere.
pub fn check_site(options: &LeptosOptions) {
    let pkg = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let script = match script_name(options) {
        Some(name) => name,
        None => {
            tracing::error!("无法读取 {HASH_FILE}，页面脚本的文件名未知");
            return;
        }
    };
    if !pkg.join(&script).is_file() {
        tracing::error!(
            "页面脚本 {} 不存在：站点目录与本程序不是同一次构建的产物，页面将无法交互",
            pkg.join(&script).display()
        );
    }
}

/// The page script's file name, as the hydration scripts will ask for it.
fn script_name(options: &LeptosOptions) -> Option<String> {
    let name = &options.output_name;
    if !options.hash_files {
        return Some(format!("{name}.js"));
    }
    let hashes = std::fs::read_to_string(hash_file_beside_binary()?).ok()?;
    hashes.lines().find_map(|line| {
        let (kind, hash) = line.split_once(':')?;
        (kind.trim() == "js").then(|| format!("{name}.{}.js", hash.trim()))
    })
}

/// `/pkg/`: the build's output, with its precompressed copies.
pub fn pkg_router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    Router::new().fallback_service(files)
}

/// Compresses what is sent uncompressed and is worth it: pages, scripts, styles, wasm without a
/// precompressed copy. Streams are left alone, so each event leaves as it is written.
pub fn compression() -> CompressionLayer<impl Predicate> {
    let worth_it = SizeAbove::new(1024)
        .and(NotForContentType::const_new(
            crate::web::headers::STREAM_TYPES[0],
        ))
        .and(NotForContentType::const_new(
            crate::web::headers::STREAM_TYPES[1],
        ))
        .and(NotForContentType::IMAGES)
        // Word files are zip archives already.
        .and(NotForContentType::const_new(
            "application/vnd.openxmlformats",
        ));
    // A middle level: most of the gain at a small part of the best level's time.
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(5))
        .compress_when(worth_it)
}

/// Middleware: how long browsers and shared caches may keep a response, unless its handler
/// said so itself.
pub async fn cache_policy(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut response = next.run(req).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        if let Some(policy) = policy_for(&path, &response) {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        }
    }
    // A precompressed copy is chosen by `Accept-Encoding`, and `ServeDir` does not say so: a
    // shared cache must not hand the brotli copy to a client that did not ask for it.
    if path.starts_with("/pkg/") && !varies_by_encoding(response.headers()) {
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

fn varies_by_encoding(headers: &header::HeaderMap) -> bool {
    headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
}

fn policy_for(path: &str, response: &Response) -> Option<&'static str> {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if html {
        return Some(PAGE);
    }
    let found = matches!(
        response.status(),
        StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT
    );
    if let Some(file) = path.strip_prefix("/pkg/") {
        return Some(if found && is_hashed(file) {
            IMMUTABLE
        } else {
            REVALIDATE
        });
    }
    let static_file = found && path.rsplit('/').next()?.contains('.');
    static_file.then_some(PLAIN_FILE)
}

/// Whether a file name carries a content hash as cargo-leptos writes it: one dot-separated
/// part, neither the first nor the last, of 22 URL-safe base64 characters
/// (`yueen.4RnFyVrHB_QFlYI3sSmmjg.js`).
pub fn is_hashed(file: &str) -> bool {
    if file.contains('/') {
        return false;
    }
    let parts: Vec<&str> = file.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1].iter().any(|p| {
            p.len() == 22
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_told_from_plain_ones() {
        assert!(is_hashed("yueen.4RnFyVrHB_QFlYI3sSmmjg.js"));
        assert!(is_hashed("yueen.fERAeQcZgpJpdTXIa8hOGA.wasm"));
        assert!(is_hashed(
            "split___docs_route_view_8208632641415116008.uZ4EJ1lowL5F2YhBxDNTpw.wasm"
        ));
        assert!(is_hashed("__wasm_split.rOCjGNiyaBot6n-0OZZyPw.js"));
        assert!(!is_hashed("yueen.js"));
        assert!(!is_hashed("yueen_bg.wasm"));
        assert!(!is_hashed("4RnFyVrHB_QFlYI3sSmmjg.js"));
        assert!(!is_hashed("yueen.4RnFyVrHB_QFlYI3sSmmj.js"));
        assert!(!is_hashed("yueen.4RnFyVrHB_QFlYI3sSmmj!.js"));
        assert!(!is_hashed("x/yueen.4RnFyVrHB_QFlYI3sSmmjg.js"));
    }
}
