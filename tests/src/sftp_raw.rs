//! A hand-driven SFTP v3 client for hostile-peer tests (STYLE 26): stock `ssh` carries the
//! channel over an [`SshMaster`]'s control socket, and the test writes every packet itself,
//! including those no stock client sends (a request ID reused while pending, `pflags` 0,
//! a head rewritten after the fact, a handle the server never gave).
//!
//! The channel is either the `sftp` subsystem ([`SftpRaw::subsystem`]) or an exec of an
//! SFTP server binary ([`SftpRaw::exec`], e.g. `/usr/lib/openssh/sftp-server`). Replies are
//! read by a thread into a queue; [`SftpRaw::recv`] waits for one under a deadline and says
//! when the gateway closed the channel (end of `ssh`'s stdout).
//!
//! Paths go on the wire as given: the tests name the target's files by absolute path.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use crate::ssh_master::SshMaster;

/// Packet types (draft-ietf-secsh-filexfer-02).
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
    pub const REMOVE: u8 = 13;
    pub const STAT: u8 = 17;
    pub const RENAME: u8 = 18;
    pub const SYMLINK: u8 = 20;
    pub const STATUS: u8 = 101;
    pub const HANDLE: u8 = 102;
    pub const DATA: u8 = 103;
    pub const NAME: u8 = 104;
    pub const ATTRS: u8 = 105;
    pub const EXTENDED: u8 = 200;
}

/// `SSH_FXF_*` open flags.
pub mod pflags {
    pub const READ: u32 = 0x01;
    pub const WRITE: u32 = 0x02;
    pub const APPEND: u32 = 0x04;
    pub const CREAT: u32 = 0x08;
    pub const TRUNC: u32 = 0x10;
    pub const EXCL: u32 = 0x20;
}

/// `SSH_FX_*` status codes.
pub mod status {
    pub const OK: u32 = 0;
    pub const EOF: u32 = 1;
    pub const NO_SUCH_FILE: u32 = 2;
    pub const PERMISSION_DENIED: u32 = 3;
    pub const FAILURE: u32 = 4;
    pub const OP_UNSUPPORTED: u32 = 8;
}

/// `SSH_FILEXFER_ATTR_*` flags.
const ATTR_SIZE: u32 = 0x1;
const ATTR_PERMISSIONS: u32 = 0x4;

/// The attributes a request carries (only what the tests set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// `st_size`.
    pub size: Option<u64>,
    /// `st_mode` permission bits, e.g. `0o755`.
    pub permissions: Option<u32>,
}

impl Attrs {
    /// No attributes.
    pub const NONE: Attrs = Attrs {
        size: None,
        permissions: None,
    };

    /// Only the permission bits.
    pub fn mode(permissions: u32) -> Self {
        Self {
            size: None,
            permissions: Some(permissions),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut flags = 0;
        if self.size.is_some() {
            flags |= ATTR_SIZE;
        }
        if self.permissions.is_some() {
            flags |= ATTR_PERMISSIONS;
        }
        put_u32(out, flags);
        if let Some(size) = self.size {
            put_u64(out, size);
        }
        if let Some(p) = self.permissions {
            put_u32(out, p);
        }
    }
}

/// One reply from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `SSH_FXP_VERSION`.
    Version(u32),
    /// `SSH_FXP_STATUS`.
    Status {
        /// Request ID.
        id: u32,
        /// `SSH_FX_*` code.
        code: u32,
        /// The server's message (the gateway's bilingual reason on a refusal).
        message: String,
    },
    /// `SSH_FXP_HANDLE`.
    Handle {
        /// Request ID.
        id: u32,
        /// The opaque handle.
        handle: Vec<u8>,
    },
    /// `SSH_FXP_DATA`.
    Data {
        /// Request ID.
        id: u32,
        /// The bytes read.
        data: Vec<u8>,
    },
    /// Anything else (`NAME`, `ATTRS`, `EXTENDED_REPLY`): type, ID and the rest unparsed.
    Other {
        /// Packet type.
        kind: u8,
        /// Request ID.
        id: u32,
        /// The packet after the ID.
        body: Vec<u8>,
    },
}

