//! The SFTP inspector: reads both directions of one SFTP channel packet by packet, asks
//! `policy::transfer` about every operation, and says what to forward, what to answer
//! itself, and what to put on record (§7 ②, R-10-6, R-10-3).
//!
//! A state machine without I/O: the bridge feeds it bytes and carries out the
//! [`Action`]s. Requests the plan does not allow never reach the target: the engineer gets
//! `SSH_FX_PERMISSION_DENIED` with the reason, and the reason again on stderr (OpenSSH's
//! `sftp` prints only the status code).
//!
//! What it tracks: every `OPEN` until the target answers with a handle; per handle the
//! path, direction, size and SHA-256 of the bytes in order, and, for uploads, the first
//! [`HEAD_LEN`] bytes, which decide the file's kind. A file is put on record once, when it
//! is closed (or when the channel ends with it still open).

use std::collections::HashMap;

use bytes::Bytes;
use policy::plan::Allowances;
use policy::transfer::{self, ContentKind, Direction, HEAD_LEN, MacroScan, TransferRefusal};
use recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord,
};

use super::wire::{Fields, Framer, WireError, kind, path_request, pflags, status, status_packet};

/// What the bridge does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward these bytes to the target.
    ToTarget(Bytes),
    /// Send these bytes to the engineer (a forwarded reply, or the inspector's own).
    ToEngineer(Bytes),
    /// Tell the engineer on stderr.
    Tell(String),
    /// A file transfer ended: put it on record.
    Transfer(TransferRecord),
    /// A change to the target's files other than writing one (remove, rename, …), done
    /// or refused: put it on record.
    Change(FileChange),
    /// Uploaded bytes for the virus scan of the file open as `handle` (uploads only, when
    /// a scanner is configured); sent before the bytes go to the target.
    ScanFeed {
        /// The target's handle of the file.
        handle: Bytes,
        /// The bytes, in order.
        data: Bytes,
    },
    /// The engineer closes a scanned upload: get the scan's verdict, then forward `close`
    /// if clean, or forward it and call [`SftpInspector::quarantine`] if not.
    ScanVerdict {
        /// The target's handle of the file.
        handle: Bytes,
        /// The `CLOSE` request, held back.
        close: Bytes,
        /// Its request ID.
        id: u32,
    },
}

/// A change to the target's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The operation: `remove`, `rename`, `mkdir`, `rmdir`, `setstat`, `symlink`, `link`.
    pub op: &'static str,
    /// The path it applies to.
    pub path: String,
    /// The new path, for renames and links.
    pub to: Option<String>,
    /// Why it was refused, if it was.
    pub refused: Option<TransferRefusal>,
}

/// One SFTP channel's inspector.
#[derive(Debug)]
pub struct SftpInspector {
    allow: Allowances,
    from_engineer: Framer,
    from_target: Framer,
    /// Requests the target has yet to answer, by request ID, when their answer matters.
    pending: HashMap<u32, Pending>,
    /// Open files, by the target's handle.
    files: HashMap<Bytes, OpenFile>,
    /// Uploads are scanned for viruses (a clamd is configured).
    scanning: bool,
    /// The next request ID for requests the inspector sends itself (counting down from the
    /// top, far from a client's IDs, which count up from 0).
    next_own_id: u32,
}

/// What becomes of one request.
enum Verdict {
    /// It goes to the target.
    Forward,
    /// It is refused: the engineer is told why.
    Refuse(TransferRefusal),
    /// The inspector answered it already.
    Answered,
}

impl From<Result<(), TransferRefusal>> for Verdict {
    fn from(r: Result<(), TransferRefusal>) -> Self {
        match r {
            Ok(()) => Verdict::Forward,
            Err(refusal) => Verdict::Refuse(refusal),
        }
    }
}

#[derive(Debug)]
enum Pending {
    Open(OpenRequest),
    Read {
        handle: Bytes,
        offset: u64,
    },
    Close {
        handle: Bytes,
    },
    Change(FileChange),
    /// A request the inspector sent itself: its reply is not the engineer's.
    Own,
}

/// What becomes of one reply from the target.
enum Reply {
    Forward,
    Swallow,
}

