//! Raw deflate, its output handed on piece by piece and counted against the bound.

use flate2::{Decompress, FlushDecompress, Status};

use super::{Findings, Unreadable};

/// How much output one step of inflating makes at most.
const OUT_LEN: usize = 16 * 1024;

/// One raw deflate stream (a ZIP entry's data, a gzip member's body).
#[derive(Debug)]
pub(super) struct Inflater {
    raw: Decompress,
    out: Vec<u8>,
    /// The deflate stream's last block has been read.
    ended: bool,
}

impl Inflater {
    /// An inflater at the start of a deflate stream.
    pub(super) fn new() -> Self {
        Inflater {
            raw: Decompress::new(false),
            out: vec![0; OUT_LEN],
            ended: false,
        }
    }

    /// Whether the deflate stream has ended.
    pub(super) fn ended(&self) -> bool {
        self.ended
    }

    /// Inflates from the front of `data`, handing each piece of output to `sink`; stops at
    /// the end of the deflate stream and leaves what follows it in `data`.
    pub(super) fn inflate(
        &mut self,
        data: &mut &[u8],
        found: &mut Findings,
        mut sink: impl FnMut(&[u8], &mut Findings),
    ) -> Result<(), Unreadable> {
        while !self.ended {
            let (in_before, out_before) = (self.raw.total_in(), self.raw.total_out());
            let status = self
                .raw
                .decompress(data, &mut self.out, FlushDecompress::None)
                .map_err(|_| Unreadable::Corrupt)?;
            let used = usize::try_from(self.raw.total_in() - in_before).unwrap_or(usize::MAX);
            let made = usize::try_from(self.raw.total_out() - out_before).unwrap_or(usize::MAX);
            *data = data.get(used..).unwrap_or_default();
            found.inflated(made)?;
            sink(self.out.get(..made).unwrap_or_default(), found);
            if status == Status::StreamEnd {
                self.ended = true;
            }
            if used == 0 && made == 0 {
                break;
            }
        }
        Ok(())
    }
}
