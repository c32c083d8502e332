//! The writer's pure half: turns requests into whole lines and records in memory.
//! No I/O, no runtime; the task (`task.rs`) moves the pending bytes to the sink.

use std::io;
use std::time::Duration;

use super::{BulkPolicy, Request};
use crate::error::{Error, Result};
use crate::format::asciicast::{
    DataMode, EventCode, Header, write_event, write_header, write_resize,
};
use crate::format::datafile::{RecordHeader, RecordKind, Stream, write_magic, write_record};
use crate::format::transfers::{TransferRecord, write_transfer};
use crate::format::utf8::{Piece, Utf8Stream};
use crate::id::FileKind;
use crate::pipeline::{Batch, Encode};

/// Encoded bytes not yet handed to the sink, one buffer per file; always whole lines or
/// whole records.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    cast: Vec<u8>,
    data: Vec<u8>,
    transfers: Vec<u8>,
}

impl Batch for Pending {
    const FILES: &'static [FileKind] = &FileKind::SSH;
    const KEEP_CAPACITY: usize = 16 << 10;

    fn buffer_mut(&mut self, file: FileKind) -> Option<&mut Vec<u8>> {
        match file {
            FileKind::Cast => Some(&mut self.cast),
            FileKind::Data => Some(&mut self.data),
            FileKind::Transfers => Some(&mut self.transfers),
            FileKind::Rdp => None,
        }
    }

    fn largest(&self) -> usize {
        self.cast
            .len()
            .max(self.data.len())
            .max(self.transfers.len())
    }
}

impl Encode for Encoder {
    type Record = Request;
    type Pending = Pending;

    fn record(&mut self, p: &mut Pending, t: Duration, request: Request) -> Result<()> {
        let (file, r) = match request {
            Request::Data(stream, bytes) => (FileKind::Data, self.data(p, t, stream, &bytes)),
            Request::Resize { cols, rows } => (FileKind::Cast, self.resize(p, t, cols, rows)),
            Request::Transfer(rec) => (FileKind::Transfers, self.transfer(p, t, &rec)),
        };
        // Encoding into memory cannot fail; if it ever did, it is this file's write failing.
        r.map_err(|e| Error::write(file, e))
    }

    fn finish(&mut self, p: &mut Pending, t: Duration) -> Result<()> {
        self.end(p, t).map_err(|e| Error::write(FileKind::Cast, e))
    }
}

/// Per-recording encoding state.
#[derive(Debug)]
pub(crate) struct Encoder {
    mode: DataMode,
    /// Channel number for side-file records.
    channel: u32,
    bulk: BulkPolicy,
    /// Latest timestamp written; events never go back in time.
    last_t: Duration,
    /// Terminal output (interactive), or the output preview (bulk).
    output: Utf8Stream,
    /// Engineer input (interactive only).
    input: Utf8Stream,
    /// Bulk bytes per stream so far: the next record's offset.
    totals: [u64; 3],
    /// When the last bulk marker was written, if any.
    last_marker: Option<Duration>,
    /// Bulk bytes arrived since the last marker.
    unmarked: bool,
    /// Output bytes the bulk preview may still show.
    preview_left: u64,
}

impl Encoder {
    /// Starts a recording: header line and side-file magic.
    pub(crate) fn new(header: &Header, bulk: BulkPolicy, p: &mut Pending) -> io::Result<Self> {
        write_header(&mut p.cast, header)?;
        write_magic(&mut p.data)?;
        Ok(Self {
            mode: header.fumidai.data,
            channel: header.fumidai.channel.unwrap_or(0),
            preview_left: bulk.preview_bytes,
            bulk,
            last_t: Duration::ZERO,
            output: Utf8Stream::new(),
            input: Utf8Stream::new(),
            totals: [0; 3],
            last_marker: None,
            unmarked: false,
        })
    }

    pub(crate) fn data(
        &mut self,
        p: &mut Pending,
        t: Duration,
        stream: Stream,
        bytes: &[u8],
    ) -> io::Result<()> {
        let t = self.stamp(t);
        match self.mode {
            DataMode::Interactive => {
                let (code, decoder, raw_stream) = match stream {
                    Stream::Input => (EventCode::Input, &mut self.input, Stream::Input),
                    Stream::Output | Stream::Stderr => {
                        (EventCode::Output, &mut self.output, Stream::Output)
                    }
                };
                let piece = decoder.push(bytes);
                emit(p, t, code, raw_stream, self.channel, piece)
            }
            DataMode::Bulk => self.bulk_data(p, t, stream, bytes),
        }
    }

