//! `ssh -L` through fumidai: only to the target host itself and only when the plan allows
//! `forward` (R-13-7); bytes round-trip through the target's own sshd and every forward is
//! audited with its byte counts. In these tests the target's loopback is the test's.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fumidai_e2e::ssh::Background;
use fumidai_e2e::tools::wait_for;
use fumidai_e2e::{Engineer, Gateway, SshLogin, Sshd};

fn setup(allow: &[&str]) -> (Gateway, Engineer, Sshd) {
    let (mut gw, alice, sshd) = Gateway::with_alice_and_db01("Kaede-Hashira-7731");
    gw.plan_allowing("alice", "db01", -5, 60, Some("olga"), allow);
    gw.start();
    (gw, alice, sshd)
}

/// A TCP service "on the target": reads to EOF, answers with the same bytes, closes.
/// Listens on every local address, so only fumidai's refusal keeps other addresses
/// (`127.0.0.2`) from reaching it. Counts the connections it accepted.
struct EchoService {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl EchoService {
    fn start() -> Self {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    if stream.read_to_end(&mut got).is_ok() {
                        let _ = stream.write_all(&got);
                    }
                });
            }
        });
        Self { port, accepted }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `ssh -N -L …` for alice:db01, once every local port listens.
fn forward(gw: &Gateway, alice: &Engineer, specs: &[(u16, String)]) -> Background {
    let mut login = SshLogin::engineer(alice);
    login.user = "alice:db01".to_owned();
    let args: Vec<String> = specs
        .iter()
        .flat_map(|(local, to)| ["-L".to_owned(), format!("127.0.0.1:{local}:{to}")])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut ssh = login.spawn_background(gw, &args);
    for (local, _) in specs {
        wait_for("ssh -L listening", Duration::from_secs(30), || {
            assert!(ssh.running(), "ssh exited: {}\n{}", ssh.stderr(), gw.log());
            listening(*local).then_some(())
        });
    }
    ssh
}

/// Whether something listens on 127.0.0.1:`port`, read from `/proc/net/tcp`: a test
/// connection would itself open a forward.
fn listening(port: u16) -> bool {
    let wanted = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.get(1) == Some(&wanted.as_str()) && fields.get(3) == Some(&"0A")
        })
}

/// Sends `payload` through the local end, half-closes, and reads all that comes back.
fn exchange(local: u16, payload: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", local)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let writer = {
        let mut stream = stream.try_clone().unwrap();
        let payload = payload.to_vec();
        std::thread::spawn(move || {
            // A refused forward may close the socket under us: that's the point.
            let _ = stream.write_all(&payload);
            let _ = stream.shutdown(Shutdown::Write);
        })
    };
    let mut back = Vec::new();
    let _ = stream.read_to_end(&mut back);
    writer.join().unwrap();
    back
}

#[test]
fn a_forward_to_the_target_itself_round_trips_when_the_plan_allows_it() {
    let (gw, alice, _sshd) = setup(&["forward"]);
    let echo = EchoService::start();
    let local = free_port();
    let ssh = forward(&gw, &alice, &[(local, format!("localhost:{}", echo.port))]);
    // Larger than every window on the way: only backpressure gets it through intact.
    let payload: Vec<u8> = (0..3_000_000_u32).map(|i| (i % 251) as u8).collect();
    let back = exchange(local, &payload);
    assert!(
        back == payload,
        "{} of {} bytes came back\nssh: {}\n{}",
        back.len(),
        payload.len(),
        ssh.stderr(),
        gw.log()
    );
    let opened = gw.wait_audit("forward.opened", "db01");
    assert_eq!(opened["detail"]["host"], "localhost", "{opened}");
    assert_eq!(opened["detail"]["port"], echo.port, "{opened}");
    let closed = gw.wait_audit("forward.closed", "db01");
    assert_eq!(closed["detail"]["bytes_up"], payload.len(), "{closed}");
    assert_eq!(closed["detail"]["bytes_down"], payload.len(), "{closed}");
    assert_eq!(
        closed["detail"]["session_id"], opened["detail"]["session_id"],
        "{closed}"
    );
    assert_eq!(
        gw.audits("forward.opened", "db01").len(),
        1,
        "one forward only"
    );
    // It ran inside an admitted session, like a shell would.
    let started = gw.wait_audit_kind("session.started");
    assert_eq!(
        started["subject"], opened["detail"]["session_id"],
        "{started}"
    );
}

#[test]
fn without_forward_in_the_plan_nothing_is_forwarded() {
    let (gw, alice, _sshd) = setup(&["upload", "download"]);
    let echo = EchoService::start();
    let local = free_port();
    let ssh = forward(&gw, &alice, &[(local, format!("localhost:{}", echo.port))]);
    let back = exchange(local, b"hello");
    assert!(back.is_empty(), "{back:?}");
    let refused = gw.wait_audit("forward.refused", "db01");
    assert_eq!(
        refused["detail"]["reason"], "forward_not_allowed",
        "{refused}"
    );
    assert_eq!(echo.accepted.load(Ordering::SeqCst), 0);
    assert!(
        ssh.stderr()
            .contains("port forwarding is not allowed by the work plan"),
        "{}",
        ssh.stderr()
    );
    assert!(gw.audits("forward.opened", "db01").is_empty());
}

#[test]
fn forwards_to_another_host_or_the_targets_ssh_port_are_refused() {
    let (gw, alice, sshd) = setup(&["forward"]);
    let echo = EchoService::start();
    let (other, ssh_port, ok) = (free_port(), free_port(), free_port());
    let ssh = forward(
        &gw,
        &alice,
        &[
            (other, format!("127.0.0.2:{}", echo.port)),
            (ssh_port, format!("localhost:{}", sshd.addr.port())),
            (ok, format!("127.0.0.1:{}", echo.port)),
        ],
    );
    assert!(exchange(other, b"to another host").is_empty());
    assert!(exchange(ssh_port, b"SSH-2.0-nested\r\n").is_empty());
    assert_eq!(
        echo.accepted.load(Ordering::SeqCst),
        0,
        "nothing reached it"
    );
    let reasons: Vec<String> = wait_for("two refusals", Duration::from_secs(20), || {
        let found: Vec<String> = gw
            .audits("forward.refused", "db01")
            .iter()
            .map(|r| r["detail"]["reason"].as_str().unwrap().to_owned())
            .collect();
        (found.len() >= 2).then_some(found)
    });
    assert!(
        reasons.contains(&"forward_not_to_target".to_owned()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"forward_to_ssh_port".to_owned()),
        "{reasons:?}"
    );
    assert!(
        ssh.stderr().contains("only to the target host itself"),
        "{}",
        ssh.stderr()
    );
    // The same connection still forwards where it may.
    assert_eq!(exchange(ok, b"still fine"), b"still fine");
    assert_eq!(echo.accepted.load(Ordering::SeqCst), 1);
}

#[test]
fn remote_forwarding_stays_refused() {
    let (gw, alice, _sshd) = setup(&["forward"]);
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01".to_owned();
    let remote = format!("127.0.0.1:{}:127.0.0.1:{}", free_port(), free_port());
    let mut ssh = login.spawn_background(&gw, &["-o", "ExitOnForwardFailure=yes", "-R", &remote]);
    wait_for("ssh to give up", Duration::from_secs(30), || {
        (!ssh.running()).then_some(())
    });
    assert!(
        ssh.stderr().contains("remote port forwarding failed"),
        "{}",
        ssh.stderr()
    );
}
