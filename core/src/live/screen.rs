//! What a live SSH session's terminal shows, for operators who watch it read-only
//! (R-10.2-REVIEW: an operator can follow remote work as it happens). The protocol feeds
//! the interactive channel's output and size ([`ScreenFeed`]); each watcher gets the recent
//! output to paint the screen as it is, then every chunk as it passes ([`ScreenWatch`]).
//!
//! Feeding costs a copy into a bounded buffer of recent output (interactive output is
//! small); nothing waits for a watcher: one that falls behind the broadcast's capacity
//! misses chunks and is told so ([`ScreenEvent::Skipped`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::broadcast;

/// How much recent output a new watcher is given to paint the screen with.
pub const RECENT_BYTES: usize = 64 * 1024;

/// How many chunks a watcher may fall behind before it misses some.
const BACKLOG: usize = 1024;

/// What a watcher sees, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScreenEvent {
    /// The terminal's size (at the start and on every resize).
    Size {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Output from the target, as the engineer's terminal received it.
    Output(Bytes),
    /// The watcher fell behind and missed this many chunks.
    Skipped(u64),
}

/// The feeding side, held by the protocol for the session's interactive channel.
#[derive(Debug, Clone)]
pub struct ScreenFeed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<ScreenEvent>,
    recent: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    size: Option<(u16, u16)>,
    bytes: VecDeque<u8>,
}

/// A watcher: what the screen shows now, then what follows.
#[derive(Debug)]
pub struct ScreenWatch {
    /// The terminal's size, once known.
    pub size: Option<(u16, u16)>,
    /// The last [`RECENT_BYTES`] of output at most (may start inside a character or an
    /// escape sequence; a terminal emulator recovers at the next one).
    pub recent: Bytes,
    events: broadcast::Receiver<ScreenEvent>,
}

impl Default for ScreenFeed {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                events: broadcast::channel(BACKLOG).0,
                recent: Mutex::default(),
            }),
        }
    }
}

impl ScreenFeed {
    /// The terminal's size changed (or is first known).
    pub fn size(&self, cols: u16, rows: u16) {
        let mut recent = self.recent();
        recent.size = Some((cols, rows));
        let _ = self.inner.events.send(ScreenEvent::Size { cols, rows });
    }

    /// Output passed to the engineer.
    pub fn output(&self, data: &Bytes) {
        // Under the lock, so a new watcher's snapshot has a chunk or its event, never both.
        let mut recent = self.recent();
        recent.bytes.extend(data.iter());
        let over = recent.bytes.len().saturating_sub(RECENT_BYTES);
        recent.bytes.drain(..over);
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(ScreenEvent::Output(data.clone()));
        }
    }

    /// A new watcher. The snapshot and the subscription are taken under the same lock as
    /// the feed's updates of the recent output, so nothing falls between them.
    pub fn watch(&self) -> ScreenWatch {
        let recent = self.recent();
        let events = self.inner.events.subscribe();
        let (front, back) = recent.bytes.as_slices();
        let mut bytes = Vec::with_capacity(front.len() + back.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        ScreenWatch {
            size: recent.size,
            recent: Bytes::from(bytes),
            events,
        }
    }

    /// How many watchers there are now.
    pub fn watchers(&self) -> usize {
        self.inner.events.receiver_count()
    }

    fn recent(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.inner
            .recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ScreenWatch {
    /// The next event; `None` once the session has ended (the feed is gone).
    pub async fn next(&mut self) -> Option<ScreenEvent> {
        match self.events.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(ScreenEvent::Skipped(missed)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watcher_paints_the_recent_screen_then_follows_without_gaps_or_doubles() {
        let feed = ScreenFeed::default();
        feed.size(80, 24);
        feed.output(&Bytes::from_static(b"$ ls\r\n"));
        let mut watch = feed.watch();
        assert_eq!(watch.size, Some((80, 24)));
        assert_eq!(&watch.recent[..], b"$ ls\r\n");
        feed.output(&Bytes::from_static(b"a b c\r\n"));
        feed.size(100, 30);
        assert_eq!(
            watch.next().await,
            Some(ScreenEvent::Output(Bytes::from_static(b"a b c\r\n")))
        );
        assert_eq!(
            watch.next().await,
            Some(ScreenEvent::Size {
                cols: 100,
                rows: 30
            })
        );
        // The recent output is bounded: a new watcher gets the last RECENT_BYTES.
        feed.output(&Bytes::from(vec![b'x'; RECENT_BYTES + 10]));
        let late = feed.watch();
        assert_eq!(late.recent.len(), RECENT_BYTES);
        assert_eq!(feed.watchers(), 2);
        // The session ends (every feed dropped): watchers see the end.
        drop(feed);
        let mut watch = watch;
        while let Some(event) = watch.next().await {
            assert!(matches!(event, ScreenEvent::Output(_)), "{event:?}");
        }
    }

    #[tokio::test]
    async fn a_watcher_that_falls_behind_is_told_what_it_missed() {
        let feed = ScreenFeed::default();
        let mut watch = feed.watch();
        for _ in 0..(BACKLOG + 5) {
            feed.output(&Bytes::from_static(b"."));
        }
        assert_eq!(watch.next().await, Some(ScreenEvent::Skipped(5)));
    }
}
