//! One open file of an SFTP channel: where its bytes go, which way they move, and what is
//! known of them — digest, size and, for uploads, the content judged as it streams.

use policy::plan::Allowances;
use policy::transfer::{self, ContentJudge, Judgement, TransferRefusal};
use recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord,
};

/// An open file, by the target's handle.
#[derive(Debug)]
pub(super) struct OpenFile {
    /// Names the file's virus scan (handles may be reused after a close).
    pub serial: u64,
    /// The path the engineer named.
    pub path: String,
    /// Staged uploads: the temporary name the bytes are written to until the file is
    /// accepted (then renamed over `path`) or refused (then removed).
    pub temp: Option<String>,
    /// The engineer asked for `SSH_FXF_EXCL`: the final rename must not replace a file.
    pub exclusive: bool,
    /// The engineer opened the file to be written over, not truncated: the staged file
    /// stands for it only if written whole, in order from offset 0.
    pub whole: bool,
    /// The handle can read: what it reads leaves the hospital (a download).
    pub reads: bool,
    /// The handle was opened for writing (`SSH_FXF_WRITE`).
    pub writes: bool,
    /// The open changes the file (write, create, truncate, append): an upload.
    pub upload: Option<Upload>,
    /// Bytes read through the handle.
    pub download: Counted,
}

/// An upload's bytes as they stream, and the verdict on them.
#[derive(Debug)]
pub(super) struct Upload {
    /// The content judged in order, while the writes are sequential from offset 0.
    pub judge: ContentJudge,
    /// Their digest, while sequential.
    pub hasher: TransferHasher,
    /// Every write so far started where the previous one ended.
    pub sequential: bool,
    /// Highest offset written.
    pub size: u64,
    /// An execute bit was set on the file (open attributes or `FSETSTAT`): it becomes a
    /// program, judged as such at its close.
    pub exec_mode: bool,
    /// Why the file is refused, once it is.
    pub refused: Option<TransferRefusal>,
    /// Opened to be changed in place without every kind declared: any write is refused.
    pub unseen: bool,
    /// A write went on to the target.
    pub written: bool,
    /// What the virus scan said when it refused the file.
    pub scan_note: Option<String>,
}

/// Bytes passing one way, with their digest while they come in order.
#[derive(Debug, Default)]
pub(super) struct Counted {
    hasher: TransferHasher,
    /// A read came out of order: the digest would not be the file's.
    out_of_order: bool,
    /// Highest offset read.
    size: u64,
}

impl OpenFile {
    /// The records the file leaves: its download (if it read anything, or could only
    /// read) and its upload, with `outcome` for the upload.
    pub(super) fn download_record(&self, closed: bool) -> Option<TransferRecord> {
        let read_something = self.download.size > 0;
        if !self.reads || (self.upload.is_some() && !read_something) {
            return None;
        }
        Some(self.download.record(&self.path, closed))
    }
}

impl Upload {
    /// A new upload of `path`; `exec_mode` when it is created executable.
    pub(super) fn new(path: &str, exec_mode: bool) -> Self {
        Self {
            judge: ContentJudge::new(path),
            hasher: TransferHasher::new(),
            sequential: true,
            size: 0,
            exec_mode,
            refused: None,
            unseen: false,
            written: false,
            scan_note: None,
        }
    }

    /// Bytes written at `offset`. `Ok(true)` when they continue the stream in order (and
    /// go to the virus scan); `Err` when the content seen so far is refused (R-10-6).
    pub(super) fn write(
        &mut self,
        offset: u64,
        data: &[u8],
        allow: &Allowances,
    ) -> Result<bool, TransferRefusal> {
        if let Some(refusal) = self.refused {
            return Err(refusal);
        }
        if self.unseen {
            self.refused = Some(TransferRefusal::ContentUnseen);
            return Err(TransferRefusal::ContentUnseen);
        }
        let end = offset.saturating_add(data.len() as u64);
        let in_order = self.sequential && offset == self.hasher.size();
        self.size = self.size.max(end);
        if !in_order {
            // Judged on the file as it ends up, read back at its close.
            self.sequential = false;
            self.written = true;
            return Ok(false);
        }
        self.judge.feed(data);
        self.hasher.update(data);
        let so_far = Judgement {
            kinds: self.judge.kinds(),
            unreadable: false,
        };
        if let Err(refusal) = transfer::judged_upload_allowed(allow, &so_far) {
            self.refused = Some(refusal);
            return Err(refusal);
        }
        self.written = true;
        Ok(true)
    }

    /// The verdict on the whole file, as `judge` saw it (the stream, or the read-back).
    pub(super) fn verdict(
        judge: &mut ContentJudge,
        exec_mode: bool,
        allow: &Allowances,
    ) -> (Judgement, Result<(), TransferRefusal>) {
        let mut judgement = judge.finish();
        if exec_mode {
            judgement.kinds = judgement
                .kinds
                .with(transfer::made_executable(judgement.kinds));
        }
        let verdict = transfer::judged_upload_allowed(allow, &judgement);
        (judgement, verdict)
    }

    /// The upload's record with `outcome`; `digest` is the file's digest when known (the
    /// stream in order, or the read-back).
    pub(super) fn record(
        &self,
        path: &str,
        outcome: TransferOutcome,
        reason: Option<String>,
        digest: Option<TransferHasher>,
    ) -> TransferRecord {
        let (size, sha256) = match digest {
            Some(hasher) => {
                let (size, digest) = hasher.finish();
                (size, Some(digest))
            }
            None => (self.size, None),
        };
        TransferRecord {
            direction: TransferDirection::Upload,
            path: path.to_owned(),
            size,
            // A digest of part of a file would mislead: only completed files keep one.
            sha256: sha256.filter(|_| outcome == TransferOutcome::Completed),
            outcome,
            reason,
        }
    }

    /// Why the file was refused, for the record: the refusal, and what the scan said.
    pub(super) fn refusal_reason(&self, refusal: TransferRefusal) -> String {
        match &self.scan_note {
            Some(note) => format!("{}: {note}", refusal.as_str()),
            None => refusal.as_str().to_owned(),
        }
    }
}

impl Counted {
    /// Bytes read at `offset`.
    pub(super) fn read(&mut self, offset: u64, data: &[u8]) {
        self.size = self.size.max(offset.saturating_add(data.len() as u64));
        if !self.out_of_order && self.hasher.update_at(offset, data).is_err() {
            self.out_of_order = true;
        }
    }

    fn record(&self, path: &str, closed: bool) -> TransferRecord {
        let (size, digest) = self.hasher.clone().finish();
        let sha256 = (closed && !self.out_of_order).then_some(digest);
        let (outcome, reason) = if closed {
            (TransferOutcome::Completed, None)
        } else {
            (TransferOutcome::Aborted, Some("not closed".to_owned()))
        };
        TransferRecord {
            direction: TransferDirection::Download,
            path: path.to_owned(),
            size: size.max(self.size),
            sha256,
            outcome,
            reason,
        }
    }
}
