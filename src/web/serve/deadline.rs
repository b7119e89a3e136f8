//! Deadlines a slow client cannot stretch, below the handlers: a request body must arrive by a
//! moment fixed when the request began (else the request is answered 408), and a connection
//! whose client takes nothing of the response for a while is closed. A stream that pauses
//! between events is not a stall: only a write the client does not make room for counts.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{ready, Context, Poll},
    time::Duration,
};

use axum::body::{Body, Bytes};
use http_body::{Frame, SizeHint};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};

/// Set on a request whose body missed its deadline, for whoever answers it (`edge`).
#[derive(Clone)]
pub struct BodyLate(pub Arc<AtomicBool>);

/// A request body that fails once `deadline` has passed before it ended; `late` says so to
/// whoever answers the request.
pub struct ReadDeadline {
    inner: Body,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    late: Arc<AtomicBool>,
}

/// The error a body past its deadline ends with.
#[derive(Debug, thiserror::Error)]
#[error("请求体未在时限内发送完")]
pub struct BodyTimedOut;

impl ReadDeadline {
    pub fn new(inner: Body, within: Duration, late: Arc<AtomicBool>) -> Self {
        Self {
            inner,
            deadline: Instant::now() + within,
            timer: None,
            late,
        }
    }
}

impl http_body::Body for ReadDeadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let deadline = self.deadline;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(timer.as_mut().poll(cx));
        self.late.store(true, Ordering::Release);
        Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's socket whose writes fail when the client does not keep up: once the
/// response backs up (a write has to wait), the client must take `MIN_PROGRESS` bytes within
/// each `limit`, or the connection ends and gives its place back. A client that reads a few
/// bytes now and then cannot hold it for ever; a write that goes through whole (the client
/// keeps up again) ends the backlog.
pub struct WriteDeadline<S> {
    inner: S,
    limit: Duration,
    /// While backed up: when the current window ends, and what the client took in it.
    backlog: Option<(Pin<Box<Sleep>>, usize)>,
}

/// What a client must take within each `limit` while the response is backed up: 64 KiB, about
/// 2 KiB/s at the default 30 s, a hundredth of a slow phone's link.
pub const MIN_PROGRESS: usize = 64 * 1024;

impl<S> WriteDeadline<S> {
    pub fn new(inner: S, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            backlog: None,
        }
    }

    /// What a write of `len` bytes comes to, given what the socket said.
    fn waited(
        &mut self,
        cx: &mut Context<'_>,
        len: usize,
        poll: Poll<std::io::Result<usize>>,
    ) -> Poll<std::io::Result<usize>> {
        let limit = self.limit;
        match poll {
            // A flush or a shutdown (nothing of its own to write) says nothing of the client.
            Poll::Ready(Ok(n)) if len == 0 => Poll::Ready(Ok(n)),
            Poll::Ready(Ok(n)) if n >= len => {
                self.backlog = None;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Ok(n)) => {
                if let Some((window, taken)) = &mut self.backlog {
                    *taken += n;
                    if *taken >= MIN_PROGRESS {
                        window.as_mut().reset(tokio::time::Instant::now() + limit);
                        *taken = 0;
                    }
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let (window, _) = self
                    .backlog
                    .get_or_insert_with(|| (Box::pin(tokio::time::sleep(limit)), 0));
                match window.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client did not take the response in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.waited(cx, buf.len(), poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.waited(cx, len, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.waited(cx, 0, poll.map_ok(|()| 0)).map_ok(|_| ())
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.waited(cx, 0, poll.map_ok(|()| 0)).map_ok(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_body_that_trickles_past_its_deadline_fails_and_says_so() {
        let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        tokio::spawn(async move {
            use futures::SinkExt;
            for _ in 0..100 {
                if tx.send(Ok(Bytes::from_static(b"x"))).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let late = Arc::new(AtomicBool::new(false));
        let body = ReadDeadline::new(
            Body::from_stream(rx),
            Duration::from_millis(4500),
            late.clone(),
        );
        let started = Instant::now();
        assert!(axum::body::to_bytes(Body::new(body), usize::MAX)
            .await
            .is_err());
        assert_eq!(started.elapsed(), Duration::from_millis(4500));
        assert!(late.load(Ordering::Acquire));

        let late = Arc::new(AtomicBool::new(false));
        let whole = ReadDeadline::new(
            Body::from("整个请求体"),
            Duration::from_secs(1),
            late.clone(),
        );
        assert_eq!(
            axum::body::to_bytes(Body::new(whole), usize::MAX)
                .await
                .unwrap(),
            Bytes::from("整个请求体")
        );
        assert!(!late.load(Ordering::Acquire));
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_reads_a_trickle_is_cut_off_and_one_that_keeps_up_is_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // The far end reads one byte a second: progress, but far below the minimum.
        let (near, mut far) = tokio::io::duplex(64);
        tokio::spawn(async move {
            let mut byte = [0u8; 1];
            while far.read(&mut byte).await.is_ok_and(|n| n > 0) {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let mut conn = WriteDeadline::new(near, Duration::from_secs(3));
        let started = Instant::now();
        let err = conn.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() <= Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );

        // A reader that keeps up gets a response many windows long.
        let (near, mut far) = tokio::io::duplex(4096);
        let reader = tokio::spawn(async move {
            let mut got = 0usize;
            let mut buf = [0u8; 4096];
            loop {
                let n = far.read(&mut buf).await.unwrap();
                if n == 0 {
                    return got;
                }
                got += n;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        let mut conn = WriteDeadline::new(near, Duration::from_secs(3));
        conn.write_all(&vec![1u8; 4 << 20]).await.unwrap();
        conn.shutdown().await.unwrap();
        drop(conn);
        assert_eq!(reader.await.unwrap(), 4 << 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_makes_room_for_fails() {
        use tokio::io::AsyncWriteExt;
        // A pipe whose other end is never read: 64 bytes fit, then every write waits.
        let (near, _far) = tokio::io::duplex(64);
        let mut conn = WriteDeadline::new(near, Duration::from_secs(3));
        let started = Instant::now();
        let err = conn.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }
}
