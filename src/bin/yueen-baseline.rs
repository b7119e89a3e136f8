//! Benchmark baseline: the bare axum stack on this machine. It parses the same JSON body as
//! `POST /api/ai/generate` and answers with a JSON body of the same size, doing nothing else, so
//! `bench/run.sh` can compare the real cache-hit path against the stack's ceiling.

// The same allocator as the app, so the comparison is of the request path alone.
#[cfg(feature = "ssr")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    use axum::{routing::post, Json, Router};
    use serde_json::{json, Value};

    let addr = std::env::var("BASELINE_ADDR").unwrap_or_else(|_| "127.0.0.1:3900".to_owned());
    let size: usize = std::env::var("BASELINE_BODY_CHARS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1200);
    let content = "应".repeat(size);
    let app = Router::new().route(
        "/api/ai/generate",
        post(move |Json(body): Json<Value>| {
            let content = content.clone();
            async move {
                Json(json!({
                    "success": true,
                    "content": content,
                    "section_title": "企业概况",
                    "cached": true,
                    "stale": false,
                    "template_id": body["template_id"],
                    "section_id": body["section_id"],
                    "model": "mock",
                    "elapsed_ms": 0,
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}

#[cfg(not(feature = "ssr"))]
fn main() {}