    pub(crate) fn resize(
        &mut self,
        p: &mut Pending,
        t: Duration,
        cols: u16,
        rows: u16,
    ) -> io::Result<()> {
        let t = self.stamp(t);
        write_resize(&mut p.cast, t, cols, rows)
    }

    pub(crate) fn transfer(
        &mut self,
        p: &mut Pending,
        t: Duration,
        r: &TransferRecord,
    ) -> io::Result<()> {
        let t = self.stamp(t);
        write_transfer(&mut p.transfers, t, r)?;
        let digest = r
            .sha256
            .map(|d| format!(", sha256 {d}"))
            .unwrap_or_default();
        let text = format!(
            "fumidai transfer: {} {:?}, {} B, {}{digest}",
            r.direction.as_str(),
            r.path,
            r.size,
            r.outcome.as_str(),
        );
        write_event(&mut p.cast, t, EventCode::Marker, &text)
    }

    /// Ends the streams: incomplete UTF-8 sequences and the last bulk counts are written.
    pub(crate) fn end(&mut self, p: &mut Pending, t: Duration) -> io::Result<()> {
        let t = self.stamp(t);
        match self.mode {
            DataMode::Interactive => {
                let out = self.output.finish();
                emit(p, t, EventCode::Output, Stream::Output, self.channel, out)?;
                let inp = self.input.finish();
                emit(p, t, EventCode::Input, Stream::Input, self.channel, inp)
            }
            DataMode::Bulk => {
                let out = self.output.finish();
                emit(
                    p,
                    t,
                    EventCode::Output,
                    Stream::Output,
                    self.channel,
                    Piece { raw: None, ..out },
                )?;
                if self.unmarked {
                    self.marker(p, t)?;
                }
                Ok(())
            }
        }
    }

    fn bulk_data(
        &mut self,
        p: &mut Pending,
        t: Duration,
        stream: Stream,
        bytes: &[u8],
    ) -> io::Result<()> {
        let header = RecordHeader {
            stream,
            kind: RecordKind::Bulk,
            channel: self.channel,
            offset: *self.total(stream),
            t,
        };
        write_record(&mut p.data, &header, bytes)?;
        *self.total(stream) += bytes.len() as u64;
        if stream != Stream::Input && self.preview_left > 0 {
            let n = usize::try_from(self.preview_left)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            self.preview_left -= n as u64;
            let mut piece = self.output.push(bytes.get(..n).unwrap_or_default());
            if self.preview_left == 0 {
                piece.text.push_str(&self.output.finish().text);
            }
            // Display only: the exact bytes are in the bulk records already.
            emit(
                p,
                t,
                EventCode::Output,
                stream,
                self.channel,
                Piece { raw: None, ..piece },
            )?;
            if self.preview_left == 0 {
                let note = "fumidai: output preview ends here, the rest is in the side file";
                write_event(&mut p.cast, t, EventCode::Marker, note)?;
            }
        }
        self.unmarked = true;
        let due = self
            .last_marker
            .is_none_or(|last| t.saturating_sub(last) >= self.bulk.marker_every);
        if due {
            self.marker(p, t)?;
        }
        Ok(())
    }

    fn marker(&mut self, p: &mut Pending, t: Duration) -> io::Result<()> {
        let [stdin, stdout, stderr] = self.totals;
        let text = format!(
            "fumidai bulk: stdin {stdin} B, stdout {stdout} B, stderr {stderr} B (raw bytes in the .data side file)"
        );
        self.last_marker = Some(t);
        self.unmarked = false;
        write_event(&mut p.cast, t, EventCode::Marker, &text)
    }

    fn total(&mut self, stream: Stream) -> &mut u64 {
        let [input, output, stderr] = &mut self.totals;
        match stream {
            Stream::Input => input,
            Stream::Output => output,
            Stream::Stderr => stderr,
        }
    }

    fn stamp(&mut self, t: Duration) -> Duration {
        self.last_t = self.last_t.max(t);
        self.last_t
    }
}

/// Writes a decoded piece as a cast event, and its exact bytes to the side file when the
/// text needed replacements.
fn emit(
    p: &mut Pending,
    t: Duration,
    code: EventCode,
    stream: Stream,
    channel: u32,
    piece: Piece,
) -> io::Result<()> {
    if !piece.text.is_empty() {
        write_event(&mut p.cast, t, code, &piece.text)?;
    }
    if let Some(raw) = piece.raw {
        let header = RecordHeader {
            stream,
            kind: RecordKind::CastRaw,
            channel,
            offset: piece.offset,
            t,
        };
        write_record(&mut p.data, &header, &raw)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
