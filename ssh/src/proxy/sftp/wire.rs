//! SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it): packets
//! cut from the channel's byte stream, and the few fields the inspector reads.
//!
//! Every packet is `uint32 length, byte type, …`. Parsing only borrows; the packet's bytes
//! are forwarded unchanged.

use bytes::{Buf, Bytes, BytesMut};

/// The longest packet accepted: OpenSSH's own limit (`SFTP_MAX_MSG_LENGTH`, 256 KiB) with
/// room for the header. Longer packets end the channel rather than grow a buffer.
pub const MAX_PACKET: usize = 256 * 1024 + 1024;

/// Packet types the inspector tells apart.
#[expect(missing_docs, reason = "named as in the draft; the name is the doc")]
pub mod kind {
    pub const INIT: u8 = 1;
    pub const VERSION: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const CLOSE: u8 = 4;
    pub const READ: u8 = 5;
    pub const WRITE: u8 = 6;
    pub const LSTAT: u8 = 7;
    pub const FSTAT: u8 = 8;
    pub const SETSTAT: u8 = 9;
    pub const FSETSTAT: u8 = 10;
    pub const OPENDIR: u8 = 11;
    pub const READDIR: u8 = 12;
    pub const REMOVE: u8 = 13;
    pub const MKDIR: u8 = 14;
    pub const RMDIR: u8 = 15;
    pub const REALPATH: u8 = 16;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const READLINK: u8 = 19;
    pub const SYMLINK: u8 = 20;
    pub const EXTENDED: u8 = 200;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED_REPLY: u8 = 201;
}

/// `SSH_FXF_*` open flags.
#[expect(missing_docs, reason = "named as in the draft; the name is the doc")]
pub mod pflags {
    pub const READ: u32 = 0x01;
    pub const WRITE: u32 = 0x02;
    pub const APPEND: u32 = 0x04;
    pub const CREAT: u32 = 0x08;
    pub const TRUNC: u32 = 0x10;
    pub const EXCL: u32 = 0x20;
}

/// `SSH_FX_*` status codes the gateway sends or reads.
#[expect(missing_docs, reason = "named as in the draft; the name is the doc")]
pub mod status {
    pub const OK: u32 = 0;
    pub const EOF: u32 = 1;
    pub const PERMISSION_DENIED: u32 = 3;
    pub const FAILURE: u32 = 4;
    pub const OP_UNSUPPORTED: u32 = 8;
}

/// The byte stream did not hold SFTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A packet announced a length beyond [`MAX_PACKET`] (or zero).
    #[error("sftp packet of {0} bytes is out of bounds")]
    BadLength(usize),
    /// A packet ended before one of its fields.
    #[error("sftp packet type {0} is truncated")]
    Truncated(u8),
    /// The target chose a protocol version the inspector can't read.
    #[error("sftp version {0} is not supported (only 3)")]
    Version(u32),
}

/// Cuts whole packets out of a channel's byte stream.
#[derive(Debug, Default)]
pub struct Framer {
    buf: BytesMut,
}

