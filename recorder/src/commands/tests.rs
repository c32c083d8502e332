use std::time::Duration;

use super::*;
use crate::format::asciicast::{EventCode, write_event, write_header};
use crate::test_support::header;

/// One step of a session: keys typed or text shown.
#[derive(Clone, Copy)]
enum S {
    In(&'static str),
    Out(&'static str),
    Cols(u16),
}
use S::{Cols, In, Out};

/// Events one millisecond apart.
fn events(steps: &[S]) -> Vec<Event> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| Event {
            t: Duration::from_millis(i as u64),
            kind: match *s {
                In(k) => EventKind::Input(k.into()),
                Out(o) => EventKind::Output(o.into()),
                Cols(cols) => EventKind::Resize {
                    cols,
                    rows: if cols == 0 { 0 } else { 24 },
                },
            },
        })
        .collect()
}

fn lines(steps: &[S]) -> Vec<(String, Certainty)> {
    extract(80, events(steps))
        .into_iter()
        .map(|l| (l.text, l.certainty))
        .collect()
}

/// Name, session, and the lines it holds.
type Case = (
    &'static str,
    &'static [S],
    &'static [(&'static str, Certainty)],
);

const EXACT: Certainty = Certainty::Exact;
const HISTORY: Certainty = Certainty::FromEcho(EchoReason::History);
const COMPLETION: Certainty = Certainty::FromEcho(EchoReason::Completion);

