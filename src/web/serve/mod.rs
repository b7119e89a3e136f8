//! Serving connections with limits a client cannot stretch: at most `max_connections` at once
//! (more wait in the listen queue) and `max_per_ip` from one client address (past that, a 429
//! and the connection closed); each request's headers — the first one's and, on a kept-alive
//! connection, every next one's — read within `header_read_timeout`, so a connection that
//! sends nothing gives its place back; its body within `body_read_timeout` (else 408, see
//! `deadline`); and a response the client takes nothing of for `write_timeout` ends the
//! connection. A graceful stop lets running requests finish. HTTP/1.1 only: a balancer or a
//! browser speaks it to us, and it has no idle state without a deadline. Each request carries
//! its peer address (`ConnectInfo`).

pub mod deadline;
mod per_ip;

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use axum::{body::Body, extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use self::deadline::BodyLate;

/// What is left of the shutdown timeout when streams still open are asked to end.
const LAST_CALL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// Connections one client address may hold.
    pub max_per_ip: usize,
    /// Proxies whose connections are not counted per address (they carry many clients).
    pub trusted_proxies: Arc<[IpAddr]>,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub write_timeout: Duration,
    /// How long running requests may take to finish once shutdown begins.
    pub drain: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves, then waits (at most
/// `limits.drain`) for the connections still open; shortly before that time is up,
/// `last_call` is cancelled so that streams can end with a last event. Returns when the
/// listener closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    last_call: CancellationToken,
) -> std::time::Instant {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_ip = per_ip::PerIp::new(limits.max_per_ip, limits.trusted_proxies.clone());
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let (body_timeout, write_timeout) = (limits.body_read_timeout, limits.write_timeout);
    let serve_one = |stream: tokio::net::TcpStream, peer: SocketAddr, permit| {
        let Some(counted) = per_ip.admit(peer.ip()) else {
            tokio::spawn(async move {
                refuse(stream).await;
                drop(permit);
            });
            return;
        };
        let service = router
            .clone()
            .map_request(move |req: axum::http::Request<Incoming>| {
                let (mut parts, body) = req.into_parts();
                parts.extensions.insert(ConnectInfo(peer));
                // A request without a body (most GETs) has nothing to wait for.
                if http_body::Body::is_end_stream(&body) {
                    return axum::http::Request::from_parts(parts, Body::new(body));
                }
                let late = Arc::new(AtomicBool::new(false));
                parts.extensions.insert(BodyLate(late.clone()));
                let body = deadline::ReadDeadline::new(Body::new(body), body_timeout, late);
                axum::http::Request::from_parts(parts, Body::new(body))
            });
        let io = TokioIo::new(deadline::WriteDeadline::new(stream, write_timeout));
        let connection = builder.serve_connection(io, TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop((permit, counted));
        });
    };
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
        serve_one(stream, peer, Some(permit));
    }
    // Connections the kernel completed but nobody accepted yet would be reset when the
    // listener closes — after their clients had sent a request, which a balancer then may not
    // send elsewhere. They are taken (asking the socket itself, not the reactor's last word)
    // and served too.
    let mut queued = 0;
    if let Ok(listener) = listener.into_std() {
        while let Ok((stream, peer)) = listener.accept() {
            let stream = stream
                .set_nonblocking(true)
                .and_then(|()| tokio::net::TcpStream::from_std(stream));
            if let Ok(stream) = stream {
                serve_one(stream, peer, permits.clone().try_acquire_owned().ok());
                queued += 1;
            }
        }
    }
    let closed = std::time::Instant::now();
    if queued > 0 {
        tracing::info!("关闭监听前接收了排队中的 {queued} 个连接");
    }
    let margin = LAST_CALL.min(limits.drain / 4);
    let all_closed = graceful.shutdown();
    tokio::pin!(all_closed);
    if tokio::time::timeout(limits.drain - margin, &mut all_closed)
        .await
        .is_err()
    {
        last_call.cancel();
        if tokio::time::timeout(margin, &mut all_closed).await.is_err() {
            tracing::warn!("关闭时限已到，仍未结束的连接随进程退出而断开");
        }
    }
    closed
}

/// How long a refused connection is given to take its answer.
const REFUSAL_DEADLINE: Duration = Duration::from_secs(2);

/// Answers a connection past its address's share 429 and closes it: the client learns why,
/// and keeps no place. What it sent is read and dropped before the socket closes (briefly), so
/// the kernel does not answer that unread request with a reset that would lose the 429.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = r#"{"success":false,"error":{"code":"TOO_MANY_CONNECTIONS","message":"该地址同时打开的连接过多，请稍后再试"}}"#;
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_DEADLINE, async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut left: usize = 64 * 1024;
        while left > 0 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => left = left.saturating_sub(n),
            }
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
}
