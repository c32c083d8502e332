//! The target's replies: each must answer a pending request, and what it answers decides
//! what the engineer sees (handles, staged uploads, read-backs).

use bytes::Bytes;

use super::*;

impl SftpInspector {
    /// A reply from the target; `true` when it goes to the engineer unchanged.
    pub(super) fn reply(
        &mut self,
        packet: &[u8],
        actions: &mut Vec<Action>,
    ) -> Result<bool, Violation> {
        let mut f = Fields::of(packet)?;
        let op = f.kind();
        if op == kind::VERSION {
            let version = f.u32()?;
            if version != 3 {
                return Err(crate::proxy::sftp::wire::WireError::Version(version).into());
            }
            while !f.is_empty() {
                let (name, _data) = (f.string()?, f.string()?);
                if name == b"posix-rename@openssh.com" {
                    self.posix_rename = true;
                }
            }
            return Ok(true);
        }
        let id = f.u32()?;
        let pending = self
            .pending
            .remove(&id)
            .ok_or(Violation::UnexpectedReply(id))?;
        let op_pending = match pending {
            Pending::Own(step) => {
                self.own_reply(step, op, &mut f, actions)?;
                return Ok(false);
            }
            Pending::Engineer(op) => op,
            Pending::Held => return Err(Violation::UnexpectedReply(id)),
        };
        match (op_pending, op) {
            (Op::Open(request), kind::HANDLE) => {
                let handle = Bytes::copy_from_slice(f.string()?);
                if self.files.contains_key(&handle) || self.dirs.contains(&handle) {
                    return Err(Violation::UnexpectedReply(id));
                }
                let file = self.opened(request);
                self.files.insert(handle, file);
            }
            (Op::Open(request), kind::STATUS) => {
                let code = f.u32()?;
                let direction = if request.modifies {
                    TransferDirection::Upload
                } else {
                    TransferDirection::Download
                };
                actions.push(Action::Transfer(TransferRecord {
                    direction,
                    path: request.path,
                    size: 0,
                    sha256: None,
                    outcome: TransferOutcome::Aborted,
                    reason: Some(format!("open failed: status {code}")),
                }));
            }
            (Op::OpenDir, kind::HANDLE) => {
                let handle = Bytes::copy_from_slice(f.string()?);
                if self.files.contains_key(&handle) || !self.dirs.insert(handle) {
                    return Err(Violation::UnexpectedReply(id));
                }
            }
            (Op::Read { handle, offset }, kind::DATA) => {
                let data = f.string()?;
                if let Some(file) = self.files.get_mut(&handle) {
                    file.download.read(offset, data);
                }
            }
            (Op::Close { handle }, kind::STATUS) => {
                let ok = f.u32()? == status::OK;
                if let Some(file) = self.files.remove(&handle) {
                    actions.extend(file.download_record(ok).map(Action::Transfer));
                }
            }
            (Op::CloseDir { handle }, kind::STATUS) => {
                self.dirs.remove(&handle);
            }
            (Op::Finish, kind::STATUS) => {
                let code = f.u32()?;
                return Ok(self.upload_closed(id, code, actions));
            }
            (Op::Change(change), kind::STATUS) if f.u32()? == status::OK => {
                self.changed(&change);
                actions.push(Action::Change(change));
            }
            // A failed request, the end of a file: nothing to put on record.
            _ => {}
        }
        Ok(true)
    }

    pub(super) fn opened(&mut self, request: OpenRequest) -> OpenFile {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        OpenFile {
            serial,
            upload: request.modifies.then(|| {
                let mut upload = Upload::new(&request.path, request.exec_mode);
                upload.unseen = request.deferred;
                upload
            }),
            path: request.path,
            temp: request.temp,
            exclusive: request.exclusive,
            whole: request.whole,
            reads: request.reads,
            writes: request.writes,
            download: Counted::default(),
        }
    }

    /// A change the target made: what this channel knows of its files follows it.
    pub(super) fn changed(&mut self, change: &FileChange) {
        match (change.op, &change.to) {
            ("remove", _) => {
                self.written.remove(&change.path);
            }
            ("rename", Some(to)) => {
                if let Some(kinds) = self.written.remove(&change.path) {
                    self.written.insert(to.clone(), kinds);
                }
            }
            _ => {}
        }
    }
}