impl Framer {
    /// A framer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes from the channel.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole packet (length prefix included), if one has arrived.
    pub fn next_packet(&mut self) -> Result<Option<Bytes>, WireError> {
        let Some(&[a, b, c, d]) = self.buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([a, b, c, d]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len == 0 || len > MAX_PACKET {
            return Err(WireError::BadLength(len));
        }
        if self.buf.len() < 4 + len {
            self.buf.reserve(4 + len - self.buf.len());
            return Ok(None);
        }
        Ok(Some(self.buf.split_to(4 + len).freeze()))
    }

    /// Bytes of an unfinished packet still held.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// A packet's type and the fields after it, read front to back.
pub struct Fields<'a> {
    kind: u8,
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Reads a whole packet as [`Framer::next_packet`] returned it.
    pub fn of(packet: &'a [u8]) -> Result<Self, WireError> {
        let body = packet.get(4..).ok_or(WireError::Truncated(0))?;
        let (&kind, rest) = body.split_first().ok_or(WireError::Truncated(0))?;
        Ok(Self { kind, rest })
    }

    /// The packet's type.
    pub fn kind(&self) -> u8 {
        self.kind
    }

    /// The next `uint32`.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        if self.rest.len() < 4 {
            return Err(WireError::Truncated(self.kind));
        }
        Ok(self.rest.get_u32())
    }

    /// The next `uint64`.
    pub fn u64(&mut self) -> Result<u64, WireError> {
        if self.rest.len() < 8 {
            return Err(WireError::Truncated(self.kind));
        }
        Ok(self.rest.get_u64())
    }

    /// The next `string` (length-prefixed bytes).
    pub fn string(&mut self) -> Result<&'a [u8], WireError> {
        let len = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        if self.rest.len() < len {
            return Err(WireError::Truncated(self.kind));
        }
        let (s, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(s)
    }

    /// The next `string`, as text (invalid UTF-8 replaced, for the record).
    pub fn text(&mut self) -> Result<String, WireError> {
        Ok(String::from_utf8_lossy(self.string()?).into_owned())
    }

    /// The next `ATTRS`: only the permissions are kept; the rest is checked for length.
    pub fn attrs(&mut self) -> Result<Attrs, WireError> {
        let flags = self.u32()?;
        if flags & attr::SIZE != 0 {
            self.u64()?;
        }
        if flags & attr::UIDGID != 0 {
            self.u32()?;
            self.u32()?;
        }
        let permissions = if flags & attr::PERMISSIONS != 0 {
            Some(self.u32()?)
        } else {
            None
        };
        if flags & attr::ACMODTIME != 0 {
            self.u32()?;
            self.u32()?;
        }
        if flags & attr::EXTENDED != 0 {
            let count = self.u32()?;
            for _ in 0..count {
                self.string()?;
                self.string()?;
            }
        }
        Ok(Attrs { permissions })
    }

    /// What is left of the packet, unread.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether the whole packet has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// `SSH_FILEXFER_ATTR_*` flags.
#[expect(missing_docs, reason = "named as in the draft; the name is the doc")]
pub mod attr {
    pub const SIZE: u32 = 0x1;
    pub const UIDGID: u32 = 0x2;
    pub const PERMISSIONS: u32 = 0x4;
    pub const ACMODTIME: u32 = 0x8;
    pub const EXTENDED: u32 = 0x8000_0000;
}

/// The file attributes the inspector reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Mode bits, file type included when the server sends it.
    pub permissions: Option<u32>,
}

impl Attrs {
    /// Whether these attributes set an execute bit (a chmod that makes a file runnable).
    pub fn executable(self) -> bool {
        self.permissions.is_some_and(|p| p & 0o111 != 0)
    }

    /// Whether the server said this is a directory.
    pub fn directory(self) -> bool {
        self.permissions.is_some_and(|p| p & 0o170_000 == 0o040_000)
    }
}

/// Requests the inspector sends the target itself, under IDs of its own.
pub mod own {
    use bytes::Bytes;

    use super::{framed, kind, put_string};

    /// `OPEN path pflags` with `attrs` as the engineer sent them (raw `ATTRS` bytes).
    pub fn open(id: u32, path: &str, pflags: u32, attrs: &[u8]) -> Bytes {
        let mut body = vec![kind::OPEN];
        body.extend_from_slice(&id.to_be_bytes());
        put_string(&mut body, path.as_bytes());
        body.extend_from_slice(&pflags.to_be_bytes());
        body.extend_from_slice(attrs);
        framed(&body)
    }

    /// `READ handle offset len`.
    pub fn read(id: u32, handle: &[u8], offset: u64, len: u32) -> Bytes {
        let mut body = vec![kind::READ];
        body.extend_from_slice(&id.to_be_bytes());
        put_string(&mut body, handle);
        body.extend_from_slice(&offset.to_be_bytes());
        body.extend_from_slice(&len.to_be_bytes());
        framed(&body)
    }

    /// `CLOSE handle`.
    pub fn close(id: u32, handle: &[u8]) -> Bytes {
        let mut body = vec![kind::CLOSE];
        body.extend_from_slice(&id.to_be_bytes());
        put_string(&mut body, handle);
        framed(&body)
    }

