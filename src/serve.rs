//! Serving connections with limits a client cannot stretch: at most `max_connections` at once
//! (more wait in the listen queue), and each request's headers — the first one's and, on a kept-
//! alive connection, every next one's — read within `header_read_timeout`, so a connection that
//! sends nothing gives its place back; a graceful stop lets running requests finish. HTTP/1.1
//! only: a balancer or a browser speaks it to us, and it has no idle state without a deadline.
//! Each request carries its peer address (`ConnectInfo`).

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{body::Body, extract::ConnectInfo, Router};
use futures::{Stream, StreamExt};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    /// How long running requests may take to finish once shutdown begins.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits (at most
/// `limits.drain`) for the connections still open. Returns when the listener closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::time::Instant {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("接受连接失败: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.map(Body::new)
            });
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let closed = std::time::Instant::now();
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("关闭时仍有连接未结束，已强制关闭");
    }
    closed
}

/// The client's address: the connection's peer, or — when the peer is one of the `trusted`
/// proxies — the nearest address in `X-Forwarded-For` that is not one of them.
pub fn client_ip(
    extensions: &axum::http::Extensions,
    headers: &axum::http::HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    Some(
        forwarded
            .iter()
            .rev()
            .map_while(|a| a.parse::<IpAddr>().ok())
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
}

/// `stream` for at most `deadline`; when cut there, `last` (if any) is its final item.
pub fn with_deadline<T: Send + 'static>(
    stream: impl Stream<Item = T> + Send + 'static,
    deadline: Duration,
    last: Option<T>,
) -> impl Stream<Item = T> + Send + 'static {
    let until = tokio::time::Instant::now() + deadline;
    futures::stream::unfold(
        (Box::pin(stream), last, false),
        move |(mut stream, last, cut)| async move {
            if cut {
                return None;
            }
            tokio::select! {
                item = stream.next() => item.map(|item| (item, (stream, last, false))),
                () = tokio::time::sleep_until(until) => {
                    last.map(|item| (item, (stream, None, true)))
                }
            }
        },
    )
}

/// The event that ends a section stream cut at its deadline.
pub fn deadline_event() -> crate::model::SectionEvent {
    crate::model::SectionEvent::Error {
        code: "STREAM_DEADLINE".to_owned(),
        message: "生成时间超过上限，连接已结束；已生成的部分保留，完整的内容写入缓存后可重新获取"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_proxy_names_the_client_others_cannot() {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 2], 5000))));
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.9, 10.0.0.1".parse().unwrap());
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let inner: IpAddr = "10.0.0.1".parse().unwrap();
        let client = |trusted: &[IpAddr]| client_ip(&extensions, &headers, trusted).unwrap();
        assert_eq!(client(&[]), proxy, "an untrusted peer is the client");
        assert_eq!(client(&[proxy]), inner);
        assert_eq!(
            client(&[proxy, inner]),
            "198.51.100.9".parse::<IpAddr>().unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_past_its_deadline_ends_with_the_last_item() {
        let slow = futures::stream::iter(0..10).then(|n| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n
        });
        let got: Vec<i32> = with_deadline(slow, Duration::from_millis(3500), Some(-1))
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2, -1]);
        let quick = futures::stream::iter(0..3);
        let got: Vec<i32> = with_deadline(quick, Duration::from_secs(1), Some(-1))
            .collect()
            .await;
        assert_eq!(got, [0, 1, 2]);
    }
}
