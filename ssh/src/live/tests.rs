//! The registry and the watcher (`fumidai_core::live`) with [`SshConnection`], against a
//! real russh client and server over an in-memory stream: the client sees the warning and the end message on stderr, then the disconnect.
//! Time rules run on tokio's paused clock (STYLE.md §18); the kill test runs in real time
//! against a real SQLite store, since the store's I/O would let a paused clock jump.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use policy::ids::{PlanId, SessionId};
use policy::limits::{EndReason, Limits};
use russh::keys::PublicKeyOrCertificate;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, ChannelMsg, MethodKind, MethodSet, client, server};
use store::{Actor, MasterKey, NewAccount, NewSession, NewTarget, NewVendor, Store};
use tokio::sync::mpsc;
use tokio::time::Instant;

use fumidai_core::live::{Clock, LiveGuard, Registry, SessionParts, Watcher};

use super::SshConnection;

// ---- a russh server and client over an in-memory stream ----

/// Accepts anyone and hands each session channel's handle to the test.
struct TestServer {
    opened: mpsc::UnboundedSender<(server::Handle, ChannelId)>,
}

impl server::Handler for TestServer {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        let _ = self.opened.send((session.handle(), channel.id()));
        Ok(())
    }
}

struct AnyHostKey;

impl client::Handler for AnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// An engineer's connection with one open session channel.
struct Connected {
    /// Keeps the client's connection open.
    _client: client::Handle<AnyHostKey>,
    /// The client's end of the channel.
    channel: Channel<client::Msg>,
    /// The server's handle on the connection.
    handle: server::Handle,
    /// The server's ID for the channel.
    server_channel: ChannelId,
}

async fn connect() -> Connected {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let config = Arc::new(server::Config {
        methods: MethodSet::from(&[MethodKind::None][..]),
        keys: vec![crate::host_key::generate().unwrap()],
        // Only the watcher may end these sessions.
        inactivity_timeout: None,
        ..server::Config::default()
    });
    let (opened, mut opened_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let running = server::run_stream(config, server_io, TestServer { opened }).await;
        if let Ok(running) = running {
            let _ = running.await;
        }
    });
    let mut client =
        client::connect_stream(Arc::new(client::Config::default()), client_io, AnyHostKey)
            .await
            .unwrap();
    assert!(client.authenticate_none("alice").await.unwrap().success());
    let channel = client.channel_open_session().await.unwrap();
    let (handle, server_channel) = opened_rx.recv().await.unwrap();
    Connected {
        _client: client,
        channel,
        handle,
        server_channel,
    }
}

/// What the engineer's client saw until the connection closed: each stderr text with
/// the time it arrived, since `t0`.
async fn stderr_until_closed(
    channel: &mut Channel<client::Msg>,
    t0: Instant,
) -> Vec<(Duration, String)> {
    let mut seen = Vec::new();
    let read = async {
        while let Some(msg) = channel.wait().await {
            if let ChannelMsg::ExtendedData { data, ext: 1 } = msg {
                seen.push((t0.elapsed(), String::from_utf8(data.to_vec()).unwrap()));
            }
        }
    };
    // Paused, this is an hour of tokio's time, not of the test's: a session that is never
    // cut fails the test at once instead of hanging it.
    if tokio::time::timeout(Duration::from_secs(3600), read)
        .await
        .is_err()
    {
        panic!("the session was not cut within an hour: {seen:?}");
    }
    seen
}

fn base() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

/// Registers the connection's session under `id`, started now, its window ending after
/// `window`, with the connection's channel bridged.
fn register(
    registry: &Registry,
    conn: &Connected,
    id: SessionId,
    plan: PlanId,
    window: TimeDelta,
) -> LiveGuard {
    let now = registry.clock().now();
    let parts = SessionParts {
        id,
        engineer: "alice".parse().unwrap(),
        target: "db01".parse().unwrap(),
        plan,
        serial: None,
        started_at: now,
        window_ends_at: now + window,
    };
    let connection = Arc::new(SshConnection::new(id, conn.handle.clone(), None));
    connection.add_channel(conn.server_channel);
    registry.register(parts, connection)
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn limits(idle: Option<i64>, warning: Option<i64>, max: Option<i64>) -> Limits {
    Limits {
        idle_timeout: idle.map(TimeDelta::minutes),
        window_warning: warning.map(TimeDelta::minutes),
        max_length: max.map(TimeDelta::minutes),
    }
}

// ---- time rules, on a paused clock ----

#[tokio::test]
async fn an_idle_session_is_cut_after_the_idle_timeout_and_not_before() {
    let mut conn = connect().await;
    tokio::time::pause();
    let registry = Registry::new(Clock::tokio_from(base()));
    let guard = register(
        &registry,
        &conn,
        SessionId::generate(),
        PlanId::generate(),
        TimeDelta::hours(4),
    );
    let watcher =
        tokio::spawn(Watcher::new(registry.clone(), limits(Some(15), Some(5), None)).run());

    // Activity every 10 minutes keeps it alive past the idle time-out.
    let activity = guard.activity();
    for _ in 0..3 {
        tokio::time::sleep(minutes(10)).await;
        activity.touch();
        assert_eq!(guard.end_reason(), None);
    }
    let last_touch = Instant::now();
    let seen = stderr_until_closed(&mut conn.channel, last_touch).await;
    let cut_after = last_touch.elapsed();
    assert!(
        cut_after >= minutes(15) && cut_after <= minutes(15) + Duration::from_secs(2),
        "cut {cut_after:?} after the last activity"
    );
    assert_eq!(guard.end_reason(), Some(EndReason::Idle));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].1.contains("15分間操作がなかった"), "{seen:?}");
    assert!(seen[0].1.contains("idle for 15m"), "{seen:?}");
    watcher.abort();
}