    /// Renames `from` to `to`: OpenSSH's `posix-rename@openssh.com` (replaces `to`) when the
    /// `posix` (the server has it and the file may be replaced), else the draft's `RENAME`
    /// (OpenSSH: fails if `to` exists).
    pub fn rename(id: u32, from: &str, to: &str, posix: bool) -> Bytes {
        let mut body = if posix {
            let mut b = vec![kind::EXTENDED];
            b.extend_from_slice(&id.to_be_bytes());
            put_string(&mut b, b"posix-rename@openssh.com");
            b
        } else {
            let mut b = vec![kind::RENAME];
            b.extend_from_slice(&id.to_be_bytes());
            b
        };
        put_string(&mut body, from.as_bytes());
        put_string(&mut body, to.as_bytes());
        framed(&body)
    }
}

/// A `STATUS` reply to request `id`.
pub fn status_packet(id: u32, code: u32, message: &str) -> Bytes {
    let mut body = Vec::with_capacity(17 + message.len());
    body.push(kind::STATUS);
    body.extend_from_slice(&id.to_be_bytes());
    body.extend_from_slice(&code.to_be_bytes());
    put_string(&mut body, message.as_bytes());
    put_string(&mut body, b"");
    framed(&body)
}

/// A request that names one path (`REMOVE`, `STAT`, …), as the inspector sends its own.
pub fn path_request(kind: u8, id: u32, path: &str) -> Bytes {
    let mut body = Vec::with_capacity(9 + path.len());
    body.push(kind);
    body.extend_from_slice(&id.to_be_bytes());
    put_string(&mut body, path.as_bytes());
    framed(&body)
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(s);
}

fn framed(body: &[u8]) -> Bytes {
    let mut packet = Vec::with_capacity(4 + body.len());
    put_string(&mut packet, body);
    Bytes::from(packet)
}

/// Builders for tests: packets as OpenSSH's client and server write them.
#[cfg(test)]
#[expect(
    missing_docs,
    reason = "test builders named after the packets they build"
)]
pub mod build {
    use super::{framed, kind, put_string};
    use bytes::Bytes;

