//! The SFTP inspector: reads both directions of one SFTP channel packet by packet, asks
//! `policy::transfer` about every operation, and says what to forward, what to answer
//! itself, and what to put on record (§7 ②, R-10-6, R-10-3).
//!
//! A strict state machine without I/O: the bridge feeds it bytes and carries out the
//! [`Action`]s. It holds the peers to the protocol — a request ID is unique while its
//! request is pending, a handle is one the target gave, a reply answers a request — and
//! ends the channel on anything else ([`Violation`]), because a reply it can't attribute
//! is a file it can't account for.
//!
//! - **Direction** is what a handle can do: any handle that can read is a download (SFTP's
//!   `pflags` 0 opens for reading), any that changes the file an upload; both need both.
//! - **Uploads are staged**: an open that creates or truncates a file is sent to the target
//!   under a temporary name in the same directory (`.fumidai-…​.part`). At the engineer's
//!   `CLOSE` the file's *final* content is judged — the stream as written when every write
//!   continued the previous one, else the file read back from the target — and only an
//!   accepted file is renamed over the name the engineer gave (`upload.rs`). A refused one
//!   is removed, so a refusal leaves nothing on the target, not even a truncated file.
//! - **Changes** that give a file a kind are judged like an upload of it: an execute bit
//!   (`SETSTAT`, `FSETSTAT`, open attributes), the new name of a rename or link, a symlink's
//!   target.
//!
//! Requests the plan does not allow never reach the target: the engineer gets
//! `SSH_FX_PERMISSION_DENIED` with the reason, and the reason again on stderr (OpenSSH's
//! `sftp` prints only the status code).

mod changes;
mod file;
mod reply;
mod upload;
mod violation;

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use policy::plan::Allowances;
use policy::transfer::{self, ContentKind, ContentKinds, TransferRefusal};
use recorder::format::transfers::{TransferDirection, TransferOutcome, TransferRecord};

use self::file::{Counted, OpenFile, Upload};
use self::upload::Finishing;
pub use self::violation::Violation;
use super::wire::{Attrs, Fields, Framer, kind, pflags, status, status_packet};

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
    /// Bytes of the upload `file`, in order, for its virus scan (when a scanner is
    /// configured); sent before the bytes go on.
    ScanFeed {
        /// The upload ([`OpenFile`] serial).
        file: u64,
        /// The bytes.
        data: Bytes,
    },
    /// The bytes fed for `file` so far are not the file (it was written out of order):
    /// drop its scan; the file is read back and fed again.
    ScanReset {
        /// The upload.
        file: u64,
    },
    /// The upload `file` is complete and its content allowed: get the scan's verdict and
    /// hand it to [`SftpInspector::scanned`].
    ScanVerdict {
        /// The upload.
        file: u64,
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

/// What a channel leaves when it ends: files still open, and temporary files of staged
/// uploads that must be removed from the target by other means (the channel is gone).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leftovers {
    /// Files not closed, on record as aborted.
    pub records: Vec<TransferRecord>,
    /// Temporary files to remove.
    pub temp_files: Vec<String>,
}

/// One SFTP channel's inspector.
#[derive(Debug)]
pub struct SftpInspector {
    allow: Allowances,
    from_engineer: Framer,
    from_target: Framer,
    /// `INIT` was seen (once only).
    initialised: bool,
    /// Requests the target has yet to answer, by request ID: every one forwarded, the
    /// engineer's and the inspector's own.
    pending: HashMap<u32, Pending>,
    /// Open files, by the target's handle.
    files: HashMap<Bytes, OpenFile>,
    /// Open directories, by the target's handle.
    dirs: HashSet<Bytes>,
    /// Uploads between the engineer's `CLOSE` and its answer, by that request's ID.
    finishing: HashMap<u32, Finishing>,
    /// Uploads are scanned for viruses (a clamd is configured).
    scanning: bool,
    /// The target has OpenSSH's `posix-rename@openssh.com` (replaces atomically).
    posix_rename: bool,
    /// The next request ID for requests the inspector sends itself (counting down from the
    /// top, far from a client's IDs, which count up from 0).
    next_own_id: u32,
    /// Serial number of the next file opened.
    next_serial: u64,
    /// Makes this channel's temporary names its own.
    temp_tag: String,
    /// Kinds of the files this channel put on the target, by path (a later `chmod +x` is
    /// judged by what the file is).
    written: HashMap<String, ContentKinds>,
}

