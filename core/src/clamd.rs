//! A client for ClamAV's `clamd`, so that uploads are scanned as they stream through
//! the gateway (R-10-6: files a vendor sends must be sanitised).
//!
//! One [`Scanner`] per gateway holds the configuration; each upload opens its own
//! [`Scan`] (one clamd connection, protocol `zINSTREAM`), feeds the bytes as they pass
//! and asks for the [`Verdict`] at the end:
//!
//! ```text
//! client → clamd   "zINSTREAM\0"
//!                  (u32 big-endian length, that many bytes)…   at most 64 KiB each
//!                  0u32                                        end of stream
//! clamd  → client  "stream: OK\0" | "stream: NAME FOUND\0"
//!                  | "INSTREAM size limit exceeded. ERROR\0" | "… ERROR\0"
//! ```
//!
//! # Fail closed: every error means "not clean"
//!
//! The caller decides what happens to the upload, and it must treat **any**
//! [`ClamdError`] exactly like [`Verdict::Infected`]: the upload is refused. clamd
//! unreachable, too slow, over a size limit, or answering nonsense are all "not known to
//! be clean". Only [`Verdict::Clean`] lets a file through.
//!
//! # clamd's own limits (clamd.conf)
//!
//! clamd keeps limits of its own, and one of them fails *open*: a stream larger than
//! `MaxFileSize` or `MaxScanSize` is not (fully) scanned and answered `stream: OK`,
//! unless `AlertExceedsMax yes` is set, which turns it into
//! `Heuristics.Limits.Exceeded.… FOUND` (an [`Verdict::Infected`], so refused). A clamd
//! used by fumidai therefore needs:
//!
//! - `AlertExceedsMax yes`;
//! - `StreamMaxLength`, `MaxFileSize` and `MaxScanSize` at least `max_scan_size` (a
//!   smaller `StreamMaxLength` makes clamd refuse bigger uploads with
//!   [`ClamdError::StreamMaxLength`] — safe, but surprising); ClamAV cannot scan files
//!   over 2 GB at all;
//! - `ReadTimeout` (default 120 s) longer than an engineer's upload may stall: clamd drops
//!   a stream that sends nothing for that long, and the upload is then refused.
//!
//! # What this module does not do
//!
//! It decides nothing about the upload (the proxy does), keeps no file (bytes go to clamd
//! as they pass; clamd spools them to its `TemporaryDirectory`), and does not configure
//! clamd.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

// The settings are plain data, parsed with the rest of `fumidai.toml` in `fumidai-core`.
pub use crate::config::clamd::{ClamdSocket, ClamdSocketError, ScannerConfig};

/// Largest chunk sent in one `zINSTREAM` frame. clamd accepts any frame up to
/// `StreamMaxLength`, but small frames keep its buffers, and ours, small.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// Longest reply accepted from clamd (a signature name with extended detection info fits
/// many times over).
const MAX_REPLY: usize = 4096;

/// How long to wait for clamd's explanation after it closed the stream under us (it
/// writes the reply before closing, so it is already there or never comes).
const REPLY_AFTER_CLOSE: Duration = Duration::from_secs(1);

/// clamd's verdict on one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No signature matched. The only outcome that lets an upload through.
    Clean,
    /// A signature matched (or, with `AlertExceedsMax yes`, a limit was exceeded:
    /// `Heuristics.Limits.Exceeded.…`).
    Infected {
        /// The signature's name as clamd reports it, e.g. `Win.Test.EICAR_HDB-1`.
        signature: String,
    },
}

