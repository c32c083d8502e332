//! Collecting a header that may arrive split across chunks, and reading its fields.

/// Bytes collected until a wanted length is held.
#[derive(Debug)]
pub(super) struct Gather {
    buf: Vec<u8>,
    /// How many bytes make the piece whole.
    want: usize,
}

impl Gather {
    /// Collects `want` bytes.
    pub(super) fn new(want: usize) -> Self {
        Gather {
            buf: Vec::with_capacity(want),
            want,
        }
    }

    /// Moves bytes from the front of `data` until the wanted length is held; true when it
    /// is.
    pub(super) fn fill(&mut self, data: &mut &[u8]) -> bool {
        let need = self.want.saturating_sub(self.buf.len()).min(data.len());
        let (now, rest) = data.split_at(need);
        self.buf.extend_from_slice(now);
        *data = rest;
        self.buf.len() >= self.want
    }

    /// Wants `more` bytes beyond what it wanted (a header's variable-length tail).
    pub(super) fn grow(&mut self, more: usize) {
        self.want = self.want.saturating_add(more);
    }

    /// Fills a header of `fixed` bytes followed by a tail whose length `tail` reads from
    /// the fixed part; true when the whole header is held.
    pub(super) fn fill_header(
        &mut self,
        data: &mut &[u8],
        fixed: usize,
        tail: impl Fn(&[u8]) -> usize,
    ) -> bool {
        if !self.fill(data) {
            return false;
        }
        if self.want == fixed {
            let more = tail(&self.buf);
            if more > 0 {
                self.grow(more);
                return self.fill(data);
            }
        }
        true
    }

    /// The bytes held so far.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// How many bytes it wants in all.
    pub(super) fn want(&self) -> usize {
        self.want
    }

    /// Whether nothing has been collected yet.
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// The little-endian `u16` at `at`, or 0 past the end (callers gathered the bytes first).
pub(super) fn le16(b: &[u8], at: usize) -> u16 {
    field(b, at).map_or(0, u16::from_le_bytes)
}

/// The little-endian `u32` at `at`, or 0 past the end.
pub(super) fn le32(b: &[u8], at: usize) -> u32 {
    field(b, at).map_or(0, u32::from_le_bytes)
}

/// The little-endian `u64` at `at`, or 0 past the end.
pub(super) fn le64(b: &[u8], at: usize) -> u64 {
    field(b, at).map_or(0, u64::from_le_bytes)
}

fn field<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}
