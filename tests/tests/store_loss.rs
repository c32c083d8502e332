//! Fail closed when the database is gone (DESIGN "Sessions"; R-10-3, R-17-2): no new login
//! or session gets through to a target, and a running session ends instead of going on
//! unkillable and unaudited. The gateway itself keeps running.
//!
//! "Gone" is made real for a running SQLite store: the process holds the files open, so
//! deleting or renaming them changes nothing it sees; the database, its write-ahead log and
//! its shared-memory index are overwritten in place instead, as a failing disk would.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use fumidai_e2e::tools::wait_for;
use fumidai_e2e::{Gateway, SshLogin};

const PASSWORD: &str = "Kaede-Hashira-7731";

/// Overwrites the SQLite files in place (same inode, same length) with garbage.
fn destroy_database(gw: &Gateway) {
    for name in ["fumidai.db", "fumidai.db-wal", "fumidai.db-shm"] {
        let path = gw.data.join(name);
        let Ok(len) = std::fs::metadata(&path).map(|m| m.len()) else {
            continue;
        };
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(&vec![0xa5; usize::try_from(len).unwrap()])
            .unwrap();
        f.sync_all().unwrap();
    }
}

/// The HTTP status line of `GET /healthz` on the internal side.
fn healthz(gw: &Gateway) -> String {
    let mut s = std::net::TcpStream::connect(gw.ui_addr.unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn with_the_database_gone_no_login_reaches_the_target() {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    destroy_database(&gw);

    let marker = gw.tmp.path().join("marker");
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = Some(format!("touch {}", marker.display()));
    // At OpenSSH's default log level, as an engineer runs it: the banner shows.
    login.log_level = "INFO";
    let out = login.run(&gw);
    assert!(!out.authenticated(), "{out:?}");
    // Fail closed, and the engineer is told why.
    assert!(
        out.stderr.contains("データベースに接続できません"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("the database is unreachable"),
        "{out:?}"
    );
    assert!(
        out.prompts.is_empty(),
        "asked for a password anyway: {out:?}"
    );
    assert!(!marker.exists(), "the command ran on the target: {out:?}");
    assert!(
        !sshd.log().contains("Accepted publickey"),
        "fumidai logged in to the target:\n{}",
        sshd.log()
    );
    // The gateway is still there (it answers; `/healthz` pings with `SELECT 1`, which
    // reads no page, so it doesn't notice this damage), and its log says why.
    assert!(healthz(&gw).starts_with("HTTP/1.1"), "{}", healthz(&gw));
    assert!(gw.log().contains("store"), "{}", gw.log());
    eprintln!("the engineer read: {out:?}");
}

#[test]
fn a_running_session_ends_when_the_database_is_gone() {
    let (mut gw, alice, _sshd) = Gateway::with_alice_and_db01(PASSWORD);
    gw.plan("alice", "db01", -5, 60, Some("olga"));
    gw.start();
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    login.command = Some("echo started; sleep 60; echo not-ended".to_owned());

    let (out, took) = std::thread::scope(|s| {
        let engineer = s.spawn(|| login.run(&gw));
        wait_for("a live session", Duration::from_secs(30), || {
            let live: Vec<serde_json::Value> =
                serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
            (live.len() == 1).then_some(())
        });
        let t0 = Instant::now();
        destroy_database(&gw);
        (engineer.join().unwrap(), t0.elapsed())
    });
    assert_eq!(out.stdout, "started\n", "{out:?}");
    assert!(took < Duration::from_secs(20), "ended after {took:?}");
    assert!(
        out.stderr.contains("内部エラー") && out.stderr.contains("internal error"),
        "the engineer is told, in both languages: {out:?}"
    );
    assert!(healthz(&gw).starts_with("HTTP/1.1"), "{}", healthz(&gw));
    assert!(gw.log().contains("ending the session"), "{}", gw.log());
}
