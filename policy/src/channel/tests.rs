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

#[test]
fn exec_transfers_need_their_direction() {
    let none = Allowances::default();
    let up = Allowances {
        upload: true,
        ..none
    };
    let down = Allowances {
        download: true,
        ..none
    };
    let both = Allowances {
        upload: true,
        download: true,
        ..none
    };
    let scp_source = ExecTransfer::ScpSource {
        command: "scp -f x".to_owned(),
    };
    use ExecTransfer::*;
    use WorkRefusal::*;
    let table: &[(ExecTransfer, [Result<(), WorkRefusal>; 4])] = &[
        // none, upload, download, both
        (None, [Ok(()), Ok(()), Ok(()), Ok(())]),
        (
            ScpSink,
            [Err(UploadNotAllowed), Ok(()), Err(UploadNotAllowed), Ok(())],
        ),
        (
            RsyncServer { sender: false },
            [Err(UploadNotAllowed), Ok(()), Err(UploadNotAllowed), Ok(())],
        ),
        (
            scp_source.clone(),
            [
                Err(DownloadNotAllowed),
                Err(DownloadNotAllowed),
                Ok(()),
                Ok(()),
            ],
        ),
        (
            RsyncServer { sender: true },
            [
                Err(DownloadNotAllowed),
                Err(DownloadNotAllowed),
                Ok(()),
                Ok(()),
            ],
        ),
        (SftpServer, [Err(SftpNotAllowed), Ok(()), Ok(()), Ok(())]),
        (Uncertain, [Err(UncertainCommand), Ok(()), Ok(()), Ok(())]),
    ];
    for (transfer, expected) in table {
        for (allow, expected) in [&none, &up, &down, &both].into_iter().zip(expected) {
            assert_eq!(
                exec_transfer_allowed(allow, transfer),
                *expected,
                "{transfer:?} {allow:?}"
            );
        }
    }
}

/// Issue 11, reproduction 5: with no transfer in the plan, the wrapped forms are refused
/// like the standard ones.
#[test]
fn wrapped_exec_transfers_are_refused_without_the_plan() {
    let none = Allowances::default();
    let down = Allowances {
        download: true,
        ..none
    };
    use WorkRefusal::*;
    let table: &[(&str, &Allowances, Result<(), WorkRefusal>)] = &[
        ("exec scp -t /tmp/", &none, Err(UploadNotAllowed)),
        ("\"scp\" -t /tmp/", &none, Err(UploadNotAllowed)),
        ("sh -c 'scp -t /tmp'", &down, Err(UploadNotAllowed)),
        ("/usr/lib/openssh/sftp-server", &none, Err(SftpNotAllowed)),
        ("rsync --server . /tmp", &down, Err(UploadNotAllowed)),
        (
            "sudo scp -f /srv/patients.csv",
            &none,
            Err(DownloadNotAllowed),
        ),
        ("$X -t /tmp", &none, Err(UncertainCommand)),
        ("bash -s", &none, Err(UncertainCommand)),
        ("bash -s", &down, Ok(())),
        ("cat /srv/patients.csv", &none, Ok(())),
        ("cat > /tmp/t", &none, Ok(())),
    ];
    for (command, allow, expected) in table {
        assert_eq!(
            work_allowed(ChannelWork::Exec(command), allow),
            *expected,
            "{command:?} {allow:?}"
        );
    }
    assert!(is_legacy_scp_source("exec /usr/bin/scp -f /etc/passwd"));
    assert!(!is_legacy_scp_source("scp -t /tmp"));
}

#[test]
fn refusals_speak_both_languages() {
    use WorkRefusal::*;
    for refusal in [
        DownloadNotAllowed,
        UploadNotAllowed,
        SftpNotAllowed,
        UnknownSubsystem,
        LegacyScpUpload,
        UncertainCommand,
    ] {
        let message = refusal.message();
        let mut lines = message.lines();
        let japanese = lines.next().unwrap_or_default();
        let english = lines.next().unwrap_or_default();
        assert!(!japanese.is_ascii(), "{refusal:?}: {japanese}");
        assert!(english.is_ascii() && !english.is_empty(), "{refusal:?}");
        assert!(message.ends_with("\r\n"), "{refusal:?}");
    }
    assert_eq!(UncertainCommand.as_str(), "uncertain_command");
}
