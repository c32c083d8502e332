//! The console's Sessions pages and playback in a real browser (issue 15 §3): a real SSH
//! session through a real `fumidai serve` (stock `ssh -tt` on a pseudo-terminal, a real
//! `bash` on the target) appears in the list; its detail shows its commands and seal; the
//! SSH playback (asciinema-player under the page's CSP) seeks to a command clicked in the
//! side list; text the engineer typed (`<script>`, OSC, bracketed paste) is never markup;
//! a tampered recording is refused for playback. Screenshots in Japanese and English under
//! `$CARGO_TARGET_DIR/console-screenshots/`.
//!
//! RDP playback is covered by the handler tests' routes and `recorder::rdp::still`'s tests
//! on synthetic recordings, not here (the xrdp harness is too heavy to add to this run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fumidai_e2e::gateway::OPERATOR_PASSWORD;
use fumidai_e2e::tools::{poll, require, wait_for};
use fumidai_e2e::webdriver::{Browser, screenshot_dir};
use fumidai_e2e::{Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";
const STEP: Duration = Duration::from_secs(30);
const PROMPT: &str = "db01# ";

fn shot(browser: &Browser, name: &str) {
    let path = screenshot_dir().join(format!("{name}.png"));
    browser.screenshot(&path);
    assert!(Path::new(&path).exists());
}

fn wait_text(browser: &Browser, needle: &str) -> String {
    poll(Duration::from_secs(20), || {
        let text = browser.text();
        text.contains(needle).then_some(text)
    })
    .unwrap_or_else(|| {
        shot(browser, "sessions-failed");
        panic!(
            "no {needle:?} on {} within 20 s; the page says:\n{}",
            browser.url(),
            browser.text()
        )
    })
}

fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_ending(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out
}

/// The player's position in seconds, as the page shows it.
fn position(browser: &Browser) -> f64 {
    browser
        .eval("return document.getElementById('position').dataset.t;")
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(-1.0)
}

#[test]
fn a_session_is_listed_played_from_a_command_and_refused_once_tampered() {
    require("bash");
    require("oathtool");
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();

    // The session: a bash of known behaviour, hostile text typed, a pause, then a marker
    // command far enough into the recording that a seek to it is seen.
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = None;
    let (mut term, _ssh_work) = login.interactive(&gw, 24, 80);
    login.answer_prompts(&mut term);
    term.expect("# ", STEP);
    term.type_text(
        "exec env -i TERM=xterm HOME=/nonexistent PS1='db01\\$ ' HISTFILE=/dev/null \
         INPUTRC=/dev/null bash --norc --noprofile\r",
    );
    term.expect(PROMPT, STEP);
    term.type_text(
        "echo '<script>window.__pwned=1</script>' $'\\e]0;owned\\a' $'\\e[200~pasted\\e[201~'\r",
    );
    term.expect("pasted", STEP);
    term.expect(PROMPT, STEP);
    // Recording time between the commands (not a wait for readiness): the seek below
    // must move the player by seconds.
    std::thread::sleep(Duration::from_secs(6));
    term.type_text("echo late-marker-77\r");
    term.expect("late-marker-77\r\n", STEP);
    term.expect(PROMPT, STEP);
    std::thread::sleep(Duration::from_secs(2));
    term.type_text("exit 0\r");
    let status = term.wait(STEP);
    assert_eq!(status.code(), Some(0), "{}", term.screen());
    gw.wait_audit_kind("recording.sealed");
    let sessions: serde_json::Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "session", "list"])).unwrap();
    let id = sessions[0]["id"].as_str().unwrap().to_owned();

    let base = format!("http://{}", gw.ui_addr.unwrap());
    let browser = Browser::start();
    browser.goto(&format!("{base}/login"));
    wait_text(&browser, "運用コンソールへのログイン");
    let code = gw.fresh_code("olga");
    browser.type_into("input[name=login]", "olga");
    browser.type_into("input[name=password]", OPERATOR_PASSWORD);
    browser.type_into("input[name=code]", &code);
    browser.click("button[type=submit].primary");
    wait_text(&browser, "承認待ちの作業計画");

    // The list: the session, its times in JST with the date.
    browser.goto(&format!("{base}/sessions"));
    let list = wait_text(&browser, "セッション一覧");
    assert!(
        browser.source().contains(&format!("data-session=\"{id}\"")),
        "{list}"
    );
    assert!(list.contains("JST") && list.contains("正常終了"), "{list}");
    shot(&browser, "21-sessions-ja");

    // The detail: verified seal, the commands.
    browser.goto(&format!("{base}/sessions/{id}"));
    let detail = wait_text(&browser, "録画と封印");
    assert!(detail.contains("封印を検証済み"), "{detail}");
    assert!(detail.contains("echo late-marker-77"), "{detail}");
    shot(&browser, "22-session-ja");
    // The shell channel's playback, as the detail links it.
    let play = browser
        .eval("return document.querySelector('#recordings a[href*=\"/play/\"]').getAttribute('href');")
        .as_str()
        .expect("a play link")
        .to_owned();

    // Playback: the player loads under the page's CSP; clicking the marker command in
    // the side list moves it there.
    browser.goto(&format!("{base}{play}"));
    wait_text(&browser, "コマンド（クリックでその時点へ）");
    wait_for("the player", Duration::from_secs(20), || {
        browser
            .eval("return !!document.querySelector('#player .ap-player, #player .ap-wrapper');")
            .as_bool()
            .filter(|loaded| *loaded)
    });
    let target: f64 = browser
        .eval(
            "var b = Array.from(document.querySelectorAll('button[data-seek]'))\
               .find(function (b) { return b.textContent.indexOf('late-marker-77') >= 0; });\
             return b ? b.dataset.seek : null;",
        )
        .as_str()
        .expect("the marker command in the side list")
        .parse()
        .unwrap();
    assert!(
        target > 5.0,
        "the marker is seconds into the recording: {target}"
    );
    browser.eval(
        "Array.from(document.querySelectorAll('button[data-seek]'))\
           .find(function (b) { return b.textContent.indexOf('late-marker-77') >= 0; }).click();",
    );
    let reached = wait_for("the seek", Duration::from_secs(20), || {
        let at = position(&browser);
        (at >= target - 0.5).then_some(at)
    });
    assert!(reached >= target - 0.5, "{reached} < {target}");
    let terminal = browser
        .eval("return document.getElementById('player').textContent;")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(terminal.contains("late-marker-77"), "{terminal}");
    // What the engineer typed reached the terminal as text, never as markup.
    assert_eq!(browser.eval("return window.__pwned === undefined;"), true);
    assert!(!browser.source().contains("<script>window.__pwned"));
    assert_eq!(
        browser.eval("return document.querySelectorAll('#player script').length;"),
        0
    );
    shot(&browser, "23-playback-ja");
    let played = gw.wait_audit("recording.played", &id);
    assert_eq!(played["actor"], "person:olga");

    // English.
    browser.click("a.lang");
    wait_text(&browser, "Commands (click to jump)");
    shot(&browser, "24-playback-en");
    browser.goto(&format!("{base}/sessions"));
    wait_text(&browser, "Maintenance sessions");
    shot(&browser, "25-sessions-en");
    browser.goto(&format!("{base}/sessions/{id}"));
    wait_text(&browser, "Recordings and seals");
    shot(&browser, "26-session-en");

    // Tampered: refused with the reason, nothing played.
    let casts = files_ending(&gw.data.join("recordings"), ".cast");
    assert_eq!(casts.len(), 1, "{casts:?}");
    let text = std::fs::read_to_string(&casts[0]).unwrap();
    std::fs::write(&casts[0], text.replace("late-marker-77", "late-marker-00")).unwrap();
    let before = gw.audits("recording.played", &id).len();
    browser.goto(&format!("{base}{play}"));
    let refused = wait_text(&browser, "not played");
    assert!(
        refused.contains("SHA-256") || refused.contains("size"),
        "{refused}"
    );
    assert_eq!(
        browser.eval("return document.getElementById('player') === null;"),
        true
    );
    shot(&browser, "27-playback-refused-en");
    browser.click("a.lang");
    wait_text(&browser, "再生しません");
    shot(&browser, "28-playback-refused-ja");
    assert_eq!(gw.audits("recording.played", &id).len(), before);
}