/// Sessions as bash's readline echoes them, and the lines they hold.
#[test]
fn sessions() {
    let cases: &[Case] = &[
        (
            "plain line, keys echoed one by one",
            &[
                Out("\x1b]0;root@db01: ~\x07\x1b[01;32mroot@db01\x1b[00m:~# "),
                In("l"),
                Out("l"),
                In("s -l"),
                Out("s -l"),
                In("\r"),
                Out("\r\n"),
                Out("total 0\r\nroot@db01:~# "),
            ],
            &[("ls -l", EXACT)],
        ),
        (
            "backspace (DEL and ^H)",
            &[
                Out("# "),
                In("lx"),
                Out("lx"),
                In("\x7f"),
                Out("\x08\x1b[K"),
                In("s -a\x08l"),
                Out("s -a\x08\x1b[Kl"),
                In("\r"),
                Out("\r\n"),
            ],
            &[("ls -l", EXACT)],
        ),
        (
            "Ctrl-U kills to the start",
            &[
                Out("# "),
                In("rm -rf /"),
                Out("rm -rf /"),
                In("\x15"),
                Out("\x08\x08\x08\x08\x08\x08\x08\x08\x1b[K"),
                In("pwd\r"),
                Out("pwd\r\n/root\r\n# "),
            ],
            &[("pwd", EXACT)],
        ),
        (
            "Ctrl-W kills the previous word",
            &[
                Out("# "),
                In("git status --shrot "),
                Out("git status --shrot "),
                In("\x17"),
                Out("\x08\x08\x08\x08\x08\x08\x08\x08\x1b[K"),
                In("--short\r"),
                Out("--short\r\n"),
            ],
            &[("git status --short", EXACT)],
        ),
        (
            "arrows within the line, insert in the middle",
            &[
                Out("# "),
                In("ech hi"),
                Out("ech hi"),
                In("\x1b[D\x1b[D\x1bOD"),
                Out("\x08\x08\x08"),
                In("o"),
                Out("o hi\x08\x08\x08"),
                In("\x1b[C\x1b[C\x1b[C\r"),
                Out("\x1b[C\x1b[C\x1b[C\r\n"),
            ],
            &[("echo hi", EXACT)],
        ),
        (
            "Ctrl-A, insert at the start, Ctrl-E",
            &[
                Out("# "),
                In("apt update"),
                Out("apt update"),
                In("\x01"),
                Out("\r# "),
                In("sudo "),
                Out("sudo apt update\r\x1b[7C"),
                In("\x05\r"),
                Out("\x1b[10C\r\n"),
            ],
            &[("sudo apt update", EXACT)],
        ),
        (
            "Ctrl-C abandons the line",
            &[
                Out("# "),
                In("rebot"),
                Out("rebot"),
                In("\x03"),
                Out("^C\r\n# "),
                In("uptime\r"),
                Out("uptime\r\n 10:00:00 up 3 days\r\n# "),
            ],
            &[("uptime", EXACT)],
        ),
        (
            "Up arrow recalls history: the echo gives the line",
            &[
                Out("# "),
                In("\x1b[A"),
                Out("systemctl status nginx"),
                In("\r"),
                Out("\r\n"),
                Out("active\r\n# "),
                In("ab"),
                Out("ab"),
                In("\x1b[A"),
                Out("\r# systemctl status nginx\x1b[K"),
                In("\x7f\x7f\x7f\x7f\x7f"),
                Out("\x08\x08\x08\x08\x08\x1b[K"),
                In("sshd\r"),
                Out("sshd\r\n"),
            ],
            &[
                ("systemctl status nginx", HISTORY),
                ("systemctl status sshd", HISTORY),
            ],
        ),
        (
            "Tab completes: the echo gives the line",
            &[
                Out("# "),
                In("cat /etc/host"),
                Out("cat /etc/host"),
                In("\t"),
                Out("name "),
                In("\r"),
                Out("\r\n"),
            ],
            &[("cat /etc/hostname", COMPLETION)],
        ),
        (
            "double Tab lists the candidates, then the line is redrawn",
            &[
                Out("root@db01:~# "),
                In("ls /etc/ho\t"),
                Out("ls /etc/ho\x07"),
                In("\t"),
                Out("\r\nhost.conf  hostname   hosts\r\nroot@db01:~# ls /etc/host"),
                In("s\r"),
                Out("s\r\n/etc/hosts\r\n"),
            ],
            &[("ls /etc/hosts", COMPLETION)],
        ),
        (
            "Japanese text, wide characters and a backspace over one",
            &[
                Out("# "),
                In("echo 日本語"),
                Out("echo 日本語"),
                In("\x7f"),
                Out("\x08\x08\x1b[K"),
                In("\r"),
                Out("\r\n日本\r\n# "),
            ],
            &[("echo 日本", EXACT)],
        ),
        (
            "Japanese text recalled from history",
            &[
                Out("# "),
                In("\x1b[A"),
                Out("touch 議事録.txt"),
                In("\r"),
                Out("\r\n"),
            ],
            &[("touch 議事録.txt", HISTORY)],
        ),
        (
            "bracketed paste is text",
            &[
                Out("\x1b[?2004h# "),
                In("\x1b[200~systemctl restart nginx\x1b[201~"),
                Out("\x1b[7msystemctl restart nginx\x1b[27m"),
                In("\r"),
                Out("\x1b[?2004l\r\r\n"),
            ],
            &[("systemctl restart nginx", EXACT)],
        ),
        (
            "a long line wraps on the screen",
            &[
                Cols(20),
                Out("# "),
                In("echo 0123456789abcdefghijklmnopqrstuvwxyz"),
                Out("echo 0123456789abcdefghijklmnopqrstuvwxyz"),
                In("\x7f"),
                Out("\x08\x1b[K"),
                In("\r"),
                Out("\r\n"),
            ],
            &[("echo 0123456789abcdefghijklmnopqrstuvwxy", EXACT)],
        ),
        (
            "keys typed ahead of the prompt",
            &[
                Out("# "),
                In("ls\rpwd\r"),
                Out("ls\r\n"),
                Out("a.txt\r\n# "),
                Out("pwd\r\n/root\r\n# "),
            ],
            &[("ls", EXACT), ("pwd", EXACT)],
        ),
        (
            "keys sent to a full-screen program are not commands",
            &[
                Out("# "),
                In("vi notes\r"),
                Out("vi notes\r\n\x1b[?1049h\x1b[1;1H\x1b[2J~\r\n~"),
                In("ihello\x1b:wq\r"),
                Out("\x1b[24;1H:wq\x1b[?1049l\r# "),
                In("ls\r"),
                Out("ls\r\n"),
            ],
            &[("vi notes", EXACT), ("ls", EXACT)],
        ),
        (
            "Ctrl-R searches history",
            &[
                Out("# "),
                In("\x12"),
                Out("\r(reverse-i-search)`': "),
                In("upt"),
                Out("\x08\x08\x08upt': uptime -p\x1b[8D"),
                In("\r"),
                Out("\r# uptime -p\x1b[K\r\n"),
            ],
            &[("uptime -p", Certainty::FromEcho(EchoReason::Search))],
        ),
        (
            "an escape sequence split across input events",
            &[
                Out("# "),
                In("\x1b"),
                In("[A"),
                Out("id"),
                In("\r"),
                Out("\r\n"),
            ],
            &[("id", HISTORY)],
        ),
        (
            "keys and echo disagree: the echo wins",
            &[Out("# "), In("lsx\x7f\r"), Out("lsx^?\r\n")],
            &[("lsx^?", Certainty::FromEcho(EchoReason::KeysDisagree))],
        ),
        (
            "the prompt was overwritten: where the line starts is unknown",
            &[
                Out("# "),
                In("\x1b[A"),
                Out("\r\x1b[Kuptime"),
                In("\r"),
                Out("\r\n"),
            ],
            &[(
                "uptime",
                Certainty::Uncertain(UncertainReason::PromptNotFound),
            )],
        ),
        (
            "history recalled on a screen the model cannot follow",
            &[
                Out("# "),
                In("\x1b[A"),
                Out("\x1b[5;1r\x1b[r"),
                Out("uptime"),
                In("\r"),
                Out("\r\n"),
            ],
            &[(
                "uptime",
                Certainty::Uncertain(UncertainReason::EchoDisturbed),
            )],
        ),
        (
            "empty lines are not commands",
            &[
                Out("# "),
                In("\r"),
                Out("\r\n# "),
                In("  \r"),
                Out("  \r\n# "),
            ],
            &[],
        ),
    ];
    for (name, steps, want) in cases {
        let want: Vec<(String, Certainty)> =
            want.iter().map(|(t, c)| ((*t).to_owned(), *c)).collect();
        assert_eq!(lines(steps), want, "{name}");
    }
}

