//! What may pass through a proxied SSH channel.

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
                "旧来の SCP プロトコル（scp -O）ではアップロードを検査できないため拒否しました。scp を -O なしで、または sftp を使ってください。\r\n\
                 Uploads with the legacy SCP protocol (scp -O) can't be inspected and are refused; use scp without -O, or sftp.\r\n"
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
        ChannelWork::Exec(command) => match scp_direction(command) {
            Some(ScpMode::Source) if !allow.download => Err(WorkRefusal::DownloadNotAllowed),
            Some(ScpMode::Sink) if !allow.upload => Err(WorkRefusal::UploadNotAllowed),
            Some(ScpMode::Sink) if !allow.content.is_all() => Err(WorkRefusal::LegacyScpUpload),
            _ => Ok(()),
        },
    }
}

/// Whether `command` is the target side of a legacy `scp -O` download (`scp -f`).
pub fn is_legacy_scp_source(command: &str) -> bool {
    scp_direction(command) == Some(ScpMode::Source)
}

/// The legacy SCP protocol's remote side: `scp -f` sends files from the target (a
/// download), `scp -t` receives them (an upload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScpMode {
    Source,
    Sink,
}

fn scp_direction(command: &str) -> Option<ScpMode> {
    let mut words = command.split_whitespace();
    let program = words.next()?;
    if program.rsplit('/').next() != Some("scp") {
        return None;
    }
    let mut mode = None;
    for word in words.take_while(|w| w.starts_with('-')) {
        // Flags may be bundled (`-pf`); -f and -t are the remote-side modes.
        if word.contains('f') {
            mode = Some(ScpMode::Source);
        }
        if word.contains('t') {
            mode = Some(ScpMode::Sink);
        }
    }
    mode
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
mod tests {
    use super::*;

    #[test]
    fn transfers_need_the_plans_allowance() {
        let none = Allowances::default();
        let up = Allowances {
            upload: true,
            ..none
        };
        let down = Allowances {
            download: true,
            ..none
        };
        let up_anything = Allowances {
            upload: true,
            content: crate::transfer::ContentKind::ALL.into_iter().collect(),
            ..none
        };
        let both = Allowances {
            upload: true,
            download: true,
            ..none
        };
        use ChannelWork::*;
        use WorkRefusal::*;
        let table: &[(ChannelWork<'_>, &Allowances, Result<(), WorkRefusal>)] = &[
            (Shell, &none, Ok(())),
            (Exec("uname -a"), &none, Ok(())),
            (Exec("scp -f /etc/passwd"), &none, Err(DownloadNotAllowed)),
            (Exec("scp -pf /etc/passwd"), &up, Err(DownloadNotAllowed)),
            (
                Exec("/usr/bin/scp -r -f /var/log"),
                &none,
                Err(DownloadNotAllowed),
            ),
            (Exec("scp -f x"), &down, Ok(())),
            (Exec("scp -t /tmp/"), &none, Err(UploadNotAllowed)),
            (Exec("scp -t /tmp/"), &down, Err(UploadNotAllowed)),
            (Exec("scp -d -t /tmp/"), &up, Err(LegacyScpUpload)),
            (Exec("scp -d -t /tmp/"), &up_anything, Ok(())),
            (Exec("echo scp -f"), &none, Ok(())),
            (Subsystem("sftp"), &none, Err(SftpNotAllowed)),
            (Subsystem("sftp"), &up, Ok(())),
            (Subsystem("sftp"), &down, Ok(())),
            (Subsystem("sftp"), &both, Ok(())),
            (Subsystem("netconf"), &both, Err(UnknownSubsystem)),
        ];
        for (work, allow, expected) in table {
            assert_eq!(work_allowed(*work, allow), *expected, "{work:?} {allow:?}");
        }
    }

    #[test]
    fn only_locale_and_terminal_pass() {
        for (name, passes) in [
            ("LANG", true),
            ("LC_ALL", true),
            ("LC_CTYPE", true),
            ("TERM", true),
            ("LC_", false),
            ("LD_PRELOAD", false),
            ("PATH", false),
            ("lang", false),
            ("TERMINFO", false),
            ("", false),
        ] {
            assert_eq!(env_forwarded(name), passes, "{name}");
        }
    }
}
