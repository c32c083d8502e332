//! The end of an upload: from the engineer's `CLOSE` to its answer.
//!
//! 1. The `CLOSE` goes to the target (the file is complete there, under its temporary name).
//! 2. The file's final content is judged: the stream as written, when every write continued
//!    the one before; otherwise the file is read back from the target and judged as read
//!    (a head rewritten after the fact, writes out of order: what is on disk counts).
//! 3. The virus scan's verdict, when a scanner is configured ([`Action::ScanVerdict`]).
//! 4. Accepted: the temporary file is renamed over the engineer's name, and the engineer's
//!    `CLOSE` is answered with the rename's status. Refused: the temporary file is removed
//!    and the `CLOSE` is answered `PERMISSION_DENIED`. Nothing refused stays on the target.
//!
//! An upload changed in place (appending, written over without truncation: only with every
//! content kind declared) has no temporary name: a refusal by the scan removes the file.

use bytes::Bytes;
use policy::transfer::{ContentJudge, ContentKinds, TransferRefusal};
use recorder::format::transfers::{TransferHasher, TransferOutcome};

use super::super::wire::{Fields, kind, own, path_request, pflags, status, status_packet};
use super::{Action, FileChange, OpenFile, Pending, SftpInspector, Upload, Violation, refuse};

/// How much each read-back request asks for (OpenSSH's own read size).
const READ_BACK_CHUNK: u32 = 32 * 1024;

/// An upload whose `CLOSE` is being answered.
#[derive(Debug)]
pub(super) struct Finishing {
    pub file: OpenFile,
    /// The kinds its final content was judged to have.
    kinds: ContentKinds,
    /// The file read back from the target, when its writes were out of order.
    read_back: Option<ReadBack>,
}

#[derive(Debug)]
struct ReadBack {
    handle: Option<Bytes>,
    judge: ContentJudge,
    hasher: TransferHasher,
}

/// A request the inspector sent itself, and what its reply leads to.
#[derive(Debug)]
pub(super) enum OwnStep {
    /// Opening the finished upload `close_id` to read it back.
    ReadBackOpen { close_id: u32 },
    /// Reading it back at `offset`.
    ReadBackRead { close_id: u32, offset: u64 },
    /// Closing the read-back handle: nothing follows.
    ReadBackClose,
    /// Renaming the accepted upload `close_id` over its final name.
    Rename { close_id: u32 },
    /// Removing a refused file: nothing follows.
    Discard,
    /// Asking what `path` is before an execute bit is set on it (request `id`, held).
    StatBeforeChmod {
        id: u32,
        change: FileChange,
        packet: Bytes,
    },
}

impl Finishing {
    pub(super) fn new(file: OpenFile) -> Self {
        Self {
            file,
            kinds: ContentKinds::NONE,
            read_back: None,
        }
    }
}

impl SftpInspector {
    /// The target answered the `CLOSE` of upload `id` with `code`; `true` when that answer
    /// goes to the engineer unchanged (the close failed).
    pub(super) fn upload_closed(&mut self, id: u32, code: u32, actions: &mut Vec<Action>) -> bool {
        if code != status::OK {
            if let Some(finishing) = self.finishing.remove(&id) {
                self.discard(&finishing.file, actions);
                self.record_upload(
                    &finishing.file,
                    TransferOutcome::Aborted,
                    Some(format!("close failed: status {code}")),
                    None,
                    actions,
                );
            }
            return true;
        }
        let Some(finishing) = self.finishing.get_mut(&id) else {
            return true;
        };
        let Some(upload) = finishing.file.upload.as_mut() else {
            return true;
        };
        if finishing.file.temp.is_none() && !upload.written {
            // Opened to change in place, never changed: what it read is a download, a
            // write refused on the way is on record; the target's answer goes back.
            if let Some(mut finishing) = self.finishing.remove(&id) {
                let refused = finishing.file.upload.take().and_then(|u| {
                    let refusal = u.refused?;
                    Some(u.record(
                        &finishing.file.path,
                        TransferOutcome::Refused,
                        Some(u.refusal_reason(refusal)),
                        None,
                    ))
                });
                actions.extend(refused.map(Action::Transfer));
                actions.extend(finishing.file.download_record(true).map(Action::Transfer));
            }
            return true;
        }
        if let Some(refusal) = upload.refused {
            self.finalize(id, Err(refusal), actions);
            return false;
        }
        if finishing.file.whole && !upload.sequential {
            // Written over in parts: the staged file is not what the target's would be.
            self.finalize(id, Err(TransferRefusal::ContentUnseen), actions);
            return false;
        }
        if upload.sequential {
            let (exec_mode, serial) = (upload.exec_mode, finishing.file.serial);
            let (judgement, verdict) = Upload::verdict(&mut upload.judge, exec_mode, &self.allow);
            finishing.kinds = judgement.kinds;
            self.judged(id, serial, verdict, actions);
            return false;
        }
        // Written out of order: judge what the target holds.
        let path = finishing
            .file
            .temp
            .clone()
            .unwrap_or_else(|| finishing.file.path.clone());
        finishing.read_back = Some(ReadBack {
            handle: None,
            judge: ContentJudge::new(&finishing.file.path),
            hasher: TransferHasher::new(),
        });
        if self.scanning {
            actions.push(Action::ScanReset {
                file: finishing.file.serial,
            });
        }
        let own_id = self.own_id();
        self.pending
            .insert(own_id, Pending::Own(OwnStep::ReadBackOpen { close_id: id }));
        actions.push(Action::ToTarget(own::open(
            own_id,
            &path,
            pflags::READ,
            &0u32.to_be_bytes(),
        )));
        false
    }