#[derive(Debug)]
struct OpenRequest {
    path: String,
    direction: Direction,
    /// Opened for appending: the file's beginning is not what this upload writes.
    append: bool,
}

#[derive(Debug)]
struct OpenFile {
    path: String,
    direction: Direction,
    /// Digest of the bytes in order; `None` once they came out of order.
    hasher: Option<TransferHasher>,
    /// Highest offset reached.
    size: u64,
    /// Uploads: the file's first bytes as written so far.
    head: Vec<u8>,
    /// Uploads: the first bytes can't be seen (appending, or a write past them first).
    unseen: bool,
    /// Uploads that started as a ZIP: looking for a macro part in OOXML/ODF documents.
    macro_scan: Option<MacroScan>,
    /// Why the rest of this file is refused, once it is.
    refused: Option<TransferRefusal>,
    /// What the virus scan said, when it refused the file (the signature, or the error).
    scan_note: Option<String>,
}

impl SftpInspector {
    /// An inspector for a channel whose plan allows `allow`; `scanning` when uploads go
    /// through the virus scanner.
    pub fn new(allow: Allowances, scanning: bool) -> Self {
        Self {
            allow,
            from_engineer: Framer::new(),
            from_target: Framer::new(),
            pending: HashMap::new(),
            files: HashMap::new(),
            scanning,
            next_own_id: u32::MAX,
        }
    }

    /// The scan refused the upload open as `handle`, whose `CLOSE` the bridge forwards
    /// now: the file is removed from the target right after, the
    /// engineer's `CLOSE` is answered with the refusal, and the file is on record as
    /// refused with `note` (the signature found, or why there is no verdict).
    pub fn quarantine(&mut self, handle: &Bytes, note: String) -> Vec<Action> {
        let Some(file) = self.files.get_mut(handle) else {
            return Vec::new();
        };
        file.refused = Some(TransferRefusal::ScanFailed);
        file.scan_note = Some(note);
        let path = file.path.clone();
        let id = self.next_own_id;
        self.next_own_id = self.next_own_id.wrapping_sub(1);
        self.pending.insert(id, Pending::Own);
        // The engineer's CLOSE is pending already; its reply is replaced (see `reply`).
        vec![Action::ToTarget(path_request(kind::REMOVE, id, &path))]
    }

    /// Bytes the engineer sent.
    pub fn from_engineer(&mut self, data: &[u8]) -> Result<Vec<Action>, WireError> {
        self.from_engineer.push(data);
        let mut actions = Vec::new();
        while let Some(packet) = self.from_engineer.next_packet()? {
            self.request(packet, &mut actions)?;
        }
        Ok(actions)
    }

    /// Bytes the target sent.
    pub fn from_target(&mut self, data: &[u8]) -> Result<Vec<Action>, WireError> {
        self.from_target.push(data);
        let mut actions = Vec::new();
        while let Some(packet) = self.from_target.next_packet()? {
            match self.reply(&packet, &mut actions)? {
                Reply::Forward => actions.push(Action::ToEngineer(packet)),
                Reply::Swallow => {}
            }
        }
        Ok(actions)
    }

    /// The channel ended: files still open are put on record as aborted.
    pub fn finish(&mut self) -> Vec<Action> {
        let mut files: Vec<OpenFile> = self.files.drain().map(|(_, f)| f).collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files
            .into_iter()
            .map(|f| Action::Transfer(f.record(false)))
            .collect()
    }

