//! Requests that give a file a kind without writing it: execute bits (SETSTAT, FSETSTAT),
//! new names (RENAME, posix-rename, hardlink, symlink), judged like an upload of that kind.

use bytes::Bytes;
use policy::transfer;

use super::*;

impl SftpInspector {
    pub(super) fn fsetstat(&mut self, handle: &Bytes, attrs: Attrs) -> Verdict {
        if let Err(refusal) = transfer::change_allowed(&self.allow) {
            return Verdict::Refuse(refusal);
        }
        if !attrs.executable() || self.dirs.contains(handle) {
            return Verdict::Forward(Op::Plain);
        }
        match self.files.get_mut(handle).and_then(|f| f.upload.as_mut()) {
            // Judged with the file at its close.
            Some(upload) => {
                upload.exec_mode = true;
                Verdict::Forward(Op::Plain)
            }
            None => match unknown_made_executable(&self.allow) {
                Ok(()) => Verdict::Forward(Op::Plain),
                Err(refusal) => Verdict::Refuse(refusal),
            },
        }
    }

    pub(super) fn setstat(
        &mut self,
        id: u32,
        path: String,
        attrs: Attrs,
        packet: &Bytes,
        actions: &mut Vec<Action>,
    ) -> Verdict {
        let mut change = FileChange {
            op: "setstat",
            path,
            to: None,
            refused: None,
        };
        let verdict = transfer::change_allowed(&self.allow).and_then(|()| {
            match (attrs.executable(), self.written.get(&change.path)) {
                (false, _) => Ok(()),
                (true, Some(kinds)) => {
                    transfer::upload_allowed(&self.allow, Some(transfer::made_executable(*kinds)))
                }
                (true, None) => Err(TransferRefusal::ContentUnseen),
            }
        });
        match verdict {
            Ok(()) => Verdict::Forward(Op::Change(change)),
            // A file this channel didn't write: what it is decides (a directory may be
            // made searchable); ask the target before the change goes on.
            Err(TransferRefusal::ContentUnseen)
                if unknown_made_executable(&self.allow).is_err() =>
            {
                self.hold_for_stat(id, change, packet.clone(), actions);
                Verdict::Done
            }
            Err(TransferRefusal::ContentUnseen) => Verdict::Forward(Op::Change(change)),
            Err(refusal) => {
                change.refused = Some(refusal);
                actions.push(Action::Change(change));
                Verdict::Refuse(refusal)
            }
        }
    }

    pub(super) fn rename(
        &mut self,
        op: &'static str,
        from: String,
        to: String,
        actions: &mut Vec<Action>,
    ) -> Verdict {
        let names = [to.clone()];
        let change = FileChange {
            op,
            path: from,
            to: Some(to),
            refused: None,
        };
        self.change(change, &names, actions)
    }

    pub(super) fn extended(
        &mut self,
        id: u32,
        f: &mut Fields<'_>,
        packet: &Bytes,
        actions: &mut Vec<Action>,
    ) -> Result<Verdict, Violation> {
        let name = f.string()?;
        Ok(match name {
            b"posix-rename@openssh.com" => {
                let (from, to) = (f.text()?, f.text()?);
                self.rename("rename", from, to, actions)
            }
            b"hardlink@openssh.com" => {
                let (from, to) = (f.text()?, f.text()?);
                self.rename("link", from, to, actions)
            }
            b"lsetstat@openssh.com" => {
                let path = f.text()?;
                let attrs = f.attrs()?;
                self.setstat(id, path, attrs, packet, actions)
            }
            b"fsync@openssh.com" | b"fstatvfs@openssh.com" => {
                self.known_handle(f.string()?)?;
                Verdict::Forward(Op::Plain)
            }
            b"statvfs@openssh.com"
            | b"limits@openssh.com"
            | b"expand-path@openssh.com"
            | b"home-directory"
            | b"users-groups-by-id@openssh.com" => Verdict::Forward(Op::Plain),
            // `copy-data` and anything else: a server-side copy or an operation the
            // inspector can't judge.
            _ => {
                refuse_unsupported(id, actions);
                Verdict::Done
            }
        })
    }

    /// Judges a change to the target's files; `names` are names the change gives a file
    /// (a rename's or link's new path, a symlink's target), each judged like an upload's.
    pub(super) fn change(
        &mut self,
        mut change: FileChange,
        names: &[String],
        actions: &mut Vec<Action>,
    ) -> Verdict {
        let verdict = transfer::change_allowed(&self.allow).and_then(|()| {
            names
                .iter()
                .try_for_each(|name| transfer::upload_allowed(&self.allow, transfer::by_name(name)))
        });
        match verdict {
            Ok(()) => Verdict::Forward(Op::Change(change)),
            Err(refusal) => {
                change.refused = Some(refusal);
                actions.push(Action::Change(change));
                Verdict::Refuse(refusal)
            }
        }
    }
}
