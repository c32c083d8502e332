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
    // The last allowed attempt: a round without prompts tells why, then the refusal.
    let KeyboardInteractiveAuthResponse::InfoRequest {
        instructions,
        prompts,
        ..
    } = reply
    else {
        panic!("expected the closing notice, got {reply:?}");
    };
    assert!(prompts.is_empty(), "{prompts:?}");
    assert_eq!(instructions, messages::REFUSED_LAST);
    let reply = handle
        .authenticate_keyboard_interactive_respond(vec![])
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

/// The next round's texts after one attempt with `password` and `code` on a fresh
/// connection: (instructions, prompts).
async fn told_after(fx: &Fixture, user: &str, password: &str, code: &str) -> (String, Vec<String>) {
    let (mut handle, _server) = connect(fx, "alice", None).await;
    assert!(!log_in(&mut handle, user, password, code).await);
    let reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .unwrap();
    let KeyboardInteractiveAuthResponse::InfoRequest {
        instructions,
        prompts,
        ..
    } = reply
    else {
        panic!("expected another round, got {reply:?}");
    };
    (
        instructions,
        prompts.into_iter().map(|p| p.prompt).collect(),
    )
}

#[tokio::test]
async fn every_refusal_is_told_in_the_next_round_in_the_same_words() {
    let fx = fixture(SshSettings::default()).await;
    let code = now_code(&fx);
    let (mut first, _s) = connect(&fx, "alice", None).await;
    assert!(log_in(&mut first, "alice", PASSWORD, &code).await);
    let replayed = told_after(&fx, "alice", PASSWORD, &code).await;
    assert_eq!(last_failure_reason(&fx.store).await, "replayed_code");
    let told = [
        told_after(&fx, "alice", "Wrong-Kagami-7731", &wrong_code(&fx)).await,
        told_after(&fx, "alice", PASSWORD, &wrong_code(&fx)).await,
        told_after(&fx, "mallory", PASSWORD, &now_code(&fx)).await,
        told_after(&fx, "alice", "", "").await,
    ];
    assert_eq!(last_failure_reason(&fx.store).await, "empty_answer");
    let (instructions, prompts) = &replayed;
    assert_eq!(instructions, messages::REFUSED_INSTRUCTIONS);
    assert!(prompts[0].contains("1回しか使えません"), "{prompts:?}");
    for other in &told {
        assert_eq!(other, &replayed, "refusals must read the same");
    }
    // Before any attempt, the usual words.
    let (mut fresh, _s) = connect(&fx, "alice", None).await;
    let reply = fresh
        .authenticate_keyboard_interactive_start("alice", None)
        .await
        .unwrap();
    assert!(
        matches!(&reply, KeyboardInteractiveAuthResponse::InfoRequest { instructions, .. }
            if instructions == messages::CHALLENGE_INSTRUCTIONS),
        "{reply:?}"
    );
}

#[tokio::test]
async fn empty_answers_do_not_lock_the_account() {
    let fx = fixture(SshSettings::default()).await;
    // Three connections of three empty answers each: what `scp` without a terminal sends.
    for _ in 0..3 {
        let (mut handle, _server) = connect(&fx, "alice", None).await;
        for round in 0..3 {
            let reply = handle
                .authenticate_keyboard_interactive_start("alice", None)
                .await
                .unwrap();
            assert!(
                matches!(reply, KeyboardInteractiveAuthResponse::InfoRequest { .. }),
                "round {round}: {reply:?}"
            );
            let reply = handle
                .authenticate_keyboard_interactive_respond(vec![String::new(), String::new()])
                .await
                .unwrap();
            if round == 2 {
                assert!(
                    matches!(&reply, KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } if prompts.is_empty()),
                    "{reply:?}"
                );
                let _ = handle
                    .authenticate_keyboard_interactive_respond(vec![])
                    .await;
            }
        }
    }
    let account = fx
        .store
        .account(&"alice".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.locked_until, None, "empty answers locked alice");
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(log_in(&mut handle, "alice", PASSWORD, &now_code(&fx)).await);
}

#[tokio::test]
async fn the_last_refusal_is_told_no_sooner_than_any_refusal() {
    let settings = SshSettings {
        max_auth_attempts: 1,
        ..SshSettings::default()
    };
    let fx = fixture(settings).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    let reply = handle
        .authenticate_keyboard_interactive_start("alice", None)
        .await
        .unwrap();
    assert!(matches!(
        reply,
        KeyboardInteractiveAuthResponse::InfoRequest { .. }
    ));
    // An empty answer costs no work; the notice still waits for the rejection time.
    let started = std::time::Instant::now();
    let reply = handle
        .authenticate_keyboard_interactive_respond(vec![String::new(), String::new()])
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(&reply, KeyboardInteractiveAuthResponse::InfoRequest { instructions, prompts, .. }
            if prompts.is_empty() && instructions == messages::REFUSED_LAST),
        "{reply:?}"
    );
    // Answering the notice with anything is no further attempt.
    let reply = handle
        .authenticate_keyboard_interactive_respond(vec![PASSWORD.to_owned(), now_code(&fx)])
        .await
        .unwrap();
    assert!(
        matches!(reply, KeyboardInteractiveAuthResponse::Failure { .. }),
        "{reply:?}"
    );
    let tail = fx.store.audit_tail(10).await.unwrap();
    assert!(tail.iter().all(|r| r.kind != "login.success"), "{tail:?}");
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
