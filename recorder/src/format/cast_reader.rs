//! Streaming asciicast v2 reader, for `fumidai play`, reassembly and tests.
//!
//! Events are read one line at a time, so a multi-gigabyte cast needs no more memory than
//! its longest line. A last line without its newline that does not parse is what a crash
//! (or power loss) leaves: it ends the stream quietly and [`CastReader::truncated`] says so.
//! A malformed *complete* line is an error, reported with its line number, and reading
//! continues after it.

use std::io::{BufRead, Read};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::asciicast::Header;
use super::duration_from_secs;
use crate::error::{Error, Result};

/// Longest line the reader accepts. The writer's longest is a 32 KiB chunk of control
/// characters, JSON-escaped six bytes each, far below this.
pub const MAX_LINE: usize = 16 << 20;

/// One event of a cast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the start of the recording (microsecond precision).
    pub t: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// The event types fumidai writes, and a catch-all for others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `"o"`: terminal output.
    Output(String),
    /// `"i"`: engineer input.
    Input(String),
    /// `"r"`: resize.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// `"m"`: marker.
    Marker(String),
    /// Any other event type (from other asciicast writers).
    Other {
        /// The type letter.
        code: String,
        /// The data.
        data: String,
    },
}

/// Reads the header, then yields events.
#[derive(Debug)]
pub struct CastReader<R> {
    reader: R,
    /// Line number of the last line read (the header is line 1).
    line: u64,
    buf: Vec<u8>,
    truncated: bool,
    done: bool,
}

impl<R: BufRead> CastReader<R> {
    /// Reads and checks the header line.
    pub fn open(reader: R) -> Result<(Header, Self)> {
        let mut this = Self {
            reader,
            line: 0,
            buf: Vec::new(),
            truncated: false,
            done: false,
        };
        this.next_line()?;
        #[derive(Deserialize)]
        struct VersionOnly {
            version: u64,
        }
        let bad = |e| Error::BadHeader {
            source: Arc::new(e),
        };
        let v: VersionOnly = serde_json::from_slice(&this.buf).map_err(bad)?;
        if v.version != 2 {
            return Err(Error::UnsupportedVersion { version: v.version });
        }
        // Other keys (`version`, `idle_time_limit`, …) are ignored.
        let header: Header = serde_json::from_slice(&this.buf).map_err(bad)?;
        Ok((header, this))
    }

    /// Whether the file ended in a cut line (which was dropped).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Reads the next line into `buf` (without its newline); returns (bytes read, whether
    /// it ended with a newline).
    fn next_line(&mut self) -> Result<(usize, bool)> {
        self.buf.clear();
        self.line += 1;
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(Error::read)?;
        let complete = self.buf.last() == Some(&b'\n');
        if complete {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE {
            return Err(Error::LineTooLong {
                line: self.line,
                max: MAX_LINE,
            });
        }
        Ok((n, complete))
    }

    fn parse(&self) -> Option<Event> {
        let (secs, code, data): (f64, String, String) = serde_json::from_slice(&self.buf).ok()?;
        let t = duration_from_secs(secs)?;
        let kind = match code.as_str() {
            "o" => EventKind::Output(data),
            "i" => EventKind::Input(data),
            "m" => EventKind::Marker(data),
            "r" => {
                let (c, r) = data.split_once('x')?;
                EventKind::Resize {
                    cols: c.parse().ok()?,
                    rows: r.parse().ok()?,
                }
            }
            _ => EventKind::Other { code, data },
        };
        Some(Event { t, kind })
    }
}

impl<R: BufRead> Iterator for CastReader<R> {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        while !self.done {
            let (n, complete) = match self.next_line() {
                Ok(x) => x,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if n == 0 {
                self.done = true;
                return None;
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match self.parse() {
                Some(ev) => return Some(Ok(ev)),
                None if !complete => {
                    self.done = true;
                    self.truncated = true;
                    return None;
                }
                None => return Some(Err(Error::BadEvent { line: self.line })),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::asciicast::{EventCode, write_event, write_header, write_resize};
    use crate::test_support::header;

    fn sample() -> Vec<u8> {
        let mut f = Vec::new();
        write_header(&mut f, &header()).unwrap();
        write_event(
            &mut f,
            Duration::from_micros(10),
            EventCode::Output,
            "a\u{1b}\"",
        )
        .unwrap();
        write_event(&mut f, Duration::from_micros(20), EventCode::Input, "q").unwrap();
        write_resize(&mut f, Duration::from_micros(30), 132, 43).unwrap();
        write_event(&mut f, Duration::from_micros(40), EventCode::Marker, "m!").unwrap();
        write_event(
            &mut f,
            Duration::from_secs(5),
            EventCode::Output,
            "last line",
        )
        .unwrap();
        f
    }

    fn read_all(bytes: &[u8]) -> (Vec<EventKind>, bool) {
        let (h, mut r) = CastReader::open(bytes).unwrap();
        assert_eq!(h, header());
        let evs = r.by_ref().map(|e| e.unwrap().kind).collect();
        (evs, r.truncated())
    }

    #[test]
    fn round_trip() {
        let (evs, truncated) = read_all(&sample());
        assert!(!truncated);
        assert_eq!(
            evs,
            [
                EventKind::Output("a\u{1b}\"".into()),
                EventKind::Input("q".into()),
                EventKind::Resize {
                    cols: 132,
                    rows: 43
                },
                EventKind::Marker("m!".into()),
                EventKind::Output("last line".into()),
            ]
        );
    }

    /// A crash cuts the file anywhere inside the last line: all earlier events survive.
    #[test]
    fn truncated_last_line_is_tolerated() {
        let full = sample();
        let last_start = full[..full.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
            + 1;
        for cut in last_start + 1..full.len() - 1 {
            let (evs, truncated) = read_all(&full[..cut]);
            assert_eq!(evs.len(), 4, "cut at {cut}");
            assert!(truncated, "cut at {cut}");
        }
        // Cut exactly before the final newline: the line is whole and kept.
        let (evs, truncated) = read_all(&full[..full.len() - 1]);
        assert_eq!((evs.len(), truncated), (5, false));
    }

    #[test]
    fn malformed_lines() {
        let mut f = Vec::new();
        write_header(&mut f, &header()).unwrap();
        f.extend_from_slice(b"\n[1.0, \"o\"]\n[1.0, \"r\", \"80by24\"]\n[-1, \"o\", \"x\"]\n");
        f.extend_from_slice(b"[2.0, \"x\", \"y\"]\n");
        let (_, r) = CastReader::open(&f[..]).unwrap();
        let got: Vec<_> = r
            .map(|e| e.map(|e| e.kind).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                Err("malformed asciicast event on line 3".to_string()),
                Err("malformed asciicast event on line 4".to_string()),
                Err("malformed asciicast event on line 5".to_string()),
                Ok(EventKind::Other {
                    code: "x".into(),
                    data: "y".into()
                }),
            ]
        );
    }

    #[test]
    fn bad_headers() {
        let cases: [(&[u8], &str); 4] = [
            (b"", "malformed asciicast header"),
            (b"{\"version\": 1}\n", "unsupported asciicast version 1"),
            (
                b"{\"version\": 2, \"width\": 80}\n",
                "malformed asciicast header",
            ),
            (b"{\"version\": 2, \"wid", "malformed asciicast header"),
        ];
        for (bytes, want) in cases {
            assert_eq!(CastReader::open(bytes).unwrap_err().to_string(), want);
        }
    }
}
