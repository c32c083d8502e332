//! Typing on a pty, watched for pastes far beyond typing speed and size (issue 11,
//! deliverable 3): a file's worth of text pasted into a terminal is a possible upload, on
//! record as a transfer (`via: pty-paste`) so the report shows it against the plan.

use std::time::{Duration, Instant};

use policy::channel::paste_suspected;
use recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord,
};

/// A pause this long ends a paste.
const PAUSE: Duration = Duration::from_secs(1);

/// One pty channel's input rate.
#[derive(Debug)]
pub struct PasteWatch {
    window_start: Instant,
    window_bytes: u64,
    last_input: Instant,
    paste: Option<TransferHasher>,
}

impl PasteWatch {
    /// A watch starting at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            window_bytes: 0,
            last_input: now,
            paste: None,
        }
    }

    /// Input typed at `now`: a paste that ended before it, if any, to put on record.
    pub fn input(&mut self, data: &[u8], now: Instant) -> Option<TransferRecord> {
        let ended = if now.duration_since(self.last_input) >= PAUSE {
            self.finish()
        } else {
            None
        };
        self.last_input = now;
        if now.duration_since(self.window_start) >= PAUSE {
            self.window_start = now;
            self.window_bytes = 0;
        }
        self.window_bytes = self.window_bytes.saturating_add(data.len() as u64);
        let elapsed =
            u64::try_from(now.duration_since(self.window_start).as_millis()).unwrap_or(u64::MAX);
        if self.paste.is_none() && paste_suspected(self.window_bytes, elapsed) {
            self.paste = Some(TransferHasher::new());
        }
        if let Some(paste) = self.paste.as_mut() {
            paste.update(data);
        }
        ended
    }

    /// The channel ended (or typing paused): the paste in progress, if any, to put on record.
    pub fn finish(&mut self) -> Option<TransferRecord> {
        let (size, _) = self.paste.take()?.finish();
        Some(TransferRecord {
            direction: TransferDirection::Upload,
            path: "(端末への貼り付け / pasted into the terminal)".to_owned(),
            size,
            // Only the part past the typing-speed bound was hashed: no digest of a part.
            sha256: None,
            outcome: TransferOutcome::Completed,
            reason: Some("possible_paste".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_not_a_paste() {
        let t0 = Instant::now();
        let mut w = PasteWatch::new(t0);
        for i in 0..2000u64 {
            // 20 keystrokes a second for 100 s.
            assert_eq!(w.input(b"a", t0 + Duration::from_millis(i * 50)), None);
        }
        assert_eq!(w.finish(), None);
    }

    #[test]
    fn a_file_pasted_at_once_is_a_possible_upload_on_record_after_the_pause() {
        let t0 = Instant::now();
        let mut w = PasteWatch::new(t0);
        let chunk = [b'x'; 1024];
        for i in 0..100u64 {
            assert_eq!(w.input(&chunk, t0 + Duration::from_millis(i)), None);
        }
        let record = w.input(b"l", t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(record.direction, TransferDirection::Upload);
        assert!(record.size > 90 * 1024, "{record:?}");
        assert_eq!(record.reason.as_deref(), Some("possible_paste"));
        assert_eq!(w.finish(), None);
    }

    #[test]
    fn a_paste_in_progress_when_the_channel_ends_is_on_record() {
        let t0 = Instant::now();
        let mut w = PasteWatch::new(t0);
        w.input(&[b'y'; 8192], t0);
        assert!(w.finish().is_some());
    }
}