/// Why no verdict was had. Every one of these means "not clean": see the module docs.
#[derive(Debug, thiserror::Error)]
pub enum ClamdError {
    /// clamd's socket could not be connected to (absent, refused, permission denied).
    #[error("cannot reach clamd at {socket}: {source}")]
    Unreachable {
        /// Where we tried.
        socket: ClamdSocket,
        /// Why it failed.
        source: std::io::Error,
    },
    /// clamd did not take data or did not answer in time.
    #[error("clamd did not answer within {}", humantime::format_duration(*timeout))]
    Timeout {
        /// The configured limit.
        timeout: Duration,
    },
    /// The stream would exceed fumidai's `max_scan_size`; nothing beyond the limit was
    /// sent.
    #[error("the stream is larger than max_scan_size ({limit} bytes)")]
    TooLarge {
        /// The configured limit, in bytes.
        limit: u64,
    },
    /// clamd refused the stream as longer than its `StreamMaxLength`.
    #[error("clamd refused the stream: longer than its StreamMaxLength")]
    StreamMaxLength,
    /// clamd answered with an error of its own (`… ERROR`), e.g. it could not spool the
    /// stream to its temporary directory.
    #[error("clamd could not scan the stream: {message}")]
    ScanFailed {
        /// clamd's message, non-printable characters replaced.
        message: String,
    },
    /// The connection broke in the middle of a scan, with no explanation from clamd.
    #[error("the connection to clamd failed: {0}")]
    Connection(#[source] std::io::Error),
    /// An earlier `feed` was cancelled or failed part-way, so the stream is no longer
    /// well-formed; the scan can only be dropped.
    #[error("the scan was interrupted earlier and cannot go on")]
    Interrupted,
    /// clamd answered something this client does not understand.
    #[error("unexpected reply from clamd: {reply:?}")]
    Protocol {
        /// The reply, non-printable characters replaced.
        reply: String,
    },
}

/// A handle on clamd, shared by every session (`Arc<Scanner>`): it holds only the
/// configuration; each scan has its own connection.
#[derive(Debug, Clone)]
pub struct Scanner {
    config: ScannerConfig,
}

/// One stream being scanned. Dropping it closes the connection; clamd then discards what
/// it was sent.
pub struct Scan {
    stream: Box<dyn Connection>,
    /// Bytes fed so far, against `max_stream`.
    sent: u64,
    max_stream: u64,
    timeout: Duration,
    /// Set while a frame is being written; still set afterwards means the frame was cut
    /// short (the future was dropped or the write failed), so nothing more may be sent.
    broken: bool,
}

impl Scanner {
    /// A scanner for the configured clamd; connects only when asked to.
    pub fn new(config: ScannerConfig) -> Self {
        Self { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &ScannerConfig {
        &self.config
    }

    /// Checks that clamd answers (`zPING` → `PONG`): `serve` calls it at start and
    /// refuses to start without an answer.
    pub async fn ping(&self) -> Result<(), ClamdError> {
        let reply = self.command(b"zPING\0").await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(ClamdError::Protocol { reply })
        }
    }

    /// clamd's version and signature database version (`zVERSION`), e.g.
    /// `ClamAV 1.4.6/27530/Tue Jan 28 09:40:21 2025`, for the start-up record.
    pub async fn version(&self) -> Result<String, ClamdError> {
        let reply = self.command(b"zVERSION\0").await?;
        if reply.starts_with("ClamAV ") {
            Ok(reply)
        } else {
            Err(ClamdError::Protocol { reply })
        }
    }

    /// Opens a connection and starts a `zINSTREAM` scan.
    pub async fn start(&self) -> Result<Scan, ClamdError> {
        let timeout = self.config.timeout;
        let mut stream = self.connect().await?;
        within(timeout, stream.write_all(b"zINSTREAM\0"))
            .await?
            .map_err(ClamdError::Connection)?;
        Ok(Scan {
            stream,
            sent: 0,
            max_stream: self.config.max_stream,
            timeout,
            broken: false,
        })
    }

    async fn connect(&self) -> Result<Box<dyn Connection>, ClamdError> {
        let unreachable = |source| ClamdError::Unreachable {
            socket: self.config.socket.clone(),
            source,
        };
        let timeout = self.config.timeout;
        Ok(match &self.config.socket {
            ClamdSocket::Unix(path) => Box::new(
                within(timeout, tokio::net::UnixStream::connect(path))
                    .await?
                    .map_err(unreachable)?,
            ),
            ClamdSocket::Tcp(addr) => Box::new(
                within(timeout, tokio::net::TcpStream::connect(addr))
                    .await?
                    .map_err(unreachable)?,
            ),
        })
    }

    /// Sends a one-shot command and returns clamd's reply without its terminator.
    async fn command(&self, command: &[u8]) -> Result<String, ClamdError> {
        let mut stream = self.connect().await?;
        within(self.config.timeout, async {
            stream
                .write_all(command)
                .await
                .map_err(ClamdError::Connection)?;
            read_reply(&mut stream)
                .await
                .map_err(ClamdError::Connection)
        })
        .await?
    }
}

impl Scan {
    /// Sends `data` to clamd, in frames of at most [`CHUNK_SIZE`] bytes. Returns once
    /// clamd's socket has taken every byte, so a slow clamd slows the upload down
    /// (backpressure) rather than filling memory.
    ///
    /// Fails with [`ClamdError::TooLarge`], sending nothing of `data`, when it would take
    /// the stream past `max_stream`. When clamd closes the stream early (e.g. over its
    /// `StreamMaxLength`) the error is the one clamd gave.
    pub async fn feed(&mut self, data: &[u8]) -> Result<(), ClamdError> {
        if self.broken {
            return Err(ClamdError::Interrupted);
        }
        let len = u64::try_from(data.len()).unwrap_or(u64::MAX);
        let Some(total) = self.sent.checked_add(len).filter(|t| *t <= self.max_stream) else {
            self.broken = true;
            return Err(ClamdError::TooLarge {
                limit: self.max_stream,
            });
        };
        self.broken = true;
        for chunk in data.chunks(CHUNK_SIZE) {
            let frame_len = u32::try_from(chunk.len()).map_err(|_| ClamdError::TooLarge {
                limit: self.max_stream,
            })?;
            self.write(&frame_len.to_be_bytes()).await?;
            self.write(chunk).await?;
        }
        self.sent = total;
        self.broken = false;
        Ok(())
    }

