//! Command extraction on a session recorded through fumidai against a real `bash`: stock
//! `ssh -tt` on a real pseudo-terminal, the engineer's typing with its corrections, a
//! line recalled with the Up arrow, one finished with Tab, one abandoned with Ctrl-C; then
//! the extractor reads the sealed `.cast` back into the command lines that ran.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fumidai_e2e::tools::require;
use fumidai_e2e::{Gateway, SshLogin};
use fumidai_recorder::commands::{Certainty, EchoReason, extract_file};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// How long a step on the terminal may take: a login includes Argon2id and the target's.
const STEP: Duration = Duration::from_secs(30);

/// The prompt of the bash the test starts (`\$` is `#` for root, so the command line
/// that sets it never shows it).
const PROMPT: &str = "db01# ";

#[test]
fn commands_typed_in_bash_are_extracted_from_the_recording() {
    require("bash");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    // The target is this machine: a directory with one file for Tab to complete.
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("fumidai-tab-target.txt"),
        "tab-content-42\n",
    )
    .unwrap();

    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _ssh_work) = login.interactive(&gw, 24, 80);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);

    // A bash of known behaviour: no rc files, inputrc or saved history, a fixed prompt.
    // The line is longer than the terminal is wide, so its echo wraps.
    let setup = format!(
        "cd {} && exec env -i TERM=xterm HOME=/nonexistent PS1='db01\\$ ' \
         HISTFILE=/dev/null INPUTRC=/dev/null bash --norc --noprofile",
        work.path().display()
    );
    term.type_text(&format!("{setup}\r"));
    term.expect(PROMPT, STEP);

    // Typos corrected with Backspace and Ctrl-W.
    term.type_text("echo helo");
    term.expect("helo", STEP);
    term.type_text("\x7f\x7f");
    term.type_text("llo wrold");
    term.expect("wrold", STEP);
    term.type_text("\x17world\r");
    term.expect("hello world\r\n", STEP);
    term.expect(PROMPT, STEP);

    // A letter inserted after moving left within the line.
    term.type_text("echo abd");
    term.expect("abd", STEP);
    term.type_text("\x1b[Dc\r");
    term.expect("abcd\r\n", STEP);
    term.expect(PROMPT, STEP);

    // The last line recalled with the Up arrow, then edited.
    term.type_text("\x1b[A");
    term.expect("echo abcd", STEP);
    term.type_text("\x7fe\r");
    term.expect("abce\r\n", STEP);
    term.expect(PROMPT, STEP);

    // A file name finished with Tab.
    term.type_text("cat fumidai-ta");
    term.expect("fumidai-ta", STEP);
    term.type_text("\t");
    term.expect("rget.txt", STEP);
    term.type_text("\r");
    term.expect("tab-content-42\r\n", STEP);
    term.expect(PROMPT, STEP);

    // A line abandoned with Ctrl-C never ran.
    term.type_text("rm -rf never-ran");
    term.expect("never-ran", STEP);
    term.type_text("\x03");
    term.expect(PROMPT, STEP);

    term.type_text("exit 0\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(0), "{}", term.screen());

    gw.wait_audit_kind("recording.sealed");
    let casts = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    let got: Vec<(String, Certainty)> = extract_file(&casts[0])
        .unwrap()
        .into_iter()
        .map(|l| (l.text, l.certainty))
        .collect();
    let want = [
        (setup.as_str(), Certainty::Exact),
        ("echo hello world", Certainty::Exact),
        ("echo abcd", Certainty::Exact),
        ("echo abce", Certainty::FromEcho(EchoReason::History)),
        (
            "cat fumidai-tab-target.txt",
            Certainty::FromEcho(EchoReason::Completion),
        ),
        ("exit 0", Certainty::Exact),
    ]
    .map(|(text, certainty)| (text.to_owned(), certainty));
    assert_eq!(
        got,
        want,
        "recording: {}",
        std::fs::read_to_string(&casts[0]).unwrap()
    );

    // The reconciliation report reads the same lines, in session time, none uncertain.
    let sessions: serde_json::Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "session", "list"])).unwrap();
    let session = &sessions[0];
    let id: uuid::Uuid = session["id"].as_str().unwrap().parse().unwrap();
    let started: chrono::DateTime<chrono::Utc> =
        session["started_at"].as_str().unwrap().parse().unwrap();
    let today = chrono::Utc::now().date_naive();
    let facts = fumidai_core::report::commands::of_session(
        &gw.data.join("recordings"),
        id,
        started,
        (started.date_naive(), today),
        &fumidai_core::report::commands::KeystrokeFilter {
            rules: fumidai_policy::risk::RuleSet::shipped(),
            expected: Vec::new(),
        },
    )
    .unwrap();
    assert_eq!(
        facts.unechoed,
        fumidai_core::report::commands::Unechoed::default()
    );
    let facts = facts.commands;
    let texts: Vec<&str> = facts.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        want.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>()
    );
    assert!(facts.iter().all(|c| !c.uncertain), "{facts:?}");
    assert!(
        facts.windows(2).all(|w| w[0].offset <= w[1].offset),
        "{facts:?}"
    );
}

/// Every file under `dir` whose name ends with `suffix`.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                found.push(p);
            }
        }
    }
    found
}
