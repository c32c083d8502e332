//! The login grace period, enforced on the byte stream itself.
//!
//! russh runs the connection in its own task and owns the stream, so a time-out around
//! `run_stream` could only *ask* the session to stop. Wrapping the stream instead makes
//! every read and write fail once the grace period is over and nobody has logged in,
//! whatever the protocol is waiting for (the identification line, the key exchange, a
//! client that stopped reading): the session then ends as on any I/O error. This is
//! OpenSSH's `LoginGraceTime`.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Shared between the handler, which marks the login, and the stream, which checks it.
#[derive(Debug, Default)]
pub(crate) struct LoginState {
    authenticated: AtomicBool,
    expired: AtomicBool,
}

impl LoginState {
    /// From now on the grace period no longer applies.
    pub(crate) fn mark_authenticated(&self) {
        self.authenticated.store(true, Ordering::Release);
    }

    pub(crate) fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Acquire)
    }

    /// Whether the stream was cut because the grace period ran out.
    pub(crate) fn expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }
}

/// A stream that fails with [`io::ErrorKind::TimedOut`] once `grace` has passed without
/// a login.
pub(crate) struct LoginGrace<S> {
    inner: S,
    deadline: Pin<Box<Sleep>>,
    state: Arc<LoginState>,
}

impl<S> LoginGrace<S> {
    pub(crate) fn new(inner: S, grace: Duration, state: Arc<LoginState>) -> Self {
        let deadline = Box::pin(tokio::time::sleep_until(Instant::now() + grace));
        Self {
            inner,
            deadline,
            state,
        }
    }

    /// Ready with an error once the grace period is over and nobody logged in. Polling the
    /// timer also registers the task, so a connection idle in any state is woken and cut.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if self.state.is_authenticated() {
            return Poll::Pending;
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.state.expired.store(true, Ordering::Release);
                Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "login grace period over",
                ))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LoginGrace<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(error) = this.poll_expired(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LoginGrace<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Poll::Ready(error) = this.poll_expired(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Poll::Ready(error) = this.poll_expired(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_reader_is_cut_at_the_deadline_unless_logged_in() {
        let (near, _far) = tokio::io::duplex(64);
        let state = Arc::new(LoginState::default());
        let mut stream = LoginGrace::new(near, Duration::from_secs(60), Arc::clone(&state));
        let started = Instant::now();
        let err = stream.read_u8().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs(60) && elapsed < Duration::from_millis(60_010),
            "{elapsed:?}"
        );
        assert!(state.expired());

        let (near, mut far) = tokio::io::duplex(64);
        let state = Arc::new(LoginState::default());
        let mut stream = LoginGrace::new(near, Duration::from_secs(60), Arc::clone(&state));
        state.mark_authenticated();
        tokio::time::advance(Duration::from_secs(120)).await;
        far.write_all(b"x").await.unwrap();
        assert_eq!(stream.read_u8().await.unwrap(), b'x');
        assert!(!state.expired());
    }
}