    fn request(&mut self, packet: Bytes, actions: &mut Vec<Action>) -> Result<(), WireError> {
        let mut f = Fields::of(&packet)?;
        let op = f.kind();
        if op == kind::INIT {
            actions.push(Action::ToTarget(packet));
            return Ok(());
        }
        let id = f.u32()?;
        let verdict: Verdict = match op {
            kind::OPEN => self.open(id, &mut f, actions)?.into(),
            kind::CLOSE => {
                let handle = Bytes::copy_from_slice(f.string()?);
                let Some(file) = self.files.get(&handle) else {
                    actions.push(Action::ToTarget(packet));
                    return Ok(());
                };
                let scanned =
                    self.scanning && file.direction == Direction::Upload && file.refused.is_none();
                self.pending.insert(
                    id,
                    Pending::Close {
                        handle: handle.clone(),
                    },
                );
                if scanned {
                    actions.push(Action::ScanVerdict {
                        handle,
                        close: packet,
                        id,
                    });
                    return Ok(());
                }
                Verdict::Forward
            }
            kind::READ => {
                let handle = Bytes::copy_from_slice(f.string()?);
                let offset = f.u64()?;
                if self
                    .files
                    .get(&handle)
                    .is_some_and(|file| file.direction == Direction::Download)
                {
                    self.pending.insert(id, Pending::Read { handle, offset });
                }
                Verdict::Forward
            }
            kind::WRITE => {
                let handle = f.string()?;
                let offset = f.u64()?;
                let data = f.string()?;
                match self.files.get_mut(handle) {
                    Some(file) => {
                        let verdict = file.write(offset, data, &self.allow);
                        if verdict.is_ok() && self.scanning {
                            actions.push(Action::ScanFeed {
                                handle: packet.slice_ref(handle),
                                data: packet.slice_ref(data),
                            });
                        }
                        verdict.into()
                    }
                    // Not a handle the target gave: it will say so itself.
                    None => Verdict::Forward,
                }
            }
            kind::FSETSTAT => transfer::change_allowed(&self.allow).into(),
            kind::SETSTAT | kind::REMOVE | kind::MKDIR | kind::RMDIR => {
                let path = f.text()?;
                let change = FileChange {
                    op: match op {
                        kind::SETSTAT => "setstat",
                        kind::REMOVE => "remove",
                        kind::MKDIR => "mkdir",
                        _ => "rmdir",
                    },
                    path,
                    to: None,
                    refused: None,
                };
                self.change(id, change, None, actions).into()
            }
            kind::RENAME => {
                let (from, to) = (f.text()?, f.text()?);
                let change = renamed("rename", from, to.clone());
                self.change(id, change, Some(&to), actions).into()
            }
            kind::SYMLINK => {
                // OpenSSH sends (target, link) in this order, against the draft.
                let (target, link) = (f.text()?, f.text()?);
                let change = FileChange {
                    op: "symlink",
                    path: link.clone(),
                    to: Some(target),
                    refused: None,
                };
                self.change(id, change, Some(&link), actions).into()
            }
            kind::EXTENDED => self.extended(id, &mut f, actions)?,
            kind::LSTAT
            | kind::FSTAT
            | kind::OPENDIR
            | kind::READDIR
            | kind::REALPATH
            | kind::STAT
            | kind::READLINK => Verdict::Forward,
            _ => {
                refuse_unsupported(id, actions);
                Verdict::Answered
            }
        };
        match verdict {
            Verdict::Forward => actions.push(Action::ToTarget(packet)),
            Verdict::Refuse(refusal) => refuse(id, refusal, actions),
            Verdict::Answered => {}
        }
        Ok(())
    }

    fn open(
        &mut self,
        id: u32,
        f: &mut Fields<'_>,
        actions: &mut Vec<Action>,
    ) -> Result<Result<(), TransferRefusal>, WireError> {
        let path = f.text()?;
        let flags = f.u32()?;
        let writes = flags & (pflags::WRITE | pflags::APPEND | pflags::CREAT | pflags::TRUNC) != 0;
        let reads = flags & pflags::READ != 0;
        let append = flags & pflags::APPEND != 0;
        let direction = if writes {
            Direction::Upload
        } else {
            Direction::Download
        };
        let verdict = (|| -> Result<(), TransferRefusal> {
            if reads {
                transfer::download_allowed(&self.allow)?;
            }
            if writes {
                transfer::upload_allowed(&self.allow, transfer::by_name(&path))?;
                if append {
                    transfer::unseen_upload_allowed(&self.allow)?;
                }
            }
            Ok(())
        })();
        match verdict {
            Ok(()) => {
                self.pending.insert(
                    id,
                    Pending::Open(OpenRequest {
                        path,
                        direction,
                        append,
                    }),
                );
            }
            Err(refusal) => actions.push(Action::Transfer(TransferRecord {
                direction: direction_of(direction),
                path,
                size: 0,
                sha256: None,
                outcome: TransferOutcome::Refused,
                reason: Some(refusal.as_str().to_owned()),
            })),
        }
        Ok(verdict)
    }

