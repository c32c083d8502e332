//! The RDP writer's pure half: frames records into the one `.rdp` file's pending buffer.

use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::id::FileKind;
use crate::pipeline::{Batch, Encode};
use crate::rdp::format::{self, RecordKind};

/// One record the RDP handle hands the writer task.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) kind: RecordKind,
    /// At most [`format::MAX_PAYLOAD`] bytes (the handle refuses larger ones).
    pub(crate) payload: Bytes,
}

/// Encoded records not yet handed to the sink; always whole records.
#[derive(Debug, Default)]
pub(crate) struct Pending(Vec<u8>);

impl Pending {
    /// Starts with the file's preamble.
    pub(crate) fn with_preamble(header: &format::RdpHeader) -> Result<Self> {
        let mut buf = Vec::new();
        format::write_preamble(&mut buf, header).map_err(|e| Error::write(FileKind::Rdp, e))?;
        Ok(Self(buf))
    }
}

impl Batch for Pending {
    const FILES: &'static [FileKind] = &[FileKind::Rdp];
    const KEEP_CAPACITY: usize = 64 << 10;

    fn buffer_mut(&mut self, file: FileKind) -> Option<&mut Vec<u8>> {
        (file == FileKind::Rdp).then_some(&mut self.0)
    }

    fn largest(&self) -> usize {
        self.0.len()
    }
}

/// Keeps the records' offsets monotonic when clones of the handle race.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    /// Latest offset written; records never go back in time.
    last_t: Duration,
}

impl Encode for Encoder {
    type Record = Request;
    type Pending = Pending;

    fn record(&mut self, p: &mut Pending, t: Duration, request: Request) -> Result<()> {
        self.last_t = self.last_t.max(t);
        // Into memory, so only an oversized payload can fail, and the handle refused those.
        format::write_record(&mut p.0, self.last_t, request.kind, &request.payload)
            .map_err(|e| Error::write(FileKind::Rdp, e))
    }

    /// The file has no trailer: a reader stops at its end.
    fn finish(&mut self, _: &mut Pending, _: Duration) -> Result<()> {
        Ok(())
    }
}