    /// Bytes fed so far.
    pub fn bytes_sent(&self) -> u64 {
        self.sent
    }

    /// Ends the stream and waits for clamd's verdict (it scans once the stream has
    /// ended, so this takes as long as scanning the whole upload).
    pub async fn finish(mut self) -> Result<Verdict, ClamdError> {
        if self.broken {
            return Err(ClamdError::Interrupted);
        }
        self.write(&0u32.to_be_bytes()).await?;
        let reply = within(self.timeout, read_reply(&mut self.stream))
            .await?
            .map_err(ClamdError::Connection)?;
        parse_scan_reply(&reply)
    }

    /// Writes under the time-out. When clamd has closed the stream, its reply (written
    /// before it closed) says why.
    async fn write(&mut self, bytes: &[u8]) -> Result<(), ClamdError> {
        match within(self.timeout, self.stream.write_all(bytes)).await? {
            Ok(()) => Ok(()),
            Err(e) => {
                match tokio::time::timeout(REPLY_AFTER_CLOSE, read_reply(&mut self.stream)).await {
                    Ok(Ok(reply)) if !reply.is_empty() => match parse_scan_reply(&reply) {
                        Err(
                            explained @ (ClamdError::StreamMaxLength
                            | ClamdError::ScanFailed { .. }),
                        ) => Err(explained),
                        _ => Err(ClamdError::Connection(e)),
                    },
                    _ => Err(ClamdError::Connection(e)),
                }
            }
        }
    }
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("sent", &self.sent)
            .field("max_stream", &self.max_stream)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// Parses clamd's answer to `zINSTREAM` (terminator already removed).
pub fn parse_scan_reply(reply: &str) -> Result<Verdict, ClamdError> {
    if let Some(message) = reply.strip_suffix(" ERROR") {
        return Err(if message.starts_with("INSTREAM size limit exceeded") {
            ClamdError::StreamMaxLength
        } else {
            ClamdError::ScanFailed {
                message: message.to_owned(),
            }
        });
    }
    let protocol = || ClamdError::Protocol {
        reply: reply.to_owned(),
    };
    let result = reply.strip_prefix("stream: ").ok_or_else(protocol)?;
    if result == "OK" {
        return Ok(Verdict::Clean);
    }
    match result.strip_suffix(" FOUND") {
        Some(signature) if !signature.is_empty() && !signature.contains('\u{fffd}') => {
            Ok(Verdict::Infected {
                signature: signature.to_owned(),
            })
        }
        _ => Err(protocol()),
    }
}

/// The socket to clamd, Unix or TCP.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Connection for T {}

/// Runs `f` under the time-out.
async fn within<T>(timeout: Duration, f: impl Future<Output = T>) -> Result<T, ClamdError> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| ClamdError::Timeout { timeout })
}

/// Reads one reply: up to the NUL that ends replies to `z` commands, or to the end of the
/// connection, at most [`MAX_REPLY`] bytes. Non-printable characters are replaced with
/// U+FFFD, so the text is safe to log and audit.
async fn read_reply(stream: &mut Box<dyn Connection>) -> std::io::Result<String> {
    let mut reply = Vec::with_capacity(64);
    let mut limited = stream.take(u64::try_from(MAX_REPLY).unwrap_or(u64::MAX));
    let mut byte = [0u8; 1];
    // Byte by byte: replies are a few dozen bytes, and nothing past the NUL may be eaten.
    while limited.read(&mut byte).await? == 1 {
        match byte {
            [0] => break,
            [b] => reply.push(b),
        }
    }
    let text = String::from_utf8_lossy(&reply);
    Ok(text
        .trim_end_matches(['\n', '\r'])
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed() {
        let infected = |s: &str| {
            Ok::<_, ClamdError>(Verdict::Infected {
                signature: s.to_owned(),
            })
        };
        let cases: [(&str, Result<Verdict, ClamdError>); 8] = [
            ("stream: OK", Ok(Verdict::Clean)),
            (
                "stream: Win.Test.EICAR_HDB-1 FOUND",
                infected("Win.Test.EICAR_HDB-1"),
            ),
            (
                "stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND",
                infected("Heuristics.Limits.Exceeded.MaxFileSize"),
            ),
            (
                "INSTREAM size limit exceeded. ERROR",
                Err(ClamdError::StreamMaxLength),
            ),
            (
                "Error writing to temporary file ERROR",
                Err(ClamdError::ScanFailed {
                    message: "Error writing to temporary file".into(),
                }),
            ),
            (
                "stream:  FOUND",
                Err(ClamdError::Protocol {
                    reply: "stream:  FOUND".into(),
                }),
            ),
            (
                "stream: OKAY",
                Err(ClamdError::Protocol {
                    reply: "stream: OKAY".into(),
                }),
            ),
            ("", Err(ClamdError::Protocol { reply: "".into() })),
        ];
        for (reply, expected) in cases {
            let got = parse_scan_reply(reply);
            assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{reply:?}");
        }
        // A name with characters replaced by `read_reply` is not taken as a name.
        assert!(matches!(
            parse_scan_reply("stream: Bad\u{fffd}Name FOUND"),
            Err(ClamdError::Protocol { .. })
        ));
    }

    #[tokio::test]
    async fn oversized_feeds_send_nothing_and_end_the_scan() {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let mut scan = Scan {
            stream: Box::new(client),
            sent: 0,
            max_stream: 10,
            timeout: Duration::from_secs(5),
            broken: false,
        };
        scan.feed(b"0123456789").await.unwrap();
        assert!(matches!(
            scan.feed(b"x").await,
            Err(ClamdError::TooLarge { limit: 10 })
        ));
        assert!(matches!(scan.feed(b"").await, Err(ClamdError::Interrupted)));
        assert!(matches!(scan.finish().await, Err(ClamdError::Interrupted)));
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.unwrap();
        assert_eq!(sent, b"\0\0\0\x0a0123456789", "one frame, no more");
    }
}