    fn packet(kind: u8, id: u32, fields: &[&[u8]]) -> Bytes {
        let mut body = vec![kind];
        body.extend_from_slice(&id.to_be_bytes());
        for f in fields {
            body.extend_from_slice(f);
        }
        framed(&body)
    }

    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, bytes);
        out
    }

    pub fn init() -> Bytes {
        framed(&[kind::INIT, 0, 0, 0, 3])
    }
    pub fn version() -> Bytes {
        framed(&[kind::VERSION, 0, 0, 0, 3])
    }
    pub fn open_with(id: u32, path: &str, pflags: u32, permissions: u32) -> Bytes {
        packet(
            kind::OPEN,
            id,
            &[
                &s(path.as_bytes()),
                &pflags.to_be_bytes(),
                &super::attr::PERMISSIONS.to_be_bytes(),
                &permissions.to_be_bytes(),
            ],
        )
    }
    pub fn setstat(id: u32, path: &str, permissions: u32) -> Bytes {
        packet(
            kind::SETSTAT,
            id,
            &[
                &s(path.as_bytes()),
                &super::attr::PERMISSIONS.to_be_bytes(),
                &permissions.to_be_bytes(),
            ],
        )
    }
    pub fn attrs_reply(id: u32, permissions: u32) -> Bytes {
        packet(
            kind::ATTRS,
            id,
            &[
                &super::attr::PERMISSIONS.to_be_bytes(),
                &permissions.to_be_bytes(),
            ],
        )
    }
    pub fn version_with(extensions: &[&str]) -> Bytes {
        let mut body = vec![kind::VERSION, 0, 0, 0, 3];
        for name in extensions {
            body.extend_from_slice(&s(name.as_bytes()));
            body.extend_from_slice(&s(b"1"));
        }
        framed(&body)
    }
    pub fn open(id: u32, path: &str, pflags: u32) -> Bytes {
        packet(
            kind::OPEN,
            id,
            &[
                &s(path.as_bytes()),
                &pflags.to_be_bytes(),
                &0u32.to_be_bytes(),
            ],
        )
    }
    pub fn handle(id: u32, handle: &[u8]) -> Bytes {
        packet(kind::HANDLE, id, &[&s(handle)])
    }
    pub fn write(id: u32, handle: &[u8], offset: u64, data: &[u8]) -> Bytes {
        packet(
            kind::WRITE,
            id,
            &[&s(handle), &offset.to_be_bytes(), &s(data)],
        )
    }
    pub fn read(id: u32, handle: &[u8], offset: u64, len: u32) -> Bytes {
        packet(
            kind::READ,
            id,
            &[&s(handle), &offset.to_be_bytes(), &len.to_be_bytes()],
        )
    }
    pub fn data(id: u32, data: &[u8]) -> Bytes {
        packet(kind::DATA, id, &[&s(data)])
    }
    pub fn close(id: u32, handle: &[u8]) -> Bytes {
        packet(kind::CLOSE, id, &[&s(handle)])
    }
    pub fn readdir(id: u32, handle: &[u8]) -> Bytes {
        packet(kind::READDIR, id, &[&s(handle)])
    }
    pub fn status(id: u32, code: u32) -> Bytes {
        packet(kind::STATUS, id, &[&code.to_be_bytes(), &s(b""), &s(b"")])
    }
    pub fn path_op(kind: u8, id: u32, path: &str) -> Bytes {
        super::path_request(kind, id, path)
    }
    pub fn rename(id: u32, from: &str, to: &str) -> Bytes {
        packet(kind::RENAME, id, &[&s(from.as_bytes()), &s(to.as_bytes())])
    }
    pub fn extended(id: u32, name: &str, fields: &[&[u8]]) -> Bytes {
        let name = s(name.as_bytes());
        let mut all: Vec<&[u8]> = vec![&name];
        all.extend_from_slice(fields);
        packet(kind::EXTENDED, id, &all)
    }
    pub fn string(bytes: &[u8]) -> Vec<u8> {
        s(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_cut_wherever_the_stream_splits() {
        let stream: Vec<u8> = [
            build::init(),
            build::open(1, "/tmp/a", 3),
            build::close(2, b"h"),
        ]
        .concat();
        for split in 0..stream.len() {
            let mut framer = Framer::new();
            let mut got = Vec::new();
            for part in [&stream[..split], &stream[split..]] {
                framer.push(part);
                while let Some(p) = framer.next_packet().unwrap() {
                    got.push(Fields::of(&p).unwrap().kind());
                }
            }
            assert_eq!(got, [kind::INIT, kind::OPEN, kind::CLOSE], "split {split}");
            assert_eq!(framer.pending(), 0);
        }
    }

    #[test]
    fn oversized_and_empty_packets_are_refused() {
        let mut framer = Framer::new();
        framer.push(&u32::try_from(MAX_PACKET + 1).unwrap().to_be_bytes());
        assert!(matches!(framer.next_packet(), Err(WireError::BadLength(_))));
        let mut framer = Framer::new();
        framer.push(&[0, 0, 0, 0]);
        assert_eq!(framer.next_packet(), Err(WireError::BadLength(0)));
    }

    #[test]
    fn fields_read_in_order_and_truncation_is_an_error() {
        let p = build::write(7, b"hd", 1 << 33, b"abc");
        let mut f = Fields::of(&p).unwrap();
        assert_eq!(f.kind(), kind::WRITE);
        assert_eq!(f.u32().unwrap(), 7);
        assert_eq!(f.string().unwrap(), b"hd");
        assert_eq!(f.u64().unwrap(), 1 << 33);
        assert_eq!(f.string().unwrap(), b"abc");
        assert_eq!(f.u32(), Err(WireError::Truncated(kind::WRITE)));
        let mut short = Fields::of(&[0, 0, 0, 3, kind::OPEN, 0, 0]).unwrap();
        assert_eq!(short.u32(), Err(WireError::Truncated(kind::OPEN)));
    }

    #[test]
    fn a_status_reply_parses_back() {
        let p = status_packet(9, status::PERMISSION_DENIED, "拒否 / refused");
        let mut f = Fields::of(&p).unwrap();
        assert_eq!(f.kind(), kind::STATUS);
        assert_eq!(f.u32().unwrap(), 9);
        assert_eq!(f.u32().unwrap(), status::PERMISSION_DENIED);
        assert_eq!(f.text().unwrap(), "拒否 / refused");
    }
}
