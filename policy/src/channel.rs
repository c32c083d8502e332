//! What may pass through a proxied SSH channel.
//!
//! # Layout
//!
//! - here: what a channel asks to run ([`ChannelWork`]), whether the plan allows it
//!   ([`work_allowed`], [`exec_transfer_allowed`]), and why not ([`WorkRefusal`]).
//! - `exec_transfer`: which file-transfer server an exec command line starts, in any
//!   wrapping ([`exec_transfer()`]).
//! - `streams`: how much stdin, stdout, pasted input and environment a channel may carry
//!   before it counts as a transfer.

mod exec_transfer;
mod streams;

pub use exec_transfer::{ExecTransfer, exec_transfer};
pub use streams::{
    ENV_VALUE_MAX, EXEC_STDIN_UNPLANNED_MAX, EXEC_STDOUT_BULK, PASTE_BYTES_PER_SECOND,
    env_value_forwarded, paste_suspected,
};

use crate::plan::Allowances;

/// What a channel asks to run on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelWork<'a> {
    /// A login shell.
    Shell,
    /// A command line.
    Exec(&'a str),
    /// A subsystem by name.
    Subsystem(&'a str),
}

/// Why a channel's work was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkRefusal {
    /// A download (`scp -f`, SFTP) without `download` in the plan: data must not leave
    /// the hospital unless the plan says so.
    DownloadNotAllowed,
    /// An upload (`scp -t`, SFTP) without `upload` in the plan (R-10-6).
    UploadNotAllowed,
    /// SFTP with neither `upload` nor `download` in the plan: there is nothing it could do.
    /// (With either, each SFTP operation is inspected on its own.)
    SftpNotAllowed,
    /// A subsystem fumidai doesn't carry.
    UnknownSubsystem,
    /// An upload with the legacy SCP protocol (`scp -O`), whose files fumidai does not
    /// inspect: refused while the plan leaves any content kind undeclared (R-10-6). scp's
    /// default mode (SFTP) and `sftp` are inspected file by file.
    LegacyScpUpload,
    /// A command whose programs can't be told with certainty (`$X -t`, `eval`, `sh`
    /// reading its commands from input, …), while the plan allows no transfer: it could
    /// start a file-transfer server the gate would not recognise (R-10-6).
    UncertainCommand,
}

impl WorkRefusal {
    /// Stable name for the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DownloadNotAllowed => "download_not_allowed",
            Self::UploadNotAllowed => "upload_not_allowed",
            Self::SftpNotAllowed => "sftp_not_allowed",
            Self::UnknownSubsystem => "unknown_subsystem",
            Self::LegacyScpUpload => "legacy_scp_upload",
            Self::UncertainCommand => "uncertain_command",
        }
    }

    /// What the engineer reads, Japanese then English.
    pub fn message(self) -> &'static str {
        match self {
            Self::DownloadNotAllowed => {
                "作業計画でダウンロードが許可されていません。\r\nDownloads are not allowed by the work plan.\r\n"
            }
            Self::UploadNotAllowed => {
                "作業計画でアップロードが許可されていません。\r\nUploads are not allowed by the work plan.\r\n"
            }
            Self::SftpNotAllowed => {
                "作業計画でファイル転送（アップロード・ダウンロード）が許可されていません。\r\n\
                 File transfers (upload, download) are not allowed by the work plan.\r\n"
            }
            Self::UnknownSubsystem => {
                "このサブシステムは利用できません。\r\nThis subsystem is not available.\r\n"
            }
            Self::LegacyScpUpload => {
                "旧来の SCP プロトコル（scp -O、pscp -scp、WinSCP の SCP、asyncssh の scp）や rsync ではアップロードを検査できないため拒否しました。SFTP を使ってください（-O なしの scp、pscp -sftp、WinSCP の SFTP、sftp）。\r\n\
                 Uploads with the legacy SCP protocol (scp -O, pscp -scp, WinSCP's SCP, asyncssh's scp) or rsync can't be inspected and are refused; use SFTP: scp without -O, pscp -sftp, WinSCP's SFTP, or sftp.\r\n"
            }
            Self::UncertainCommand => {
                "実行されるプログラムを確実に判定できないコマンドは、ファイル転送が許可されていない作業計画では実行できません。変数・コマンド置換・eval を使わずに書いてください。\r\n\
                 A command whose programs can't be determined with certainty is refused when the work plan allows no file transfer; write it without variables, command substitution or eval.\r\n"
            }
        }
    }
}

