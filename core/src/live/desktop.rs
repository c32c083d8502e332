//! What a live RDP session's screen shows, for operators who watch it (R-10.2-REVIEW). The
//! RDP relay feeds the decoder state and every server frame it records ([`DesktopFeed`]);
//! each watcher ([`DesktopWatch`]) decodes them with the recording's own replay decoder
//! (`recorder::rdp::replay::Decoder`, no protocol spoken here) and gets a PNG of the screen
//! at most every [`FRAME_EVERY`], when it changed.
//!
//! To paint the screen as it is, a new watcher first replays what the feed kept since the
//! last decoder state (the last activation or resize), at most [`CATCH_UP_BYTES`]; past
//! that the oldest frames are dropped and the picture fills in as the desktop redraws.
//! Feeding costs a copy into that bounded buffer; nothing waits for a watcher: one that
//! falls behind misses frames and says so ([`DesktopWatch::incomplete`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use recorder::rdp::RdpState;
use recorder::rdp::format::{Event, Record};
use recorder::rdp::replay::Decoder;
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How much of the frames since the last decoder state a new watcher may replay.
pub const CATCH_UP_BYTES: usize = 32 << 20;

/// At most one picture per watcher this often ("a few per second").
pub const FRAME_EVERY: Duration = Duration::from_millis(250);

/// How many frames a watcher may fall behind before it misses some.
const BACKLOG: usize = 4096;

/// What the relay records that the screen is made of.
#[derive(Debug, Clone)]
enum Item {
    State(RdpState),
    Server(Bytes),
}

/// The feeding side, held by the RDP relay's recording.
#[derive(Debug, Clone)]
pub struct DesktopFeed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<Item>,
    kept: Mutex<Kept>,
}

/// The frames since the last decoder state.
#[derive(Debug, Default)]
struct Kept {
    state: Option<RdpState>,
    frames: VecDeque<Bytes>,
    bytes: usize,
    /// Frames were dropped for the bound: a new watcher's first picture is incomplete.
    dropped: bool,
}

impl Default for DesktopFeed {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                events: broadcast::channel(BACKLOG).0,
                kept: Mutex::default(),
            }),
        }
    }
}