impl Reply {
    /// The request ID it answers (`None` for `VERSION`).
    pub fn id(&self) -> Option<u32> {
        match self {
            Reply::Version(_) => None,
            Reply::Status { id, .. }
            | Reply::Handle { id, .. }
            | Reply::Data { id, .. }
            | Reply::Other { id, .. } => Some(*id),
        }
    }

    /// The status code, if it is a `STATUS`.
    pub fn status(&self) -> Option<u32> {
        match self {
            Reply::Status { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Why no reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReply {
    /// The channel's output ended: the gateway (or the server) closed it.
    Closed,
    /// Nothing within the timeout, and the channel is still open.
    Timeout,
}

/// What the SFTP request was answered with, from the high-level helpers.
pub type Answer = Result<Reply, NoReply>;

/// How long the helpers wait for a reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);

/// A raw SFTP session over one `ssh` channel.
pub struct SftpRaw {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Bytes held back by [`SftpRaw::cork`].
    corked: Option<Vec<u8>>,
    replies: Receiver<Reply>,
    /// Replies read while waiting for another ID.
    held: VecDeque<Reply>,
    /// The reader hit the end of the stream.
    closed: bool,
    stderr: std::path::PathBuf,
    /// The server's protocol version.
    pub version: u32,
    next_id: u32,
    /// Holds the stderr file.
    _work: tempfile::TempDir,
}

impl SftpRaw {
    /// Opens the `sftp` subsystem over `master` (`ssh -s HOST sftp`) and does INIT/VERSION.
    pub fn subsystem(master: &SshMaster) -> Self {
        Self::spawn(master, &["-s", "fumidai-gateway", "sftp"])
    }

    /// Runs `command` (an SFTP server, e.g. `/usr/lib/openssh/sftp-server`) as an exec
    /// channel over `master` and does INIT/VERSION.
    pub fn exec(master: &SshMaster, command: &str) -> Self {
        Self::spawn(master, &["fumidai-gateway", command])
    }

    /// Like [`subsystem`](Self::subsystem)/[`exec`](Self::exec) but without the INIT, for a
    /// test that sends its own (or none): `args` follow `ssh -T`.
    pub fn spawn_uninitialised(master: &SshMaster, args: &[&str]) -> Self {
        let work = tempfile::tempdir().expect("tempdir");
        let stderr = work.path().join("stderr");
        let mut cmd: Command = master.command("ssh");
        cmd.arg("-T")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut child = cmd.spawn().expect("spawn ssh for sftp");
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, rx) = channel();
        std::thread::spawn(move || read_replies(stdout, tx));
        Self {
            child,
            stdin,
            corked: None,
            replies: rx,
            held: VecDeque::new(),
            closed: false,
            stderr,
            version: 0,
            next_id: 1,
            _work: work,
        }
    }

    fn spawn(master: &SshMaster, args: &[&str]) -> Self {
        let mut s = Self::spawn_uninitialised(master, args);
        let mut init = vec![kind::INIT];
        put_u32(&mut init, 3);
        s.send_packet(&init);
        let deadline = Instant::now() + REPLY_TIMEOUT;
        match s.next_reply(deadline) {
            Ok(Reply::Version(v)) => s.version = v,
            other => panic!("no SFTP VERSION: {other:?}; ssh said: {}", s.stderr()),
        }
        s
    }

    /// What `ssh` wrote on stderr so far (the gateway's refusals, ssh's own errors).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// A fresh request ID (counting up from 1; tests that reuse one pass it themselves).
    pub fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    // ---- sending: one method per request, any ID, any flags; nothing waits ----

    /// Sends one packet: `body` is the type byte and what follows; the length is added.
    /// Writing to a channel the gateway closed is not an error here: the reply side says so.
    pub fn send_packet(&mut self, body: &[u8]) {
        let mut packet = Vec::with_capacity(body.len() + 4);
        put_u32(
            &mut packet,
            u32::try_from(body.len()).expect("packet length"),
        );
        packet.extend_from_slice(body);
        self.send_bytes(&packet);
    }

    /// Holds what is sent until [`uncork`](Self::uncork), so several requests leave in one
    /// write: the gateway then reads them before the target can answer the first.
    pub fn cork(&mut self) {
        self.corked = Some(Vec::new());
    }

    /// Sends what was held since [`cork`](Self::cork), in one write.
    pub fn uncork(&mut self) {
        if let Some(held) = self.corked.take() {
            self.send_bytes(&held);
        }
    }

    /// Sends raw bytes, framing and all (for malformed packets).
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        if let Some(held) = self.corked.as_mut() {
            held.extend_from_slice(bytes);
            return;
        }
        if let Some(stdin) = self.stdin.as_mut()
            && stdin.write_all(bytes).and_then(|()| stdin.flush()).is_err()
        {
            self.stdin = None;
        }
    }

    /// `SSH_FXP_OPEN`.
    pub fn send_open(&mut self, id: u32, path: &str, pflags: u32, attrs: Attrs) {
        let mut b = request(kind::OPEN, id);
        put_str(&mut b, path.as_bytes());
        put_u32(&mut b, pflags);
        attrs.encode(&mut b);
        self.send_packet(&b);
    }

    /// `SSH_FXP_CLOSE`.
    pub fn send_close(&mut self, id: u32, handle: &[u8]) {
        let mut b = request(kind::CLOSE, id);
        put_str(&mut b, handle);
        self.send_packet(&b);
    }

    /// `SSH_FXP_READ`.
    pub fn send_read(&mut self, id: u32, handle: &[u8], offset: u64, len: u32) {
        let mut b = request(kind::READ, id);
        put_str(&mut b, handle);
        put_u64(&mut b, offset);
        put_u32(&mut b, len);
        self.send_packet(&b);
    }

    /// `SSH_FXP_WRITE`.
    pub fn send_write(&mut self, id: u32, handle: &[u8], offset: u64, data: &[u8]) {
        let mut b = request(kind::WRITE, id);
        put_str(&mut b, handle);
        put_u64(&mut b, offset);
        put_str(&mut b, data);
        self.send_packet(&b);
    }

    /// `SSH_FXP_SETSTAT`.
    pub fn send_setstat(&mut self, id: u32, path: &str, attrs: Attrs) {
        let mut b = request(kind::SETSTAT, id);
        put_str(&mut b, path.as_bytes());
        attrs.encode(&mut b);
        self.send_packet(&b);
    }

    /// `SSH_FXP_FSETSTAT`.
    pub fn send_fsetstat(&mut self, id: u32, handle: &[u8], attrs: Attrs) {
        let mut b = request(kind::FSETSTAT, id);
        put_str(&mut b, handle);
        attrs.encode(&mut b);
        self.send_packet(&b);
    }

    /// `SSH_FXP_REMOVE`.
    pub fn send_remove(&mut self, id: u32, path: &str) {
        let mut b = request(kind::REMOVE, id);
        put_str(&mut b, path.as_bytes());
        self.send_packet(&b);
    }

    /// `SSH_FXP_LSTAT`.
    pub fn send_lstat(&mut self, id: u32, path: &str) {
        let mut b = request(kind::LSTAT, id);
        put_str(&mut b, path.as_bytes());
        self.send_packet(&b);
    }

    /// `SSH_FXP_RENAME`.
    pub fn send_rename(&mut self, id: u32, from: &str, to: &str) {
        let mut b = request(kind::RENAME, id);
        put_str(&mut b, from.as_bytes());
        put_str(&mut b, to.as_bytes());
        self.send_packet(&b);
    }

    /// `SSH_FXP_SYMLINK` in OpenSSH's order: the link's target (what it points at), then
    /// the link's own path (the draft has them the other way round).
    pub fn send_symlink(&mut self, id: u32, target: &str, link: &str) {
        let mut b = request(kind::SYMLINK, id);
        put_str(&mut b, target.as_bytes());
        put_str(&mut b, link.as_bytes());
        self.send_packet(&b);
    }

    /// `SSH_FXP_EXTENDED` named `name` with two path arguments (`posix-rename@openssh.com`
    /// old → new, `hardlink@openssh.com` existing → new link).
    pub fn send_extended_paths(&mut self, id: u32, name: &str, first: &str, second: &str) {
        let mut b = request(kind::EXTENDED, id);
        put_str(&mut b, name.as_bytes());
        put_str(&mut b, first.as_bytes());
        put_str(&mut b, second.as_bytes());
        self.send_packet(&b);
    }

    // ---- receiving ----

    /// The next reply in arrival order (held ones first), or why there is none within
    /// `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Answer {
        self.next_reply(Instant::now() + timeout)
    }

    /// The reply to request `id`, holding back the others for later [`recv`](Self::recv)s.
    pub fn reply_to(&mut self, id: u32, timeout: Duration) -> Answer {
        if let Some(i) = self.held.iter().position(|r| r.id() == Some(id)) {
            return Ok(self.held.remove(i).expect("position is in range"));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let reply = self.receive(deadline)?;
            if reply.id() == Some(id) {
                return Ok(reply);
            }
            self.held.push_back(reply);
        }
    }

    /// Waits until the channel is closed (the gateway ended it), ignoring replies; `true`
    /// when it was within `timeout`, `false` when it is still open.
    pub fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.receive(deadline) {
                Ok(reply) => self.held.push_back(reply),
                Err(NoReply::Closed) => return true,
                Err(NoReply::Timeout) => return false,
            }
        }
    }

    /// Whether the end of the channel's output was seen already.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Every reply read but not yet taken.
    pub fn held(&self) -> &VecDeque<Reply> {
        &self.held
    }

    fn next_reply(&mut self, deadline: Instant) -> Answer {
        if let Some(r) = self.held.pop_front() {
            return Ok(r);
        }
        self.receive(deadline)
    }

    fn receive(&mut self, deadline: Instant) -> Answer {
        if self.closed {
            return Err(NoReply::Closed);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.replies.recv_timeout(left) {
            Ok(r) => Ok(r),
            Err(RecvTimeoutError::Timeout) => Err(NoReply::Timeout),
            Err(RecvTimeoutError::Disconnected) => {
                self.closed = true;
                Err(NoReply::Closed)
            }
        }
    }

    // ---- conveniences: send one request with a fresh ID and wait for its reply ----

    /// OPEN with a fresh ID: the handle, or the reply that isn't one.
    pub fn open(&mut self, path: &str, pflags: u32, attrs: Attrs) -> Result<Vec<u8>, Answer> {
        let id = self.id();
        self.send_open(id, path, pflags, attrs);
        match self.reply_to(id, REPLY_TIMEOUT) {
            Ok(Reply::Handle { handle, .. }) => Ok(handle),
            other => Err(other),
        }
    }

    /// WRITE with a fresh ID; the status code, or why there is none.
    pub fn write(&mut self, handle: &[u8], offset: u64, data: &[u8]) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_write(id, handle, offset, data);
        self.status_of(id)
    }

    /// Writes `data` from `offset` in 32 KiB WRITEs, one at a time; the first status that
    /// isn't OK (or `OK`).
    pub fn write_all(&mut self, handle: &[u8], offset: u64, data: &[u8]) -> Result<u32, NoReply> {
        for (i, chunk) in data.chunks(32 * 1024).enumerate() {
            let at = offset + (i * 32 * 1024) as u64;
            let code = self.write(handle, at, chunk)?;
            if code != status::OK {
                return Ok(code);
            }
        }
        Ok(status::OK)
    }

    /// READ with a fresh ID: the bytes, or the reply that isn't data.
    pub fn read(&mut self, handle: &[u8], offset: u64, len: u32) -> Result<Vec<u8>, Answer> {
        let id = self.id();
        self.send_read(id, handle, offset, len);
        match self.reply_to(id, REPLY_TIMEOUT) {
            Ok(Reply::Data { data, .. }) => Ok(data),
            other => Err(other),
        }
    }

    /// Reads the whole file from offset 0 until EOF (or anything else that isn't data);
    /// the bytes read, and what ended the reading.
    pub fn read_to_end(&mut self, handle: &[u8]) -> (Vec<u8>, Answer) {
        let mut all = Vec::new();
        loop {
            match self.read(handle, all.len() as u64, 32 * 1024) {
                Ok(data) if !data.is_empty() => all.extend_from_slice(&data),
                Ok(data) => {
                    return (
                        all,
                        Ok(Reply::Data {
                            id: 0,
                            data: data.clone(),
                        }),
                    );
                }
                Err(end) => return (all, end),
            }
        }
    }

    /// CLOSE with a fresh ID; the status code.
    pub fn close(&mut self, handle: &[u8]) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_close(id, handle);
        self.status_of(id)
    }

    /// SETSTAT with a fresh ID; the status code.
    pub fn setstat(&mut self, path: &str, attrs: Attrs) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_setstat(id, path, attrs);
        self.status_of(id)
    }

    /// FSETSTAT with a fresh ID; the status code.
    pub fn fsetstat(&mut self, handle: &[u8], attrs: Attrs) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_fsetstat(id, handle, attrs);
        self.status_of(id)
    }

    /// SYMLINK (OpenSSH order: what it points at, then the link) with a fresh ID.
    pub fn symlink(&mut self, target: &str, link: &str) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_symlink(id, target, link);
        self.status_of(id)
    }

    /// RENAME with a fresh ID.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_rename(id, from, to);
        self.status_of(id)
    }

    /// An extended request with two paths, with a fresh ID.
    pub fn extended_paths(
        &mut self,
        name: &str,
        first: &str,
        second: &str,
    ) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_extended_paths(id, name, first, second);
        self.status_of(id)
    }

    /// REMOVE with a fresh ID.
    pub fn remove(&mut self, path: &str) -> Result<u32, NoReply> {
        let id = self.id();
        self.send_remove(id, path);
        self.status_of(id)
    }

    /// Uploads `data` as `path` the way a stock client does (OPEN WRITE|CREAT|TRUNC,
    /// sequential WRITEs, CLOSE): the first status that isn't OK, or OK; `Err` when the
    /// channel closed or went silent.
    pub fn put(&mut self, path: &str, data: &[u8]) -> Result<u32, NoReply> {
        let handle = match self.open(
            path,
            pflags::WRITE | pflags::CREAT | pflags::TRUNC,
            Attrs::NONE,
        ) {
            Ok(h) => h,
            Err(Ok(reply)) => return Ok(reply.status().unwrap_or(u32::MAX)),
            Err(Err(e)) => return Err(e),
        };
        let written = self.write_all(&handle, 0, data)?;
        let closed = self.close(&handle)?;
        Ok(if written == status::OK {
            closed
        } else {
            written
        })
    }

    fn status_of(&mut self, id: u32) -> Result<u32, NoReply> {
        match self.reply_to(id, REPLY_TIMEOUT)? {
            Reply::Status { code, .. } => Ok(code),
            other => panic!("expected a STATUS for request {id}, got {other:?}"),
        }
    }
}

