//! The streams of a command run without a pty (`ssh gw 'cat > /tmp/t' < elf`, `ssh gw cat
//! /srv/patients.csv`): its stdin is an upload and its bulk stdout a download (issue 11,
//! deliverable 3; R-10-6, R-10-3, §7 ②).
//!
//! - **stdin** is judged by content as it streams, like an SFTP upload, before each chunk
//!   goes on: without `upload` in the plan it may carry at most
//!   [`EXEC_STDIN_UNPLANNED_MAX`] bytes, and never a kind the plan doesn't declare. With
//!   `upload` it is recorded as a transfer (`via: exec-stdin`, size, SHA-256).
//! - **stdout** past [`EXEC_STDOUT_BULK`] is recorded as a download (`via: exec-stdout`,
//!   size, SHA-256), whatever the plan says: the report judges it against the plan.
//!
//! What a command does with its stdin (decode it, unpack it) is beyond any gateway; the
//! README's "honest limits" say so.

use policy::channel::{EXEC_STDIN_UNPLANNED_MAX, EXEC_STDOUT_BULK};
use policy::plan::Allowances;
use policy::transfer::{self, ContentJudge, Judgement, TransferRefusal};
use recorder::format::transfers::{
    TransferDirection, TransferHasher, TransferOutcome, TransferRecord,
};

/// How a stream transfer went: the record's `via` in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamVia {
    /// A non-pty command's stdin.
    ExecStdin,
    /// A non-pty command's stdout.
    ExecStdout,
    /// A paste into a terminal, beyond typing speed and size.
    PtyPaste,
}

impl StreamVia {
    /// The name in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExecStdin => "exec-stdin",
            Self::ExecStdout => "exec-stdout",
            Self::PtyPaste => "pty-paste",
        }
    }
}

/// Why a command's stdin was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdinRefused {
    /// On record: an upload refused.
    pub record: TransferRecord,
    /// For the engineer, Japanese then English.
    pub message: String,
}

/// One non-pty exec channel's streams.
#[derive(Debug)]
pub struct ExecStreams {
    command: String,
    allow: Allowances,
    stdin_judge: ContentJudge,
    stdin: TransferHasher,
    stdout: TransferHasher,
    refused: bool,
}

impl ExecStreams {
    /// The streams of `command` under a plan allowing `allow`.
    pub fn new(command: &str, allow: Allowances) -> Self {
        Self {
            command: command.to_owned(),
            allow,
            // The command line names no file the content could be judged by.
            stdin_judge: ContentJudge::new(""),
            stdin: TransferHasher::new(),
            stdout: TransferHasher::new(),
            refused: false,
        }
    }

    /// The engineer's next stdin bytes, judged before they go on: `Err` ends the channel
    /// and these bytes don't reach the target.
    pub fn stdin(&mut self, data: &[u8]) -> Result<(), StdinRefused> {
        if self.refused {
            return Err(self.refusal(StdinRefusal::AlreadyRefused));
        }
        let size = self.stdin.size().saturating_add(data.len() as u64);
        if !self.allow.upload && size > EXEC_STDIN_UNPLANNED_MAX {
            self.refused = true;
            return Err(self.refusal(StdinRefusal::OverLimit));
        }
        self.stdin_judge.feed(data);
        let so_far = Judgement {
            kinds: self.stdin_judge.kinds(),
            unreadable: false,
        };
        if let Err(refusal) = content_allowed(&self.allow, &so_far) {
            self.refused = true;
            return Err(self.refusal(StdinRefusal::Content(refusal)));
        }
        self.stdin.update(data);
        Ok(())
    }

    /// The target's next stdout bytes.
    pub fn stdout(&mut self, data: &[u8]) {
        self.stdout.update(data);
    }

    /// The channel ended: what goes on record.
    pub fn finish(&mut self) -> Vec<(TransferRecord, StreamVia)> {
        let mut records = Vec::new();
        if self.allow.upload && self.stdin.size() > 0 && !self.refused {
            let judgement = self.stdin_judge.finish();
            let (size, digest) = std::mem::take(&mut self.stdin).finish();
            let verdict = content_allowed(&self.allow, &judgement);
            records.push((
                TransferRecord {
                    direction: TransferDirection::Upload,
                    path: self.command.clone(),
                    size,
                    sha256: Some(digest),
                    // Too late to refuse: the whole stream has gone (an archive that only
                    // its end shows unreadable). On record as what it is.
                    outcome: TransferOutcome::Completed,
                    reason: verdict.err().map(|r| r.as_str().to_owned()),
                },
                StreamVia::ExecStdin,
            ));
        }
        if self.stdout.size() > EXEC_STDOUT_BULK {
            let (size, digest) = std::mem::take(&mut self.stdout).finish();
            records.push((
                TransferRecord {
                    direction: TransferDirection::Download,
                    path: self.command.clone(),
                    size,
                    sha256: Some(digest),
                    outcome: TransferOutcome::Completed,
                    reason: None,
                },
                StreamVia::ExecStdout,
            ));
        }
        records
    }

    fn refusal(&self, why: StdinRefusal) -> StdinRefused {
        let (reason, message) = match why {
            StdinRefusal::OverLimit | StdinRefusal::AlreadyRefused => (
                "stdin_over_limit".to_owned(),
                format!(
                    "作業計画にアップロードの記載がないため、コマンドの標準入力は {} KiB までです。チャネルを終了しました / stdin of a command is limited to {} KiB: the work plan allows no upload (--allow upload); the channel was closed",
                    EXEC_STDIN_UNPLANNED_MAX / 1024,
                    EXEC_STDIN_UNPLANNED_MAX / 1024
                ),
            ),
            StdinRefusal::Content(refusal) => (refusal.as_str().to_owned(), refusal.message()),
        };
        StdinRefused {
            record: TransferRecord {
                direction: TransferDirection::Upload,
                path: self.command.clone(),
                size: self.stdin.size(),
                sha256: None,
                outcome: TransferOutcome::Refused,
                reason: Some(reason),
            },
            message: format!("fumidai: {message}\r\n"),
        }
    }
}

enum StdinRefusal {
    OverLimit,
    AlreadyRefused,
    Content(TransferRefusal),
}

/// Kinds found in stdin must be declared; with `upload`, the rules of an upload apply.
fn content_allowed(allow: &Allowances, judgement: &Judgement) -> Result<(), TransferRefusal> {
    if allow.upload {
        return transfer::judged_upload_allowed(allow, judgement);
    }
    match judgement.kinds.iter().find(|k| !allow.content.contains(*k)) {
        Some(kind) => Err(TransferRefusal::ContentNotDeclared(kind)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