impl DesktopFeed {
    /// The decoder state changed (connection, reactivation, resize): what came before it
    /// is no longer needed to paint the screen.
    pub fn state(&self, state: &RdpState) {
        let mut kept = self.kept();
        *kept = Kept {
            state: Some(state.clone()),
            ..Kept::default()
        };
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(Item::State(state.clone()));
        }
    }

    /// A server→client frame passed to the engineer.
    pub fn server_frame(&self, frame: &Bytes) {
        let mut kept = self.kept();
        if kept.state.is_none() {
            // Connection-phase frames: nothing to draw yet.
            return;
        }
        kept.bytes += frame.len();
        kept.frames.push_back(frame.clone());
        while kept.bytes > CATCH_UP_BYTES {
            let Some(old) = kept.frames.pop_front() else {
                break;
            };
            kept.bytes -= old.len();
            kept.dropped = true;
        }
        if self.inner.events.receiver_count() > 0 {
            let _ = self.inner.events.send(Item::Server(frame.clone()));
        }
    }

    /// A new watcher: what was kept, then what follows (taken under the same lock as the
    /// feed's updates, so nothing falls between them).
    pub fn watch(&self) -> DesktopWatch {
        let kept = self.kept();
        let events = self.inner.events.subscribe();
        let pending = kept
            .state
            .iter()
            .cloned()
            .map(Item::State)
            .chain(kept.frames.iter().cloned().map(Item::Server))
            .collect();
        DesktopWatch {
            decoder: Some(Decoder::new()),
            pending,
            events,
            incomplete: kept.dropped,
            last: None,
            ended: false,
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A watcher of an RDP session's screen.
pub struct DesktopWatch {
    /// `None` only while a batch is being decoded.
    decoder: Option<Decoder>,
    /// Items not decoded yet (at first: the catch-up).
    pending: Vec<Item>,
    events: broadcast::Receiver<Item>,
    incomplete: bool,
    /// When the last picture was made.
    last: Option<Instant>,
    /// The feed is gone: the session ended.
    ended: bool,
}

impl std::fmt::Debug for DesktopWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesktopWatch")
            .field("pending", &self.pending.len())
            .field("incomplete", &self.incomplete)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// A [`DesktopWatch`] decoding in a task of its own, so that waiting for its next picture
/// can be cancelled (as in a `select!`) without losing the decoder's screen. The task ends
/// with the session or when this is dropped.
#[derive(Debug)]
pub struct Pictures {
    receiver: tokio::sync::mpsc::Receiver<(Bytes, bool)>,
    task: tokio::task::AbortHandle,
}

impl Pictures {
    /// The next picture (PNG) and whether frames were missed so far; `None` once the
    /// session has ended. Cancel-safe.
    pub async fn next(&mut self) -> Option<(Bytes, bool)> {
        self.receiver.recv().await
    }
}

impl Drop for Pictures {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DesktopWatch {
    /// Decodes in a task of its own (see [`Pictures`]).
    pub fn pictures(mut self) -> Pictures {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let task = tokio::spawn(async move {
            while let Some(png) = self.next().await {
                if sender.send((png, self.incomplete)).await.is_err() {
                    break;
                }
            }
        });
        Pictures {
            receiver,
            task: task.abort_handle(),
        }
    }

    /// The next picture of the screen (PNG), at most every [`FRAME_EVERY`] and only when
    /// it changed; `None` once the session has ended.
    pub async fn next(&mut self) -> Option<Bytes> {
        loop {
            if self.pending.is_empty() {
                if self.ended {
                    return None;
                }
                self.wait_one().await;
                continue;
            }
            // Gather what arrives until a picture is due.
            if let Some(last) = self.last {
                let due = last + FRAME_EVERY;
                while !self.ended {
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => break,
                        () = self.wait_one() => {}
                    }
                }
            }
            self.drain_ready();
            let batch = std::mem::take(&mut self.pending);
            let mut decoder = self.decoder.take().unwrap_or_default();
            let decoded = tokio::task::spawn_blocking(move || {
                let changed = batch.iter().fold(false, |changed, item| {
                    decoder.apply(&record(item)) | changed
                });
                let png = if changed {
                    decoder
                        .frame()
                        .and_then(|f| recorder::rdp::render::png_bytes(&f).ok())
                } else {
                    None
                };
                (decoder, png)
            })
            .await;
            let Ok((decoder, png)) = decoded else {
                return None;
            };
            self.decoder = Some(decoder);
            if let Some(png) = png {
                self.last = Some(Instant::now());
                return Some(Bytes::from(png));
            }
        }
    }

    /// Whether frames were missed (dropped from the catch-up, or the watcher fell behind):
    /// parts of the picture may be stale until the desktop redraws them.
    pub fn incomplete(&self) -> bool {
        self.incomplete
    }

    /// Waits for one item (or the end) and keeps it.
    async fn wait_one(&mut self) {
        match self.events.recv().await {
            Ok(item) => self.pending.push(item),
            Err(broadcast::error::RecvError::Lagged(_)) => self.incomplete = true,
            Err(broadcast::error::RecvError::Closed) => self.ended = true,
        }
    }

    /// Keeps everything already sent.
    fn drain_ready(&mut self) {
        loop {
            match self.events.try_recv() {
                Ok(item) => self.pending.push(item),
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.incomplete = true,
                Err(broadcast::error::TryRecvError::Closed) => {
                    self.ended = true;
                    return;
                }
                Err(broadcast::error::TryRecvError::Empty) => return,
            }
        }
    }
}

/// An item as the decoder reads a recording's record (offsets don't matter to it).
fn record(item: &Item) -> Record {
    Record {
        offset: Duration::ZERO,
        event: match item {
            Item::State(state) => Event::State(state.clone()),
            Item::Server(frame) => Event::Server(frame.to_vec()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(width: u16, height: u16) -> RdpState {
        RdpState {
            io_channel_id: 1003,
            user_channel_id: 1007,
            share_id: 0x0001_03ea,
            desktop_width: width,
            desktop_height: height,
            static_channels: Vec::new(),
        }
    }

    fn png_size(png: &[u8]) -> (u32, u32) {
        // IHDR: width and height, big-endian, at bytes 16..24.
        let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        (be(16), be(20))
    }

    // A watcher that comes late paints the desktop as of the last state, follows a resize,
    // and sees the end.
    #[tokio::test]
    async fn a_watcher_gets_the_screen_then_its_changes_then_the_end() {
        let feed = DesktopFeed::default();
        feed.server_frame(&Bytes::from_static(b"before any state: dropped"));
        feed.state(&state(64, 48));
        let mut watch = feed.watch();
        assert!(!watch.incomplete());
        assert_eq!(png_size(&watch.next().await.unwrap()), (64, 48));
        feed.state(&state(32, 24));
        assert_eq!(png_size(&watch.next().await.unwrap()), (32, 24));
        drop(feed);
        assert_eq!(watch.next().await, None);
    }

    #[tokio::test]
    async fn pictures_come_from_a_task_of_their_own_until_the_end() {
        let feed = DesktopFeed::default();
        feed.state(&state(16, 8));
        let mut pictures = feed.watch().pictures();
        let (png, incomplete) = pictures.next().await.unwrap();
        assert_eq!(png_size(&png), (16, 8));
        assert!(!incomplete);
        drop(feed);
        assert_eq!(pictures.next().await, None);
    }

    #[test]
    fn the_catch_up_is_bounded_and_says_when_it_dropped_frames() {
        let feed = DesktopFeed::default();
        feed.state(&state(64, 48));
        let chunk = Bytes::from(vec![0_u8; 1 << 20]);
        for _ in 0..(CATCH_UP_BYTES >> 20) + 3 {
            feed.server_frame(&chunk);
        }
        let kept = feed.kept();
        assert!(kept.bytes <= CATCH_UP_BYTES && kept.dropped);
        drop(kept);
        assert!(feed.watch().incomplete());
    }
}