const UNECHOED: Certainty = Certainty::Unechoed(None);

/// Lines typed while the terminal echoed nothing: the keys' reading, marked unechoed.
#[test]
fn unechoed_lines() {
    let cases: &[Case] = &[
        (
            "stty -echo, then a dump typed blind (bash with bracketed paste)",
            &[
                Out("\x1b[?2004hdb01# "),
                In("stty -echo\r"),
                Out("stty -echo\r\n\x1b[?2004l\r\x1b[?2004hdb01# "),
                In("pg_dump mydb > /tmp/x\r"),
                Out("\x1b[?2004l\r\r\n\x1b[?2004hdb01# "),
                In("df -h\r"),
                Out("\x1b[?2004l\r\r\nFilesystem  Size\r\n\x1b[?2004hdb01# "),
            ],
            &[
                ("stty -echo", EXACT),
                ("pg_dump mydb > /tmp/x", UNECHOED),
                ("df -h", UNECHOED),
            ],
        ),
        (
            "typed blind with corrections: the line editing is replayed",
            &[
                Out("db01# "),
                In("pg_dupm\x7f\x7fmp mydb\x17his\r"),
                Out("\r\n"),
            ],
            &[("pg_dump his", UNECHOED)],
        ),
        (
            "a history key typed blind: the keys cannot tell the whole line",
            &[
                Out("db01# "),
                In("\x1b[A\r"),
                Out("\r\n"),
                In("\x1b[A -v\r"),
                Out("\r\n"),
            ],
            &[
                ("", Certainty::Unechoed(Some(EchoReason::History))),
                (" -v", Certainty::Unechoed(Some(EchoReason::History))),
            ],
        ),
        (
            "a password at a prompt of its own line, answered on the next",
            &[Out("Password:\r\n"), In("s3cret\r"), Out("\r\nok\r\n# ")],
            &[("s3cret", UNECHOED)],
        ),
        (
            "echo turned back on: lines are exact again",
            &[
                Out("# "),
                In("stty echo\r"),
                Out("\r\n# "),
                In("id\r"),
                Out("id\r\nuid=0(root)\r\n# "),
            ],
            &[("stty echo", UNECHOED), ("id", EXACT)],
        ),
    ];
    for (name, steps, want) in cases {
        let want: Vec<(String, Certainty)> =
            want.iter().map(|(t, c)| ((*t).to_owned(), *c)).collect();
        assert_eq!(lines(steps), want, "{name}");
    }
}

/// A password typed at a `sudo` prompt comes out as the keys' reading, marked unechoed:
/// the reader decides whether to show it (the report does not, unless a rule matches).
#[test]
fn a_password_at_a_prompt_is_marked_unechoed() {
    let got = extract(
        80,
        events(&[
            Out("# "),
            In("sudo -k id\r"),
            Out("sudo -k id\r\n[sudo] password for alice: "),
            In("hunter2\r"),
            Out("\r\nuid=0(root)\r\n# "),
        ]),
    );
    assert_eq!(
        got,
        [
            CommandLine {
                t: Duration::from_millis(1),
                text: "sudo -k id".into(),
                certainty: EXACT,
            },
            CommandLine {
                t: Duration::from_millis(3),
                text: "hunter2".into(),
                certainty: UNECHOED,
            },
        ]
    );
}

