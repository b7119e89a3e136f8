//! Static files: content-hashed names are cached for good, other files revalidated or kept a
//! day, pages never kept by shared caches; precompressed copies are sent to browsers that
//! accept them, other files compressed as they are sent, API answers left alone.

use std::{fs, path::Path};

use crate::helpers::{spawn_app, TestApp, USER};

const HASHED_WASM: &str = "yueen.AbCdEfGhIjKlMnOpQrStUv.wasm";
const HASHED_JS: &str = "yueen.0123456789abcdefghij-_.js";

/// A site directory like the release build's: hashed files, one with brotli and gzip copies
/// (whose bytes say which copy was sent), and an unhashed file.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join(HASHED_WASM), b"\0asm plain").unwrap();
    fs::write(pkg.join(format!("{HASHED_WASM}.br")), b"brotli copy").unwrap();
    fs::write(pkg.join(format!("{HASHED_WASM}.gz")), b"gzip copy").unwrap();
    // Compressible and without a copy: compressed on the way out.
    fs::write(pkg.join(HASHED_JS), "export const x = 1;\n".repeat(400)).unwrap();
    fs::write(pkg.join("notes.js"), "let y = 2;\n").unwrap();
    fs::write(dir.path().join("favicon.ico"), [0u8; 64]).unwrap();
    dir
}

async fn app_on(site: &Path) -> TestApp {
    spawn_app(&[("LEPTOS_SITE_ROOT", site.display().to_string())]).await
}

async fn get(app: &TestApp, path: &str, accept: &str) -> reqwest::Response {
    // reqwest decodes nothing here: no compression feature is enabled for the tests.
    app.http
        .get(app.url(path))
        .header("accept-encoding", accept)
        .send()
        .await
        .unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn hashed_files_are_immutable_and_sent_precompressed() {
    let dir = site();
    let app = app_on(dir.path()).await;
    let path = format!("/pkg/{HASHED_WASM}");

    let br = get(&app, &path, "gzip, br").await;
    assert_eq!(br.status(), 200);
    assert_eq!(
        header(&br, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&br, "content-encoding"), Some("br"));
    assert_eq!(header(&br, "content-type"), Some("application/wasm"));
    // A shared cache keeps one copy per encoding.
    assert_eq!(header(&br, "vary"), Some("accept-encoding"));
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli copy");

    let gz = get(&app, &path, "gzip").await;
    assert_eq!(header(&gz, "content-encoding"), Some("gzip"));
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzip copy");

    let plain = get(&app, &path, "identity").await;
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(header(&plain, "vary"), Some("accept-encoding"));
    assert_eq!(plain.bytes().await.unwrap().as_ref(), b"\0asm plain");
}

#[tokio::test]
async fn files_without_a_copy_are_compressed_as_sent() {
    let dir = site();
    let app = app_on(dir.path()).await;
    let js = get(&app, &format!("/pkg/{HASHED_JS}"), "gzip").await;
    assert_eq!(js.status(), 200);
    assert_eq!(header(&js, "content-encoding"), Some("gzip"));
    let sent = js.bytes().await.unwrap();
    assert!(sent.len() < 8000 / 4, "compressed: {} bytes", sent.len());
    assert_eq!(&sent[..2], &[0x1f, 0x8b], "a gzip stream");
}

#[tokio::test]
async fn other_files_are_revalidated_or_kept_a_day() {
    let dir = site();
    let app = app_on(dir.path()).await;
    let unhashed = get(&app, "/pkg/notes.js", "identity").await;
    assert_eq!(unhashed.status(), 200);
    assert_eq!(header(&unhashed, "cache-control"), Some("no-cache"));

    let missing = get(&app, "/pkg/yueen.ZZZZZZZZZZZZZZZZZZZZZZ.wasm", "identity").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        header(&missing, "cache-control"),
        Some("no-cache"),
        "a missing file is not remembered as missing"
    );

    let icon = get(&app, "/favicon.ico", "identity").await;
    assert_eq!(icon.status(), 200);
    assert_eq!(
        header(&icon, "cache-control"),
        Some("public, max-age=86400")
    );
}

#[tokio::test]
async fn pages_are_revalidated_and_compressed_api_answers_are_not() {
    let dir = site();
    let app = app_on(dir.path()).await;
    let page = app
        .http
        .get(app.url("/login"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), Some("private, no-cache"));
    assert_eq!(header(&page, "content-encoding"), Some("br"));

    let api = app
        .http
        .get(app.url("/api/templates"))
        .bearer_auth(USER)
        .header("accept-encoding", "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    assert_eq!(header(&api, "content-encoding"), None);
    assert_eq!(header(&api, "cache-control"), None);
}