#[tokio::test]
async fn the_window_end_is_warned_once_then_the_session_is_cut() {
    let mut conn = connect().await;
    tokio::time::pause();
    let registry = Registry::new(Clock::tokio_from(base()));
    let guard = register(
        &registry,
        &conn,
        SessionId::generate(),
        PlanId::generate(),
        TimeDelta::minutes(30),
    );
    let watcher =
        tokio::spawn(Watcher::new(registry.clone(), limits(None, Some(5), Some(480))).run());

    let seen = stderr_until_closed(&mut conn.channel, Instant::now()).await;
    assert_eq!(guard.end_reason(), Some(EndReason::WindowEnd));
    assert_eq!(seen.len(), 2, "one warning, one end message: {seen:?}");
    let (warned_at, warning) = &seen[0];
    assert!(
        *warned_at >= minutes(25) && *warned_at < minutes(25) + Duration::from_secs(2),
        "warned at {warned_at:?}"
    );
    // 09:30 UTC is 18:30 JST.
    assert!(warning.contains("2026-11-26 18:30 JST"), "{warning}");
    assert!(warning.contains("作業ウィンドウ") && warning.contains("will be cut then"));
    let (cut_at, end) = &seen[1];
    assert!(
        *cut_at >= minutes(30) && *cut_at < minutes(30) + Duration::from_secs(2),
        "cut at {cut_at:?}"
    );
    assert!(end.contains("work window has ended"), "{end}");
    watcher.abort();
}

#[tokio::test]
async fn the_maximum_length_cuts_a_session_inside_a_longer_window() {
    let mut conn = connect().await;
    tokio::time::pause();
    let registry = Registry::new(Clock::tokio_from(base()));
    let guard = register(
        &registry,
        &conn,
        SessionId::generate(),
        PlanId::generate(),
        TimeDelta::minutes(50),
    );
    let watcher =
        tokio::spawn(Watcher::new(registry.clone(), limits(None, Some(5), Some(20))).run());

    let seen = stderr_until_closed(&mut conn.channel, Instant::now()).await;
    assert_eq!(guard.end_reason(), Some(EndReason::MaxLength));
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].0 >= minutes(15), "{seen:?}");
    assert!(seen[0].1.contains("maximum length"), "{seen:?}");
    assert!(seen[1].0 >= minutes(20) && seen[1].0 < minutes(20) + Duration::from_secs(2));
    assert!(seen[1].1.contains("(20m)"), "{seen:?}");
    watcher.abort();
}

// ---- the registry itself ----

#[tokio::test]
async fn an_end_is_decided_once_and_the_guard_unregisters() {
    let mut conn = connect().await;
    let registry = Registry::default();
    let id = SessionId::generate();
    let guard = register(
        &registry,
        &conn,
        id,
        PlanId::generate(),
        TimeDelta::hours(1),
    );
    let signal = guard.end_signal();
    assert_eq!(registry.sessions().len(), 1);
    assert_eq!(registry.sessions()[0].id, id);

    let before = guard.activity().last();
    tokio::time::sleep(Duration::from_millis(5)).await;
    registry.touch(&id);
    assert!(registry.sessions()[0].last_activity > before);

    let waiting = tokio::spawn({
        let signal = signal.clone();
        async move { signal.ended().await }
    });
    assert!(registry.end(&id, EndReason::Killed, "bye\r\n").await);
    assert!(
        !registry.end(&id, EndReason::Idle, "again\r\n").await,
        "first reason stands"
    );
    assert!(
        !registry
            .end(&SessionId::generate(), EndReason::Killed, "")
            .await
    );
    assert_eq!(waiting.await.unwrap(), EndReason::Killed);
    assert_eq!(registry.sessions()[0].ending, Some(EndReason::Killed));

    let seen = stderr_until_closed(&mut conn.channel, Instant::now()).await;
    assert_eq!(seen.len(), 1, "told once: {seen:?}");
    assert_eq!(seen[0].1, "bye\r\n");

    drop(guard);
    assert!(registry.sessions().is_empty());
    // The signal outlives the guard, for whoever records the end.
    assert_eq!(signal.reason(), Some(EndReason::Killed));
}

