//! The writer task: a thin loop around the encoder, with the sink's blocking I/O moved to
//! `spawn_blocking` so a slow disk never stalls the runtime's worker threads.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::{Batch, Body, Encode, Files, Msg, Tuning};
use crate::error::{Error, Result};
use crate::seal::Statement;

/// What the task owns; [`run`](Task::run) consumes it.
pub(super) struct Task<E: Encode> {
    pub(super) files: Files,
    pub(super) encoder: E,
    /// What the encoder produced and no write has taken yet.
    pub(super) pending: E::Pending,
    pub(super) tuning: Tuning,
    /// The handle's time origin; the flush timer counts from it.
    pub(super) start: Instant,
}

impl<E: Encode> Task<E> {
    /// Runs until finish, until every handle is gone, or until the first error, which is
    /// published to the handles before the channel closes.
    pub(super) async fn run(
        self,
        mut rx: mpsc::Receiver<Msg<E::Record>>,
        failure: Arc<OnceLock<Error>>,
    ) -> Result<()> {
        let result = self.serve(&mut rx).await;
        if let Err(e) = &result {
            let _ = failure.set(e.clone());
        }
        // Senders waiting on a full queue wake up now and see the failure.
        drop(rx);
        result
    }

    async fn serve(self, rx: &mut mpsc::Receiver<Msg<E::Record>>) -> Result<()> {
        let Self {
            files,
            mut encoder,
            mut pending,
            tuning,
            start,
        } = self;
        // From the handle's start, not from now (the task's first poll): a record handed
        // over before the task first runs still waits at most `flush_every`.
        let mut tick = interval_at(start + tuning.flush_every, tuning.flush_every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut io = Io::new(files);
        let mut last_t = Duration::ZERO;
        // The timer fired with bytes pending: write them as soon as no write is in flight.
        let mut flush_due = false;
        loop {
            // Stop taking messages while the pending buffers are full and the previous
            // write is still in flight: the queue fills up and senders wait (backpressure).
            let room = pending.largest() < tuning.write_threshold;
            tokio::select! {
                msg = rx.recv(), if room => {
                    let Some(Msg { t, body }) = msg else {
                        // Every handle dropped without finish: close the files, unsealed.
                        close(io, encoder, pending, last_t).await?;
                        return Ok(());
                    };
                    last_t = last_t.max(t);
                    match body {
                        Body::Record(record) => encoder.record(&mut pending, t, record)?,
                        Body::Finish(reply) => {
                            let r = finish(rx, io, encoder, pending, last_t).await;
                            // Replied before `run` returns, so the caller gets the real error.
                            let _ = reply.send(r.clone());
                            return r.map(drop);
                        }
                    }
                }
                done = join(&mut io.in_flight) => io.landed(done)?,
                _ = tick.tick() => flush_due = !pending.is_empty(),
            }
            if io.in_flight.is_none() && (flush_due || pending.largest() >= tuning.write_threshold)
            {
                io.start(&mut pending);
                flush_due = false;
            }
        }
    }
}

/// What a finished write hands back: the files, the emptied buffers, and the outcome.
type Written<P> = (Files, P, Result<()>);

/// The files and at most one write in flight on a blocking thread, so that receiving and
/// encoding the next batch overlaps with writing and hashing this one.
struct Io<P> {
    /// `None` while a write is in flight (it owns the files then).
    files: Option<Files>,
    in_flight: Option<JoinHandle<Written<P>>>,
    /// The buffers of the last finished write, reused for the next batch.
    spare: P,
}

impl<P: Batch> Io<P> {
    fn new(files: Files) -> Self {
        Self {
            files: Some(files),
            in_flight: None,
            spare: P::default(),
        }
    }

    /// Hands `pending` to a blocking thread; `pending` continues with empty buffers.
    fn start(&mut self, pending: &mut P) {
        if pending.is_empty() {
            return;
        }
        let Some(mut files) = self.files.take() else {
            return;
        };
        let mut batch = std::mem::replace(pending, std::mem::take(&mut self.spare));
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let r = files.write(&mut batch);
            (files, batch, r)
        }));
    }

    fn landed(&mut self, done: std::result::Result<Written<P>, JoinError>) -> Result<()> {
        self.in_flight = None;
        let (files, batch, r) = done.map_err(|_| Error::Stopped)?;
        self.files = Some(files);
        self.spare = batch;
        r
    }

    /// Waits for the write in flight, if any, and takes the files back.
    async fn settle(mut self) -> Result<Files> {
        if self.in_flight.is_some() {
            let done = join(&mut self.in_flight).await;
            self.landed(done)?;
        }
        self.files.ok_or(Error::Stopped)
    }
}

/// Awaits the write in flight; never completes when there is none.
async fn join<T>(h: &mut Option<JoinHandle<T>>) -> std::result::Result<T, JoinError> {
    match h {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

/// Records what was accepted before the channel closed, then closes the files. A second
/// finish from another clone is dropped: the first one wins (the other caller sees
/// [`Error::Stopped`]).
async fn finish<E: Encode>(
    rx: &mut mpsc::Receiver<Msg<E::Record>>,
    io: Io<E::Pending>,
    mut encoder: E,
    mut pending: E::Pending,
    mut last_t: Duration,
) -> Result<Statement> {
    rx.close();
    while let Ok(Msg { t, body }) = rx.try_recv() {
        last_t = last_t.max(t);
        if let Body::Record(record) = body {
            encoder.record(&mut pending, t, record)?;
        }
    }
    close(io, encoder, pending, last_t).await
}

/// Ends the encoding at `t`, writes what is pending, and closes the files.
async fn close<E: Encode>(
    io: Io<E::Pending>,
    mut encoder: E,
    mut pending: E::Pending,
    t: Duration,
) -> Result<Statement> {
    let mut files = io.settle().await?;
    encoder.finish(&mut pending, t)?;
    tokio::task::spawn_blocking(move || {
        files.write(&mut pending)?;
        files.close()
    })
    .await
    .map_err(|_| Error::Stopped)?
}
