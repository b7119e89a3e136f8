//! A page's render runs to its end even when the browser goes away.
//!
//! A server render owns a tree of reactive owners, and the resources it waits on run as tasks
//! of their own under that tree. When the client disconnects, the server drops the response
//! body, and with it the render's root owner, while such a task may be reading its context on
//! another thread: the owner cleanup then waits for a lock that very task holds, and the worker
//! thread hangs for good (reactive_graph takes a parent's lock while walking up from a child).
//! Caught in a test that read a page's status and dropped the rest. So the render is driven by
//! a task of its own that outlives the client: its pieces go to the client while it listens,
//! and are dropped once it is gone, up to the end of the page or `RENDER_DEADLINE`.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::header,
    middleware::Next,
    response::Response,
};
use futures::{SinkExt, StreamExt};

/// The longest a page's render is driven after its headers went out.
const RENDER_DEADLINE: Duration = Duration::from_secs(120);
/// Pieces of a page held for a slow client.
const BUFFERED: usize = 8;

/// Middleware for the pages: every HTML answer is rendered to its end.
pub async fn finish_pages(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if !html {
        return response;
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, finished(body, RENDER_DEADLINE))
}

/// `body`, read to its end by a task of its own.
fn finished(body: Body, deadline: Duration) -> Body {
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, axum::Error>>(BUFFERED);
    tokio::spawn(async move {
        let drive = async {
            let mut pieces = body.into_data_stream();
            let mut listening = true;
            while let Some(piece) = pieces.next().await {
                if listening && tx.send(piece).await.is_err() {
                    listening = false;
                }
            }
        };
        let _ = tokio::time::timeout(deadline, drive).await;
    });
    Body::from_stream(rx)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test]
    async fn a_page_left_by_its_client_is_rendered_to_the_end() {
        let read = Arc::new(AtomicUsize::new(0));
        let counted = read.clone();
        let pieces = futures::stream::iter(0..20).then(move |i| {
            let counted = counted.clone();
            async move {
                tokio::task::yield_now().await;
                counted.fetch_add(1, Ordering::SeqCst);
                Ok::<_, std::io::Error>(Bytes::from(format!("<p>{i}</p>")))
            }
        });
        let body = finished(Body::from_stream(pieces), Duration::from_secs(5));
        let mut client = body.into_data_stream();
        assert_eq!(client.next().await.unwrap().unwrap(), "<p>0</p>");
        drop(client);
        for _ in 0..200 {
            if read.load(Ordering::SeqCst) == 20 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the render stopped at {}", read.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_client_that_stays_gets_the_page_whole() {
        let pieces = futures::stream::iter(["<html>", "<body>", "</html>"])
            .map(|s| Ok::<_, std::io::Error>(Bytes::from(s)));
        let body = finished(Body::from_stream(pieces), Duration::from_secs(5));
        let whole = axum::body::to_bytes(body, 1024).await.unwrap();
        assert_eq!(whole, "<html><body></html>");
    }
}