    fn extended(
        &mut self,
        id: u32,
        f: &mut Fields<'_>,
        actions: &mut Vec<Action>,
    ) -> Result<Verdict, WireError> {
        let name = f.string()?;
        Ok(match name {
            b"posix-rename@openssh.com" | b"hardlink@openssh.com" => {
                let (from, to) = (f.text()?, f.text()?);
                let op = if name == b"hardlink@openssh.com" {
                    "link"
                } else {
                    "rename"
                };
                self.change(id, renamed(op, from, to.clone()), Some(&to), actions)
            }
            b"lsetstat@openssh.com" => {
                let path = f.text()?;
                let change = FileChange {
                    op: "setstat",
                    path,
                    to: None,
                    refused: None,
                };
                self.change(id, change, None, actions)
            }
            b"fsync@openssh.com"
            | b"statvfs@openssh.com"
            | b"fstatvfs@openssh.com"
            | b"limits@openssh.com"
            | b"expand-path@openssh.com"
            | b"home-directory"
            | b"users-groups-by-id@openssh.com" => Ok(()),
            // `copy-data` and anything else: a server-side copy or an operation the
            // inspector can't judge.
            _ => {
                refuse_unsupported(id, actions);
                return Ok(Verdict::Answered);
            }
        }
        .into())
    }

    /// Judges a change to the target's files. `new_name` is a name the change gives to a
    /// file (a rename's or link's new path), whose kind must be declared like an upload's.
    fn change(
        &mut self,
        id: u32,
        mut change: FileChange,
        new_name: Option<&str>,
        actions: &mut Vec<Action>,
    ) -> Result<(), TransferRefusal> {
        let verdict = transfer::change_allowed(&self.allow).and_then(|()| match new_name {
            Some(name) => transfer::upload_allowed(&self.allow, transfer::by_name(name)),
            None => Ok(()),
        });
        match verdict {
            Ok(()) => {
                self.pending.insert(id, Pending::Change(change));
            }
            Err(refusal) => {
                change.refused = Some(refusal);
                actions.push(Action::Change(change));
            }
        }
        verdict
    }

    fn reply(&mut self, packet: &[u8], actions: &mut Vec<Action>) -> Result<Reply, WireError> {
        let mut f = Fields::of(packet)?;
        let op = f.kind();
        if op == kind::VERSION {
            let version = f.u32()?;
            return if version == 3 {
                Ok(Reply::Forward)
            } else {
                Err(WireError::Version(version))
            };
        }
        let id = f.u32()?;
        let Some(pending) = self.pending.remove(&id) else {
            return Ok(Reply::Forward);
        };
        match (pending, op) {
            (Pending::Open(request), kind::HANDLE) => {
                let handle = Bytes::copy_from_slice(f.string()?);
                self.files.insert(handle, OpenFile::new(request));
            }
            (Pending::Read { handle, offset }, kind::DATA) => {
                let data = f.string()?;
                if let Some(file) = self.files.get_mut(&handle) {
                    file.read(offset, data);
                }
            }
            (Pending::Close { handle }, kind::STATUS) => {
                let ok = f.u32()? == status::OK;
                if let Some(file) = self.files.remove(&handle) {
                    let quarantined = file.scan_note.is_some();
                    actions.push(Action::Transfer(file.record(ok)));
                    if quarantined {
                        let refusal = TransferRefusal::ScanFailed;
                        refuse(id, refusal, actions);
                        return Ok(Reply::Swallow);
                    }
                }
            }
            (Pending::Own, _) => return Ok(Reply::Swallow),
            (Pending::Change(change), kind::STATUS) if f.u32()? == status::OK => {
                actions.push(Action::Change(change));
            }
            // A failed open, the end of a file, an error: nothing to put on record.
            _ => {}
        }
        Ok(Reply::Forward)
    }
}

impl OpenFile {
    fn new(request: OpenRequest) -> Self {
        Self {
            path: request.path,
            direction: request.direction,
            hasher: Some(TransferHasher::new()),
            size: 0,
            head: Vec::new(),
            unseen: request.append,
            macro_scan: None,
            refused: None,
            scan_note: None,
        }
    }