    /// A reply to one of the inspector's own requests.
    pub(super) fn own_reply(
        &mut self,
        step: OwnStep,
        op: u8,
        f: &mut Fields<'_>,
        actions: &mut Vec<Action>,
    ) -> Result<(), Violation> {
        match step {
            OwnStep::ReadBackClose | OwnStep::Discard => {}
            OwnStep::ReadBackOpen { close_id } => {
                if op != kind::HANDLE {
                    self.finalize(close_id, Err(TransferRefusal::ContentUnseen), actions);
                    return Ok(());
                }
                let handle = Bytes::copy_from_slice(f.string()?);
                if let Some(read_back) = self.read_back_of(close_id) {
                    read_back.handle = Some(handle.clone());
                }
                self.read_next(close_id, &handle, 0, actions);
            }
            OwnStep::ReadBackRead { close_id, offset } => {
                self.read_back_reply(close_id, offset, op, f, actions)?;
            }
            OwnStep::Rename { close_id } => {
                let code = if op == kind::STATUS {
                    f.u32()?
                } else {
                    status::FAILURE
                };
                let message = if op == kind::STATUS {
                    f.text()?
                } else {
                    String::new()
                };
                self.renamed(close_id, code, &message, actions);
            }
            OwnStep::StatBeforeChmod {
                id,
                mut change,
                packet,
            } => {
                let attrs = if op == kind::ATTRS {
                    Some(f.attrs()?)
                } else {
                    None
                };
                match attrs {
                    // A directory made searchable, or a path the target can't find (its
                    // own answer follows): the change goes on.
                    Some(a) if !a.directory() => {
                        self.pending.remove(&id);
                        let refusal = super::unknown_made_executable(&self.allow)
                            .err()
                            .unwrap_or(TransferRefusal::ContentUnseen);
                        change.refused = Some(refusal);
                        actions.push(Action::Change(change));
                        refuse(id, refusal, actions);
                    }
                    _ => {
                        self.pending
                            .insert(id, Pending::Engineer(super::Op::Change(change)));
                        actions.push(Action::ToTarget(packet));
                    }
                }
            }
        }
        Ok(())
    }

    /// Holds the engineer's `SETSTAT` `id` (an execute bit on a file this channel didn't
    /// write) until the target says what the path is.
    pub(super) fn hold_for_stat(
        &mut self,
        id: u32,
        change: FileChange,
        packet: Bytes,
        actions: &mut Vec<Action>,
    ) {
        let own_id = self.own_id();
        let stat = path_request(kind::STAT, own_id, &change.path);
        self.pending.insert(
            own_id,
            Pending::Own(OwnStep::StatBeforeChmod { id, change, packet }),
        );
        // The engineer's ID stays taken (a reuse is a violation; the target can't answer
        // it) until the stat's answer releases or forwards the request: see `own_reply`.
        self.pending.insert(id, Pending::Held);
        actions.push(Action::ToTarget(stat));
    }

    /// The upload `id`'s content verdict; the scan's too when there is a scanner.
    fn judged(
        &mut self,
        id: u32,
        serial: u64,
        verdict: Result<(), TransferRefusal>,
        actions: &mut Vec<Action>,
    ) {
        if verdict.is_ok() && self.scanning {
            actions.push(Action::ScanVerdict { file: serial });
        } else {
            self.finalize(id, verdict, actions);
        }
    }

    /// The upload `id` is accepted (renamed into place) or refused (removed).
    pub(super) fn finalize(
        &mut self,
        id: u32,
        verdict: Result<(), TransferRefusal>,
        actions: &mut Vec<Action>,
    ) {
        let Some(finishing) = self.finishing.get(&id) else {
            return;
        };
        match (verdict, finishing.file.temp.clone()) {
            (Ok(()), Some(temp)) => {
                let posix = self.posix_rename && !finishing.file.exclusive;
                let to = finishing.file.path.clone();
                let own_id = self.own_id();
                self.pending
                    .insert(own_id, Pending::Own(OwnStep::Rename { close_id: id }));
                actions.push(Action::ToTarget(own::rename(own_id, &temp, &to, posix)));
            }
            (Ok(()), None) => self.renamed(id, status::OK, "", actions),
            (Err(refusal), _) => {
                let Some(mut finishing) = self.finishing.remove(&id) else {
                    return;
                };
                self.discard(&finishing.file, actions);
                if let Some(upload) = finishing.file.upload.as_mut() {
                    upload.refused = Some(refusal);
                }
                let reason = finishing
                    .file
                    .upload
                    .as_ref()
                    .map(|u| u.refusal_reason(refusal));
                self.record_upload(
                    &finishing.file,
                    TransferOutcome::Refused,
                    reason,
                    None,
                    actions,
                );
                refuse(id, refusal, actions);
            }
        }
    }

