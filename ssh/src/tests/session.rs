//! What a logged-in engineer gets while no target can be reached.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;

#[tokio::test]
async fn right_password_and_code_log_in_and_show_who_you_are() {
    let fx = fixture(SshSettings::default()).await;
    let slots = Arc::new(Semaphore::new(1));
    let slot = Arc::clone(&slots).try_acquire_owned().unwrap();
    let (mut handle, server) = connect(&fx, "alice", Some(slot)).await;
    assert_eq!(slots.available_permits(), 0);

    assert!(log_in(&mut handle, "alice:db01", PASSWORD, &now_code(&fx)).await);
    // The front door's slot is for connections not yet logged in.
    assert_eq!(slots.available_permits(), 1);

    // Forwarding is refused.
    assert!(
        handle
            .channel_open_direct_tcpip("db01", 22, "127.0.0.1", 40000)
            .await
            .is_err()
    );
    assert!(handle.tcpip_forward("127.0.0.1", 8080).await.is_err());

    let (out, _, status) = exec(&handle, "uname -a").await;
    assert_eq!(status, Some(1));
    for needle in [
        "alice",
        "山田 花子",
        "acme",
        "target db01 is not available",
        "接続先 db01",
    ] {
        assert!(out.contains(needle), "{needle:?} missing from {out:?}");
    }
    // The server hangs up by itself shortly after the channel closed.
    let served = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert!(served.is_ok(), "{served:?}");
}

#[tokio::test]
async fn shell_without_target_says_none_is_available() {
    let fx = fixture(SshSettings::default()).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(log_in(&mut handle, "alice", PASSWORD, &now_code(&fx)).await);
    let mut channel = handle.channel_open_session().await.unwrap();
    channel
        .request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .unwrap();
    channel.request_shell(true).await.unwrap();
    let (out, _, status) = drain(&mut channel).await;
    assert_eq!(status, Some(1));
    assert!(
        out.contains("No target is available yet")
            && out.contains("現在利用できる接続先はありません"),
        "{out}"
    );
    assert!(out.contains("\r\n"), "lines must end with CRLF on a pty");
}

#[tokio::test]
async fn sftp_subsystem_is_refused_with_a_message() {
    let fx = fixture(SshSettings::default()).await;
    let (mut handle, _server) = connect(&fx, "alice", None).await;
    assert!(log_in(&mut handle, "alice", PASSWORD, &now_code(&fx)).await);
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.request_subsystem(true, "sftp").await.unwrap();
    let (_, err, status) = drain(&mut channel).await;
    assert_eq!(status, Some(1));
    assert!(err.contains("subsystem sftp is not available"), "{err}");
}