/// A 0 × 0 terminal (`ssh -tt` without a local terminal): readline falls back to 80
/// columns, and so does the model, from the header and from a resize to 0 × 0.
#[test]
fn a_zero_by_zero_terminal() {
    // Readline's echo of a line longer than 80 columns: it wraps after column 80.
    let long = "echo 0123456789012345678901234567890123456789012345678901234567890123456789";
    let steps = [
        Out("db01# "),
        In("pg_dump mydb > /tmp/x\r"),
        Out("pg_dump mydb > /tmp/x\r\n\x1b[?2004l\rpg_dump: error\r\ndb01# "),
        In(long),
        Out("echo 012345678901234567890123456789012345678901234567890123456789012345678 \r9"),
        In("\r"),
        Out("\r\n0123\r\ndb01# "),
        In("stty -echo\r"),
        Out("stty -echo\r\ndb01# "),
        In("df\r"),
        Out("\r\nFilesystem\r\ndb01# "),
    ];
    let want = [
        ("pg_dump mydb > /tmp/x", EXACT),
        (long, EXACT),
        ("stty -echo", EXACT),
        ("df", UNECHOED),
    ]
    .map(|(t, c)| (t.to_owned(), c));
    let got: Vec<(String, Certainty)> = extract(0, events(&steps))
        .into_iter()
        .map(|l| (l.text, l.certainty))
        .collect();
    assert_eq!(got, want, "0 columns in the header");
    let mut resized = vec![Cols(0)];
    resized.extend(steps);
    assert_eq!(lines(&resized), want, "a resize to 0 × 0");
}

/// Editing keys alone, each line echoed as it finally looked: the keys must explain it.
#[test]
fn editing_keys() {
    let cases = [
        ("abc\x1b[D\x1b[D\x1b[3~", "ac"),
        ("abc\x01\x04", "bc"),
        ("abc\x1b[H\x1b[3~\x1b[F\x7f", "b"),
        ("abc\x1bOH\x1b[1~x\x1b[4~y\x1bOFz", "xabcyz"),
        ("one two\x17\x19\x19", "one twotwo"),
        ("one two\x01\x0b\x19\x19", "one twoone two"),
        ("a \x1b[D\x1b[C\x1b[C\x1b[Cb", "a b"),
        ("\x1b[200~a\tb\x1b[201~", "a\tb"),
        ("x\x02\x02y\x06\x06z", "yxz"),
        ("echo \u{30cf}\u{309a}", "echo \u{30cf}\u{309a}"),
    ];
    for (keys, want) in cases {
        let steps = [Out("$ "), In(keys), Out(want), In("\r"), Out("\r\n")];
        // A tab on the screen is cells, not a character: only the keys are checked there.
        let got = lines(&steps);
        if want.contains('\t') {
            assert_eq!(got.len(), 1, "{keys:?}");
            continue;
        }
        assert_eq!(got, [(want.to_owned(), EXACT)], "{keys:?}");
    }
}

#[test]
fn pasted_lines_keep_their_newlines() {
    let got = lines(&[
        Out("# "),
        In("\x1b[200~cd /tmp\rls\x1b[201~"),
        Out("cd /tmp\r\nls"),
        In("\r"),
        Out("\r\n"),
    ]);
    assert_eq!(got, [("cd /tmp\nls".to_owned(), EXACT)]);
}

#[test]
fn wide_character_cells() {
    assert_eq!(screen::char_width('a'), 1);
    assert_eq!(screen::char_width('日'), 2);
    assert_eq!(screen::char_width('ｱ'), 1);
    assert_eq!(screen::char_width('Ａ'), 2);
    assert_eq!(screen::char_width('\u{309a}'), 0);
}

/// A cast file through the reader; an exec recording yields its command.
#[test]
fn from_files() {
    let dir = tempfile::tempdir().unwrap();
    let shell = dir.path().join("shell.cast");
    let mut f = Vec::new();
    let mut h = header();
    h.fumidai.kind = SessionKind::Shell;
    write_header(&mut f, &h).unwrap();
    for (ms, code, data) in [
        (0, EventCode::Output, "# "),
        (5, EventCode::Input, "hostname\r"),
        (6, EventCode::Output, "hostname\r\ndb01\r\n# "),
    ] {
        write_event(&mut f, Duration::from_millis(ms), code, data).unwrap();
    }
    std::fs::write(&shell, &f).unwrap();
    assert_eq!(
        extract_file(&shell).unwrap(),
        [CommandLine {
            t: Duration::from_millis(5),
            text: "hostname".into(),
            certainty: EXACT,
        }]
    );

    let exec = dir.path().join("exec.cast");
    let mut h = header();
    h.fumidai.kind = SessionKind::Exec;
    h.command = Some("uname -a".into());
    let mut f = Vec::new();
    write_header(&mut f, &h).unwrap();
    std::fs::write(&exec, &f).unwrap();
    assert_eq!(
        extract_file(&exec).unwrap(),
        [CommandLine {
            t: Duration::ZERO,
            text: "uname -a".into(),
            certainty: EXACT,
        }]
    );

    assert!(extract_file(&dir.path().join("missing.cast")).is_err());
}