    /// The accepted upload `id` is in place (`code` OK) or could not be put there.
    fn renamed(&mut self, id: u32, code: u32, message: &str, actions: &mut Vec<Action>) {
        let Some(finishing) = self.finishing.remove(&id) else {
            return;
        };
        let digest = match finishing.read_back {
            Some(read_back) => Some(read_back.hasher),
            None => finishing.file.upload.as_ref().map(|u| u.hasher.clone()),
        };
        if code == status::OK {
            self.written
                .insert(finishing.file.path.clone(), finishing.kinds);
            self.record_upload(
                &finishing.file,
                TransferOutcome::Completed,
                None,
                digest,
                actions,
            );
            actions.push(Action::ToEngineer(status_packet(id, status::OK, "")));
        } else {
            self.discard(&finishing.file, actions);
            self.record_upload(
                &finishing.file,
                TransferOutcome::Aborted,
                Some(format!("rename into place failed: status {code}")),
                None,
                actions,
            );
            actions.push(Action::ToEngineer(status_packet(id, code, message)));
        }
    }

    fn read_back_reply(
        &mut self,
        close_id: u32,
        offset: u64,
        op: u8,
        f: &mut Fields<'_>,
        actions: &mut Vec<Action>,
    ) -> Result<(), Violation> {
        let (scanning, allow) = (self.scanning, self.allow);
        let Some(finishing) = self.finishing.get_mut(&close_id) else {
            return Ok(());
        };
        let serial = finishing.file.serial;
        let exec_mode = finishing.file.upload.as_ref().is_some_and(|u| u.exec_mode);
        let Some(read_back) = finishing.read_back.as_mut() else {
            return Ok(());
        };
        let Some(handle) = read_back.handle.clone() else {
            return Ok(());
        };
        let done = match op {
            kind::DATA => {
                let data = f.string()?;
                if offset != read_back.hasher.size() || data.is_empty() {
                    Some(Err(TransferRefusal::ContentUnseen))
                } else {
                    read_back.judge.feed(data);
                    read_back.hasher.update(data);
                    if scanning {
                        actions.push(Action::ScanFeed {
                            file: serial,
                            data: Bytes::copy_from_slice(data),
                        });
                    }
                    let next = offset.saturating_add(data.len() as u64);
                    self.read_next(close_id, &handle, next, actions);
                    None
                }
            }
            kind::STATUS if f.u32()? == status::EOF => {
                let (judgement, verdict) = Upload::verdict(&mut read_back.judge, exec_mode, &allow);
                finishing.kinds = judgement.kinds;
                Some(verdict)
            }
            _ => Some(Err(TransferRefusal::ContentUnseen)),
        };
        if let Some(verdict) = done {
            let own_id = self.own_id();
            self.pending
                .insert(own_id, Pending::Own(OwnStep::ReadBackClose));
            actions.push(Action::ToTarget(own::close(own_id, &handle)));
            self.judged(close_id, serial, verdict, actions);
        }
        Ok(())
    }

    fn read_next(&mut self, close_id: u32, handle: &[u8], offset: u64, actions: &mut Vec<Action>) {
        let own_id = self.own_id();
        self.pending.insert(
            own_id,
            Pending::Own(OwnStep::ReadBackRead { close_id, offset }),
        );
        actions.push(Action::ToTarget(own::read(
            own_id,
            handle,
            offset,
            READ_BACK_CHUNK,
        )));
    }

    fn read_back_of(&mut self, close_id: u32) -> Option<&mut ReadBack> {
        self.finishing
            .get_mut(&close_id)
            .and_then(|f| f.read_back.as_mut())
    }

    /// Removes what a refused or failed upload left: its temporary file, or (changed in
    /// place, refused by the scan) the file itself.
    fn discard(&mut self, file: &OpenFile, actions: &mut Vec<Action>) {
        let written = file.upload.as_ref().is_some_and(|u| u.written);
        let Some(path) = file
            .temp
            .as_deref()
            .or(written.then_some(file.path.as_str()))
        else {
            // Never changed: nothing to remove.
            return;
        };
        let own_id = self.own_id();
        self.pending.insert(own_id, Pending::Own(OwnStep::Discard));
        actions.push(Action::ToTarget(path_request(kind::REMOVE, own_id, path)));
    }

    fn record_upload(
        &self,
        file: &OpenFile,
        outcome: TransferOutcome,
        reason: Option<String>,
        digest: Option<TransferHasher>,
        actions: &mut Vec<Action>,
    ) {
        actions.extend(file.download_record(true).map(Action::Transfer));
        if let Some(upload) = &file.upload {
            actions.push(Action::Transfer(
                upload.record(&file.path, outcome, reason, digest),
            ));
        }
    }
}
