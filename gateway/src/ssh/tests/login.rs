//! Who gets in: the right secrets from the right device, and nobody else.

use std::time::Duration;

use russh::client::KeyboardInteractiveAuthResponse;
use store::CertSerial;

use super::*;

#[tokio::test]
async fn wrong_code_is_refused() {
    let fx = fixture(SshSettings::default()).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(!log_in(&mut handle, "alice", PASSWORD, &wrong_code(&fx)).await);
    assert_eq!(last_failure_reason(&fx.store).await, "wrong_code");
    // The connection is still there for another try.
    assert!(log_in(&mut handle, "alice", PASSWORD, &now_code(&fx)).await);
}

#[tokio::test]
async fn replayed_code_is_refused() {
    let fx = fixture(SshSettings::default()).await;
    let code = now_code(&fx);
    let (mut first, _s1) = connect(&fx, "alice", None).await;
    assert!(log_in(&mut first, "alice", PASSWORD, &code).await);
    let (mut second, _s2) = connect(&fx, "alice", None).await;
    assert!(!log_in(&mut second, "alice", PASSWORD, &code).await);
    assert_eq!(last_failure_reason(&fx.store).await, "replayed_code");
}

#[tokio::test]
async fn another_engineers_device_is_refused() {
    let fx = fixture(SshSettings::default()).await;
    let (mut handle, _server) = connect(&fx, "bob", None).await;
    assert!(!log_in(&mut handle, "alice", PASSWORD, &now_code(&fx)).await);
    assert_eq!(last_failure_reason(&fx.store).await, "certificate_mismatch");
}

#[tokio::test]
async fn unknown_and_unparsable_users_are_refused_alike() {
    let fx = fixture(SshSettings::default()).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(!log_in(&mut handle, "mallory", PASSWORD, &now_code(&fx)).await);
    assert_eq!(last_failure_reason(&fx.store).await, "unknown_account");
    assert!(!log_in(&mut handle, "Alice:DB01", PASSWORD, &now_code(&fx)).await);
    assert_eq!(last_failure_reason(&fx.store).await, "unknown_account");
    // The text typed as a user name is not kept when it can't be a login.
    let tail = fx.store.audit_tail(1).await.unwrap();
    assert!(
        tail.iter().all(|r| !r.subject.contains("Alice")),
        "{tail:?}"
    );
}

#[tokio::test]
async fn attempts_are_capped_per_connection() {
    let settings = SshSettings {
        max_auth_attempts: 2,
        ..SshSettings::default()
    };
    let fx = fixture(settings).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(!log_in(&mut handle, "alice", "wrong-1", "000000").await);
    let reply = handle
        .authenticate_keyboard_interactive_start("alice", None)
        .await
        .unwrap();
    assert!(matches!(
        reply,
        KeyboardInteractiveAuthResponse::InfoRequest { .. }
    ));
    let reply = handle
        .authenticate_keyboard_interactive_respond(vec!["wrong-2".to_owned(), "000000".to_owned()])
        .await
        .unwrap();
    assert!(
        matches!(reply, KeyboardInteractiveAuthResponse::Failure { .. }),
        "{reply:?}"
    );
    // No further prompt on this connection, so not even the right secrets are considered.
    let reply = handle
        .authenticate_keyboard_interactive_start("alice", None)
        .await;
    assert!(
        !matches!(
            reply,
            Ok(KeyboardInteractiveAuthResponse::InfoRequest { .. })
        ),
        "{reply:?}"
    );
    // And russh hangs up on the next request.
    let reply = handle
        .authenticate_keyboard_interactive_start("alice", None)
        .await;
    assert!(reply.is_err(), "{reply:?}");
}

#[tokio::test]
async fn connection_not_logged_in_is_closed_after_the_grace_period() {
    let settings = SshSettings {
        auth_timeout: Duration::from_secs(60),
        ..SshSettings::default()
    };
    let fx = fixture(settings).await;
    tokio::time::pause();
    // A peer that completes nothing: it never even sends its identification line.
    let (_silent_peer, server_io) = tokio::io::duplex(64 * 1024);
    let peer = PeerContext {
        client_addr: "192.0.2.10:50124".parse().unwrap(),
        certificate: PeerIdentity {
            login: "alice".parse().unwrap(),
            serial: CertSerial::parse("01").unwrap(),
        },
        on_authenticated: None,
        store_available: true,
    };
    let started = tokio::time::Instant::now();
    let result = fx.service.serve(server_io, peer).await;
    assert!(
        matches!(result, Err(Error::LoginTimedOut(d)) if d == Duration::from_secs(60)),
        "{result:?}"
    );
    // The timer wheel has millisecond resolution.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(60) && elapsed < Duration::from_millis(60_010),
        "{elapsed:?}"
    );
}