    /// An upload's bytes: judged by the file's first bytes (R-10-6), then counted.
    fn write(
        &mut self,
        offset: u64,
        data: &[u8],
        allow: &Allowances,
    ) -> Result<(), TransferRefusal> {
        if let Some(refusal) = self.refused {
            return Err(refusal);
        }
        let verdict = self.judge(offset, data, allow);
        if let Err(refusal) = verdict {
            self.refused = Some(refusal);
            return verdict;
        }
        self.count(offset, data);
        Ok(())
    }

    fn judge(
        &mut self,
        offset: u64,
        data: &[u8],
        allow: &Allowances,
    ) -> Result<(), TransferRefusal> {
        let head_len = self.head.len() as u64;
        if !self.unseen && offset < HEAD_LEN as u64 {
            if offset > head_len {
                // A gap before the file's beginning is complete: it can't be judged.
                self.unseen = true;
            } else {
                let start = usize::try_from(offset).unwrap_or(HEAD_LEN);
                let take = data.len().min(HEAD_LEN.saturating_sub(start));
                let new = data.get(..take).unwrap_or_default();
                self.head.truncate(start);
                self.head.extend_from_slice(new);
                let kind = transfer::classify(&self.path, &self.head);
                transfer::upload_allowed(allow, kind)?;
                if self.head.starts_with(b"PK") && self.macro_scan.is_none() {
                    self.macro_scan = Some(MacroScan::new());
                }
            }
        } else if !self.unseen && head_len == 0 {
            self.unseen = true;
        }
        if self.unseen {
            transfer::unseen_upload_allowed(allow)?;
        }
        if let Some(scan) = &mut self.macro_scan
            && scan.feed(data)
        {
            transfer::upload_allowed(allow, Some(ContentKind::OfficeMacro))?;
        }
        Ok(())
    }

    /// A download's bytes, as the target sent them.
    fn read(&mut self, offset: u64, data: &[u8]) {
        self.count(offset, data);
    }

    fn count(&mut self, offset: u64, data: &[u8]) {
        if let Some(hasher) = &mut self.hasher
            && hasher.update_at(offset, data).is_err()
        {
            self.hasher = None;
        }
        let end = offset.saturating_add(data.len() as u64);
        self.size = self.size.max(end);
    }

    fn record(self, closed: bool) -> TransferRecord {
        let (size, sha256) = match self.hasher {
            Some(hasher) => {
                let (size, digest) = hasher.finish();
                (size.max(self.size), Some(digest))
            }
            None => (self.size, None),
        };
        let (outcome, reason) = match (self.refused, closed) {
            (Some(refusal), _) => (
                TransferOutcome::Refused,
                Some(match &self.scan_note {
                    Some(note) => format!("{}: {note}", refusal.as_str()),
                    None => refusal.as_str().to_owned(),
                }),
            ),
            (None, true) => (TransferOutcome::Completed, None),
            (None, false) => (TransferOutcome::Aborted, Some("not closed".to_owned())),
        };
        TransferRecord {
            direction: direction_of(self.direction),
            path: self.path,
            size,
            // A digest of part of a file would mislead; refused files keep none.
            sha256: sha256.filter(|_| outcome == TransferOutcome::Completed),
            outcome,
            reason,
        }
    }
}

fn renamed(op: &'static str, from: String, to: String) -> FileChange {
    FileChange {
        op,
        path: from,
        to: Some(to),
        refused: None,
    }
}

fn direction_of(direction: Direction) -> TransferDirection {
    match direction {
        Direction::Upload => TransferDirection::Upload,
        Direction::Download => TransferDirection::Download,
    }
}

fn refuse(id: u32, refusal: TransferRefusal, actions: &mut Vec<Action>) {
    let message = refusal.message();
    actions.push(Action::ToEngineer(status_packet(
        id,
        status::PERMISSION_DENIED,
        &message,
    )));
    actions.push(Action::Tell(format!("fumidai: {message}\n")));
}

fn refuse_unsupported(id: u32, actions: &mut Vec<Action>) {
    let message = "この操作は fumidai 経由では利用できません / this SFTP operation is not available through fumidai";
    actions.push(Action::ToEngineer(status_packet(
        id,
        status::OP_UNSUPPORTED,
        message,
    )));
    actions.push(Action::Tell(format!("fumidai: {message}\n")));
}

#[cfg(test)]
mod tests;