/// A request waiting for its reply.
#[derive(Debug)]
enum Pending {
    /// The engineer's, forwarded: what to do with its reply.
    Engineer(Op),
    /// The inspector's own: its reply is never the engineer's.
    Own(upload::OwnStep),
    /// The engineer's, held back until one of the inspector's own is answered: the
    /// target never saw it, so it can't answer it.
    Held,
}

/// What an engineer's forwarded request was.
#[derive(Debug)]
enum Op {
    Open(OpenRequest),
    OpenDir,
    Read {
        handle: Bytes,
        offset: u64,
    },
    Close {
        handle: Bytes,
    },
    CloseDir {
        handle: Bytes,
    },
    /// The `CLOSE` of an upload: see [`SftpInspector::finishing`].
    Finish,
    Change(FileChange),
    /// Anything else: the reply goes back unchanged.
    Plain,
}

#[derive(Debug)]
struct OpenRequest {
    path: String,
    temp: Option<String>,
    exclusive: bool,
    whole: bool,
    deferred: bool,
    reads: bool,
    writes: bool,
    modifies: bool,
    exec_mode: bool,
}

/// What becomes of one request.
enum Verdict {
    /// It goes to the target as it is.
    Forward(Op),
    /// It is refused: the engineer is told why.
    Refuse(TransferRefusal),
    /// The inspector dealt with it (answered, rewrote or held it).
    Done,
}

impl SftpInspector {
    /// An inspector for a channel whose plan allows `allow`; `scanning` when uploads go
    /// through the virus scanner.
    pub fn new(allow: Allowances, scanning: bool) -> Self {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Self {
            allow,
            from_engineer: Framer::new(),
            from_target: Framer::new(),
            initialised: false,
            pending: HashMap::new(),
            files: HashMap::new(),
            dirs: HashSet::new(),
            finishing: HashMap::new(),
            scanning,
            posix_rename: false,
            next_own_id: u32::MAX,
            next_serial: 1,
            temp_tag: tag.get(..12).unwrap_or(&tag).to_owned(),
            written: HashMap::new(),
        }
    }

    /// Bytes the engineer sent.
    pub fn from_engineer(&mut self, data: &[u8]) -> Result<Vec<Action>, Violation> {
        self.from_engineer.push(data);
        let mut actions = Vec::new();
        while let Some(packet) = self.from_engineer.next_packet()? {
            self.request(packet, &mut actions)?;
        }
        Ok(actions)
    }

    /// Bytes the target sent.
    pub fn from_target(&mut self, data: &[u8]) -> Result<Vec<Action>, Violation> {
        self.from_target.push(data);
        let mut actions = Vec::new();
        while let Some(packet) = self.from_target.next_packet()? {
            if self.reply(&packet, &mut actions)? {
                actions.push(Action::ToEngineer(packet));
            }
        }
        Ok(actions)
    }