/// Whether a channel may run `work` under a plan's allowances. Interactive shells and
/// commands are always allowed (and recorded); file transfers need the plan's say-so.
pub fn work_allowed(work: ChannelWork<'_>, allow: &Allowances) -> Result<(), WorkRefusal> {
    match work {
        ChannelWork::Shell => Ok(()),
        ChannelWork::Subsystem("sftp") if allow.upload || allow.download => Ok(()),
        ChannelWork::Subsystem("sftp") => Err(WorkRefusal::SftpNotAllowed),
        ChannelWork::Subsystem(_) => Err(WorkRefusal::UnknownSubsystem),
        ChannelWork::Exec(command) => {
            let transfer = exec_transfer(command);
            exec_transfer_allowed(allow, &transfer)?;
            // Neither protocol is inspected file by file: only a plan that declares every
            // kind lets their uploads in (R-10-6).
            let uninspected_upload = matches!(
                transfer,
                ExecTransfer::ScpSink | ExecTransfer::RsyncServer { sender: false }
            );
            if uninspected_upload && !allow.content.is_all() {
                return Err(WorkRefusal::LegacyScpUpload);
            }
            Ok(())
        }
    }
}

/// Whether the plan allows the transfer an exec command starts ([`exec_transfer()`]):
/// an upload server (`scp -t`, `rsync --server`) needs `upload`, a download server
/// (`scp -f`, `rsync --server --sender`) needs `download`, an SFTP server either (each
/// operation is then judged on its own, as for the `sftp` subsystem), and a command that
/// can't be read with certainty is refused only when the plan allows no transfer at all
/// (with one, its stdin and bulk stdout are judged and recorded as transfers).
pub fn exec_transfer_allowed(
    allow: &Allowances,
    transfer: &ExecTransfer,
) -> Result<(), WorkRefusal> {
    let any = allow.upload || allow.download;
    match transfer {
        ExecTransfer::None => Ok(()),
        ExecTransfer::ScpSink | ExecTransfer::RsyncServer { sender: false } if !allow.upload => {
            Err(WorkRefusal::UploadNotAllowed)
        }
        ExecTransfer::ScpSource { .. } | ExecTransfer::RsyncServer { sender: true }
            if !allow.download =>
        {
            Err(WorkRefusal::DownloadNotAllowed)
        }
        ExecTransfer::SftpServer if !any => Err(WorkRefusal::SftpNotAllowed),
        ExecTransfer::Uncertain if !any => Err(WorkRefusal::UncertainCommand),
        _ => Ok(()),
    }
}

/// Whether `command` is the target side of a legacy `scp -O` download (`scp -f`), in
/// any wrapping. [`exec_transfer()`] also gives the `scp -f` command alone, to name
/// the files from.
pub fn is_legacy_scp_source(command: &str) -> bool {
    matches!(exec_transfer(command), ExecTransfer::ScpSource { .. })
}

/// Whether an environment variable from the engineer's client is passed to the target.
/// Only the locale and the terminal type: anything else (`LD_PRELOAD`, `PATH`, …) could
/// change what runs on the target behind the recording's back.
pub fn env_forwarded(name: &str) -> bool {
    name == "LANG"
        || name == "TERM"
        || name
            .strip_prefix("LC_")
            .is_some_and(|rest| !rest.is_empty())
}

#[cfg(test)]
mod tests;