// ---- kills from the store, in real time ----

#[tokio::test]
async fn a_kill_request_in_the_store_ends_the_session_held_here() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_a_plan(&dir).await;
    let (plan, ends_at) = {
        let plans = store.plans().await.unwrap();
        (plans[0].id, plans[0].ends_at)
    };
    let mut killed = connect().await;
    let mut spared = connect().await;
    let registry = Registry::default();
    let mut guards = Vec::new();
    for conn in [&killed, &spared] {
        let id = SessionId::generate();
        store.start_session(new_session(id, plan)).await.unwrap();
        let window = ends_at - registry.clock().now();
        guards.push(register(&registry, conn, id, plan, window));
    }
    // A session held by another node: its request is not ours to execute.
    let elsewhere = SessionId::generate();
    store
        .start_session(new_session(elsewhere, plan))
        .await
        .unwrap();
    store
        .request_kill(&elsewhere, "held elsewhere", &operator())
        .await
        .unwrap();

    let watcher = tokio::spawn(
        Watcher::new(registry.clone(), limits(Some(15), Some(5), None))
            .with_kills(Arc::clone(&store))
            .run(),
    );
    let t0 = Instant::now();
    store
        .request_kill(&guards[0].id(), "suspicious / 不審", &operator())
        .await
        .unwrap();
    let seen = tokio::time::timeout(
        Duration::from_secs(5),
        stderr_until_closed(&mut killed.channel, t0),
    )
    .await
    .expect("the killed session ends within seconds");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(guards[0].end_reason(), Some(EndReason::Killed));
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].1.contains("運用担当者") && seen[0].1.contains("An operator"));

    // The other session lives on, and so does the one held elsewhere.
    assert_eq!(guards[1].end_reason(), None);
    let still_open = tokio::time::timeout(Duration::from_millis(1500), spared.channel.wait()).await;
    assert!(still_open.is_err(), "{still_open:?}");
    assert_eq!(registry.sessions().len(), 2);
    watcher.abort();
}

async fn store_with_a_plan(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::open(&url, MasterKey::generate()).await.unwrap();
    let actor = operator();
    let vendor = NewVendor {
        name: "acme".parse().unwrap(),
        allow_from: vec![],
        emergency_allowed: false,
    };
    store.add_vendor(vendor, &actor).await.unwrap();
    let account = NewAccount {
        login: "alice".parse().unwrap(),
        kind: policy::ids::AccountKind::Engineer,
        display_name: None,
        vendor: Some("acme".parse().unwrap()),
        role: None,
        password_hash: policy::password::PasswordHash::from_phc("$argon2id$v=19$fake".to_owned()),
        totp_secret: policy::totp::TotpSecret::generate(),
    };
    store.add_account(account, &actor).await.unwrap();
    let target = NewTarget {
        name: "db01".parse().unwrap(),
        address: policy::target::SshAddress::parse("127.0.0.1:2222").unwrap(),
        login: "maint".into(),
        auth: policy::target::TargetAuth::Password,
        credential: Some(secrecy::SecretBox::new(Box::new(
            b"db01-Password-77".to_vec(),
        ))),
        pin: policy::target::TargetPin::SshHostKey(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbtzbuTCEoWb0EW6Cvng2DIy9yStBXjrlkYpltLpOwl"
                .parse()
                .unwrap(),
        ),
        tags: vec![],
        shared_admin_reason: None,
    };
    store.add_target(target, &actor).await.unwrap();
    let now = Utc::now();
    let plan = policy::plan::submit(
        policy::plan::PlanRequest {
            vendor: "acme".parse().unwrap(),
            engineers: vec!["alice".parse().unwrap()],
            targets: vec!["db01".parse().unwrap()],
            starts_at: now - TimeDelta::hours(1),
            ends_at: now + TimeDelta::hours(2),
            purpose: "patching".into(),
            steps: vec![],
            personal_data: None,
            data_deletion: None,
            take_out: None,
            allow: policy::plan::Allowances::default(),
        },
        PlanId::generate(),
        "olga",
        now,
    )
    .unwrap();
    store.submit_plan(plan.clone(), &actor).await.unwrap();
    let approved =
        policy::plan::approve(&plan, policy::plan::Approver::operator("oscar"), now).unwrap();
    store.decide_plan(approved, &actor).await.unwrap();
    store
}

fn new_session(id: SessionId, plan: PlanId) -> NewSession {
    NewSession {
        id,
        engineer: "alice".parse().unwrap(),
        target: "db01".parse().unwrap(),
        plan,
        client_addr: "192.0.2.10:50022".parse().unwrap(),
        recording: None,
    }
}

fn operator() -> Actor {
    Actor::Cli {
        os_user: "olga".to_owned(),
    }
}