impl Drop for SftpRaw {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads packets until end of stream; each one parsed is sent on `tx`. The sender is
/// dropped at the end, which the receiver sees as the channel closing.
fn read_replies(mut stdout: impl Read, tx: std::sync::mpsc::Sender<Reply>) {
    loop {
        let mut len = [0u8; 4];
        if stdout.read_exact(&mut len).is_err() {
            return;
        }
        let len = u32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; len];
        if stdout.read_exact(&mut body).is_err() {
            return;
        }
        let Some(reply) = parse(&body) else {
            return;
        };
        if tx.send(reply).is_err() {
            return;
        }
    }
}

fn parse(body: &[u8]) -> Option<Reply> {
    let mut f = Fields(body);
    let kind = f.u8()?;
    if kind == kind::VERSION {
        return Some(Reply::Version(f.u32()?));
    }
    let id = f.u32()?;
    Some(match kind {
        kind::STATUS => Reply::Status {
            id,
            code: f.u32()?,
            message: f
                .string()
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .unwrap_or_default(),
        },
        kind::HANDLE => Reply::Handle {
            id,
            handle: f.string()?.to_vec(),
        },
        kind::DATA => Reply::Data {
            id,
            data: f.string()?.to_vec(),
        },
        _ => Reply::Other {
            kind,
            id,
            body: f.0.to_vec(),
        },
    })
}

struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
    }

    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn request(kind: u8, id: u32) -> Vec<u8> {
    let mut b = vec![kind];
    put_u32(&mut b, id);
    b
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_u32(out, u32::try_from(s.len()).expect("string length"));
    out.extend_from_slice(s);
}

/// A path on the target as the string the wire carries.
pub fn wire_path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_owned()
}