    /// The virus scan's verdict on the upload `file` (`Err`: the signature found, or why
    /// there is no verdict): the file is accepted or refused.
    pub fn scanned(&mut self, file: u64, verdict: Result<(), String>) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(&id) = self
            .finishing
            .iter()
            .find(|(_, f)| f.file.serial == file)
            .map(|(id, _)| id)
        else {
            return actions;
        };
        let verdict = match verdict {
            Ok(()) => Ok(()),
            Err(note) => {
                if let Some(up) = self
                    .finishing
                    .get_mut(&id)
                    .and_then(|f| f.file.upload.as_mut())
                {
                    up.scan_note = Some(note);
                }
                Err(TransferRefusal::ScanFailed)
            }
        };
        self.finalize(id, verdict, &mut actions);
        actions
    }

    /// The channel ended: files still open go on record as aborted, and temporary files of
    /// uploads not accepted are to be removed.
    pub fn finish(&mut self) -> Leftovers {
        let mut leftovers = Leftovers::default();
        let mut files: Vec<OpenFile> = self.files.drain().map(|(_, f)| f).collect();
        files.extend(self.finishing.drain().map(|(_, f)| f.file));
        files.sort_by(|a, b| a.path.cmp(&b.path));
        for file in files {
            leftovers.records.extend(file.download_record(false));
            if let Some(up) = &file.upload {
                let reason = match up.refused {
                    Some(refusal) => up.refusal_reason(refusal),
                    None => "not closed".to_owned(),
                };
                let outcome = if up.refused.is_some() {
                    TransferOutcome::Refused
                } else {
                    TransferOutcome::Aborted
                };
                leftovers
                    .records
                    .push(up.record(&file.path, outcome, Some(reason), None));
            }
            leftovers.temp_files.extend(file.temp);
        }
        // Staged opens the target may have carried out after the channel's end.
        for pending in self.pending.drain().map(|(_, p)| p) {
            if let Pending::Engineer(Op::Open(request)) = pending {
                leftovers.temp_files.extend(request.temp);
            }
        }
        leftovers
    }

    fn request(&mut self, packet: Bytes, actions: &mut Vec<Action>) -> Result<(), Violation> {
        let mut f = Fields::of(&packet)?;
        let op = f.kind();
        if op == kind::INIT {
            if std::mem::replace(&mut self.initialised, true) {
                return Err(Violation::Malformed(super::wire::WireError::Truncated(op)));
            }
            actions.push(Action::ToTarget(packet));
            return Ok(());
        }
        let id = f.u32()?;
        if self.pending.contains_key(&id) {
            return Err(Violation::DuplicateRequestId(id));
        }
        let verdict = match op {
            kind::OPEN => self.open(id, &mut f, actions)?,
            kind::CLOSE => self.close(id, &mut f, &packet, actions)?,
            kind::READ => {
                let handle = self.known_file(f.string()?)?;
                let offset = f.u64()?;
                match self.files.get(&handle) {
                    Some(file) if file.reads => Verdict::Forward(Op::Read { handle, offset }),
                    _ => Verdict::Forward(Op::Plain),
                }
            }
            kind::WRITE => self.write(&mut f, &packet, actions)?,
            kind::FSTAT => {
                self.known_handle(f.string()?)?;
                Verdict::Forward(Op::Plain)
            }
            kind::READDIR => {
                let handle = f.string()?;
                if !self.dirs.contains(handle) {
                    return Err(Violation::UnknownHandle);
                }
                Verdict::Forward(Op::Plain)
            }
            kind::FSETSTAT => {
                let handle = self.known_handle(f.string()?)?;
                let attrs = f.attrs()?;
                self.fsetstat(&handle, attrs)
            }
            kind::SETSTAT => {
                let path = f.text()?;
                let attrs = f.attrs()?;
                self.setstat(id, path, attrs, &packet, actions)
            }
            kind::REMOVE | kind::MKDIR | kind::RMDIR => {
                let change = FileChange {
                    op: match op {
                        kind::REMOVE => "remove",
                        kind::MKDIR => "mkdir",
                        _ => "rmdir",
                    },
                    path: f.text()?,
                    to: None,
                    refused: None,
                };
                self.change(change, &[], actions)
            }
            kind::RENAME => {
                let (from, to) = (f.text()?, f.text()?);
                self.rename("rename", from, to, actions)
            }
            kind::SYMLINK => {
                // OpenSSH sends (target, link) in this order, against the draft. Both are
                // judged: the link's name, and the name it points to.
                let (target, link) = (f.text()?, f.text()?);
                let names = [link.clone(), target.clone()];
                let change = FileChange {
                    op: "symlink",
                    path: link,
                    to: Some(target),
                    refused: None,
                };
                self.change(change, &names, actions)
            }
            kind::EXTENDED => self.extended(id, &mut f, &packet, actions)?,
            kind::OPENDIR => Verdict::Forward(Op::OpenDir),
            kind::LSTAT | kind::REALPATH | kind::STAT | kind::READLINK => {
                Verdict::Forward(Op::Plain)
            }
            _ => {
                refuse_unsupported(id, actions);
                Verdict::Done
            }
        };
        match verdict {
            Verdict::Forward(op) => {
                self.pending.insert(id, Pending::Engineer(op));
                actions.push(Action::ToTarget(packet));
            }
            Verdict::Refuse(refusal) => refuse(id, refusal, actions),
            Verdict::Done => {}
        }
        Ok(())
    }

    fn open(
        &mut self,
        id: u32,
        f: &mut Fields<'_>,
        actions: &mut Vec<Action>,
    ) -> Result<Verdict, Violation> {
        let path = f.text()?;
        let flags = f.u32()?;
        let raw_attrs = f.rest();
        let attrs = f.attrs()?;
        let writes = flags & pflags::WRITE != 0;
        // OpenSSH opens read-only when neither READ nor WRITE is asked: such a handle reads.
        let reads = flags & pflags::READ != 0 || !writes;
        let changing =
            pflags::WRITE | pflags::APPEND | pflags::CREAT | pflags::TRUNC | pflags::EXCL;
        let modifies = flags & changing != 0;
        let exclusive = flags & (pflags::CREAT | pflags::EXCL) == pflags::CREAT | pflags::EXCL;
        // A file whose old content goes (truncated, or new) can be written elsewhere first.
        // So can one opened to be written over (`WRITE|CREAT`, as `scp` does, truncating at
        // the end with `FSETSTAT`) — provided it is then written whole from offset 0, else
        // the staged file would not be what the target's file would have become
        // (`whole`). Only a plan declaring every kind lets files change in place (append,
        // or written over part by part): their content can't be judged.
        let truncates = flags & pflags::TRUNC != 0 || exclusive;
        let written_over = flags & pflags::CREAT != 0 && !truncates;
        let staged = modifies
            && flags & pflags::APPEND == 0
            && (truncates || (written_over && !self.allow.content.is_all()));
        let whole = staged && !truncates;
        // An open that doesn't itself change the file (`WRITE` on an existing one, as
        // `READ|WRITE` does) is let through when the handle may read; writing through it
        // in place is refused at the first `WRITE` unless every kind is declared.
        let deferred = modifies
            && !staged
            && flags & (pflags::APPEND | pflags::CREAT | pflags::TRUNC) == 0
            && transfer::unseen_upload_allowed(&self.allow).is_err();
        let verdict = (|| -> Result<(), TransferRefusal> {
            if reads {
                transfer::download_allowed(&self.allow)?;
            }
            if modifies {
                transfer::upload_allowed(&self.allow, transfer::by_name(&path))?;
                if !staged && !deferred {
                    transfer::unseen_upload_allowed(&self.allow)?;
                }
            }
            Ok(())
        })();
        if let Err(refusal) = verdict {
            let direction = if modifies {
                TransferDirection::Upload
            } else {
                TransferDirection::Download
            };
            actions.push(Action::Transfer(refused_record(direction, path, refusal)));
            return Ok(Verdict::Refuse(refusal));
        }
        let temp = staged.then(|| self.temp_name(&path));
        let request = OpenRequest {
            path,
            temp: temp.clone(),
            exclusive,
            whole,
            deferred,
            reads,
            writes,
            modifies,
            exec_mode: attrs.executable(),
        };
        let Some(temp) = temp else {
            return Ok(Verdict::Forward(Op::Open(request)));
        };
        // The same access on a new file of our own name; the engineer's attributes.
        let temp_flags =
            flags & (pflags::READ | pflags::WRITE) | pflags::CREAT | pflags::EXCL | pflags::TRUNC;
        self.pending
            .insert(id, Pending::Engineer(Op::Open(request)));
        actions.push(Action::ToTarget(super::wire::own::open(
            id, &temp, temp_flags, raw_attrs,
        )));
        Ok(Verdict::Done)
    }

    fn write(
        &mut self,
        f: &mut Fields<'_>,
        packet: &Bytes,
        actions: &mut Vec<Action>,
    ) -> Result<Verdict, Violation> {
        let handle = f.string()?;
        let offset = f.u64()?;
        let data = f.string()?;
        let file = self.files.get_mut(handle).ok_or(Violation::UnknownHandle)?;
        let (serial, writes) = (file.serial, file.writes);
        let Some(upload) = file.upload.as_mut().filter(|_| writes) else {
            // Not opened for writing: the target refuses it.
            return Ok(Verdict::Forward(Op::Plain));
        };
        Ok(match upload.write(offset, data, &self.allow) {
            Ok(in_order) => {
                if in_order && self.scanning {
                    actions.push(Action::ScanFeed {
                        file: serial,
                        data: packet.slice_ref(data),
                    });
                }
                Verdict::Forward(Op::Plain)
            }
            Err(refusal) => Verdict::Refuse(refusal),
        })
    }

    fn close(
        &mut self,
        id: u32,
        f: &mut Fields<'_>,
        packet: &Bytes,
        actions: &mut Vec<Action>,
    ) -> Result<Verdict, Violation> {
        let handle = Bytes::copy_from_slice(f.string()?);
        if self.dirs.contains(&handle) {
            return Ok(Verdict::Forward(Op::CloseDir { handle }));
        }
        let is_upload = match self.files.get(&handle) {
            None => return Err(Violation::UnknownHandle),
            Some(file) => file.upload.is_some(),
        };
        if !is_upload {
            return Ok(Verdict::Forward(Op::Close { handle }));
        }
        if let Some(file) = self.files.remove(&handle) {
            self.finishing.insert(id, Finishing::new(file));
        }
        self.pending.insert(id, Pending::Engineer(Op::Finish));
        actions.push(Action::ToTarget(packet.clone()));
        Ok(Verdict::Done)
    }

    fn known_handle(&self, handle: &[u8]) -> Result<Bytes, Violation> {
        if self.files.contains_key(handle) || self.dirs.contains(handle) {
            Ok(Bytes::copy_from_slice(handle))
        } else {
            Err(Violation::UnknownHandle)
        }
    }

    fn known_file(&self, handle: &[u8]) -> Result<Bytes, Violation> {
        if self.files.contains_key(handle) {
            Ok(Bytes::copy_from_slice(handle))
        } else {
            Err(Violation::UnknownHandle)
        }
    }

    /// A request ID of the inspector's own, not pending.
    fn own_id(&mut self) -> u32 {
        loop {
            let id = self.next_own_id;
            self.next_own_id = self.next_own_id.wrapping_sub(1);
            if !self.pending.contains_key(&id) {
                return id;
            }
        }
    }

    /// Where a staged upload of `path` is written: the same directory (so the final
    /// rename stays on one file system), a hidden name no client would choose.
    fn temp_name(&mut self, path: &str) -> String {
        let dir = match path.rfind('/') {
            Some(slash) => path.get(..=slash).unwrap_or_default(),
            None => "",
        };
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        format!("{dir}.fumidai-{}-{serial}.part", self.temp_tag)
    }
}

/// Whether an execute bit may be set on a file whose content is unknown: only when it
/// could be anything that runs.
fn unknown_made_executable(allow: &Allowances) -> Result<(), TransferRefusal> {
    transfer::upload_allowed(allow, Some(ContentKind::Script))?;
    transfer::upload_allowed(allow, Some(ContentKind::Executable))
}

fn refused_record(
    direction: TransferDirection,
    path: String,
    refusal: TransferRefusal,
) -> TransferRecord {
    TransferRecord {
        direction,
        path,
        size: 0,
        sha256: None,
        outcome: TransferOutcome::Refused,
        reason: Some(refusal.as_str().to_owned()),
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
