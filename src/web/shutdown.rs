//! Stopping without failing a request. On SIGTERM the instance says it is not ready (`/readyz`
//! 503) and asks each client to close its connection after the current answer, but keeps
//! serving for the drain period, so a balancer stops sending it work before anything is
//! refused. Then it stops accepting, lets running requests, streams and generations finish
//! within the timeout, gives back the locks and leases still held, and returns so the process
//! exits 0. Ctrl-C, at a terminal, skips the drain.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    http::{header, HeaderValue},
    response::Response,
};

use crate::state::AppState;

#[derive(Debug, Clone, Copy)]
pub struct Stopping {
    /// Serving on, not ready, before the listener closes (after SIGTERM).
    pub drain: Duration,
    /// Then, for what is running to finish.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Interrupt,
    Terminate,
}

async fn signal() -> Stop {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => Stop::Interrupt,
        () = terminate => Stop::Terminate,
    }
}

/// Resolves when the listener should close: after a stop signal and, for SIGTERM, the drain
/// period, during which `ready` is false. `stopping` is cancelled when the signal comes (the
/// generation jobs running here are handed over then).
pub async fn until_listener_closes(
    ready: Arc<AtomicBool>,
    drain: Duration,
    stopping: tokio_util::sync::CancellationToken,
) {
    let stop = signal().await;
    ready.store(false, Ordering::Release);
    stopping.cancel();
    if stop == Stop::Terminate && !drain.is_zero() {
        tracing::info!(
            "收到停止信号：/readyz 改为 503，继续服务 {} 秒后停止接受新连接",
            drain.as_secs_f64()
        );
        tokio::time::sleep(drain).await;
    }
    tracing::info!("正在关闭服务：已停止接受新连接，等待进行中的请求完成");
}

/// Once stopping, every answer asks the client to close its connection (see `edge`), so that
/// none is left idle (and then cut) when the listener closes.
pub fn mark_closing(ready: &AtomicBool, response: &mut Response) {
    if !ready.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// After the connections have closed (`since` is when the listener did): waits for the
/// answers still being written, within what is left of `timeout`, then gives back every lock
/// and lease still held and leaves the deployment.
pub async fn finish(state: &AppState, since: Instant, timeout: Duration) {
    let left = timeout.saturating_sub(since.elapsed());
    if !state.generation.finish(left).await {
        tracing::warn!("部分后台生成未能在关闭时限内完成，已放弃");
    }
    let locks = state.coord.release_held_locks().await;
    let leases = state.generation.accounts().give_back_all().await;
    if locks + leases > 0 {
        tracing::info!("已释放 {locks} 个生成锁、{leases} 个并发名额");
    }
    state.deployment.leave().await;
    tracing::info!("服务已停止");
}
