//! Rebuilding the exact bytes of a stream from a cast and its side file.
//!
//! - [`DataMode::Bulk`]: the stream is the concatenation of its `Bulk` records, which must
//!   be contiguous. The cast is not needed (its preview is display only).
//! - [`DataMode::Interactive`]: the stream is the cast's `o` (for [`Stream::Output`]) or `i`
//!   (for [`Stream::Input`]) events in order, each contributing its UTF-8 text, except
//!   that an event whose start offset has a `CastRaw` record contributes that record's
//!   exact bytes instead (it had invalid UTF-8, shown as U+FFFD). Offsets advance by the
//!   contributed length, so the side file and the cast check each other.

use std::io::Write;

use super::asciicast::DataMode;
use super::cast_reader::{Event, EventKind};
use super::datafile::{DataRecord, RecordKind, Stream};
use crate::error::{Error, Result};

/// Writes the exact bytes of `stream` to `out`; returns how many.
pub fn reassemble(
    mode: DataMode,
    stream: Stream,
    events: impl IntoIterator<Item = Result<Event>>,
    records: impl IntoIterator<Item = Result<DataRecord>>,
    out: &mut impl Write,
) -> Result<u64> {
    let wanted = |kind| {
        move |r: &Result<DataRecord>| match r {
            Ok(r) => r.header.stream == stream && r.header.kind == kind,
            Err(_) => true,
        }
    };
    let write = |out: &mut dyn Write, bytes: &[u8]| out.write_all(bytes).map_err(Error::read);
    let mut pos = 0u64;
    match mode {
        DataMode::Bulk => {
            for r in records.into_iter().filter(wanted(RecordKind::Bulk)) {
                let r = r?;
                if r.header.offset != pos {
                    return Err(Error::Discontinuous { offset: pos });
                }
                write(out, &r.payload)?;
                pos += r.payload.len() as u64;
            }
        }
        DataMode::Interactive => {
            let mut raws = records
                .into_iter()
                .filter(wanted(RecordKind::CastRaw))
                .peekable();
            for ev in events {
                let text = match (ev?.kind, stream) {
                    (EventKind::Output(s), Stream::Output)
                    | (EventKind::Input(s), Stream::Input) => s,
                    _ => continue,
                };
                let raw = match raws.peek() {
                    Some(Ok(r)) if r.header.offset == pos => raws.next().transpose()?,
                    Some(Ok(r)) if r.header.offset < pos => {
                        return Err(Error::Discontinuous {
                            offset: r.header.offset,
                        });
                    }
                    Some(Err(_)) => raws.next().transpose()?,
                    _ => None,
                };
                let bytes = raw.as_ref().map_or(text.as_bytes(), |r| &r.payload);
                write(out, bytes)?;
                pos += bytes.len() as u64;
            }
            if let Some(r) = raws.next() {
                return Err(Error::Discontinuous {
                    offset: r?.header.offset,
                });
            }
        }
    }
    Ok(pos)
}
