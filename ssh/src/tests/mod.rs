//! The SSH service driven by a russh client over an in-memory stream, with a real SQLite
//! store: keyboard-interactive login, the post-login message, refusals, the login grace.
//!
//! This file holds the fixture and the client side; the tests are in `login` (who gets
//! in) and `session` (what they get).

mod login;
mod session;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use policy::ids::AccountKind;
use policy::lockout::LockoutPolicy;
use policy::totp::TotpSecret;
use russh::ChannelMsg;
use russh::client::{self, KeyboardInteractiveAuthResponse};
use russh::keys::PublicKeyOrCertificate;
use secrecy::SecretString;
use store::{Actor, CertSerial, MasterKey, NewAccount, NewVendor, Store};
use tokio::task::JoinHandle;

use super::config::server_config;
use super::*;

const PASSWORD: &str = "Suzuran-Kagami-7731";

struct Fixture {
    store: Arc<dyn Store>,
    service: Arc<SshService>,
    totp: TotpSecret,
    host_key: russh::keys::PublicKey,
    _dir: tempfile::TempDir,
}

/// A store with vendor `acme` and engineer `alice`, and a service on it. Each test gets
/// its own, since a code's step can be claimed once only.
async fn fixture(settings: SshSettings) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::open(&url, MasterKey::generate()).await.unwrap();
    let actor = Actor::Cli {
        os_user: "test".to_owned(),
    };
    let vendor = NewVendor {
        name: "acme".parse().unwrap(),
        allow_from: vec![],
        emergency_allowed: false,
    };
    store.add_vendor(vendor, &actor).await.unwrap();
    let totp = TotpSecret::generate();
    let account = NewAccount {
        login: "alice".parse().unwrap(),
        kind: AccountKind::Engineer,
        display_name: Some("山田 花子".to_owned()),
        vendor: Some("acme".parse().unwrap()),
        role: None,
        password_hash: policy::password::hash(&SecretString::from(PASSWORD)).unwrap(),
        totp_secret: TotpSecret::from_bytes(totp.expose_bytes().to_vec()),
    };
    store.add_account(account, &actor).await.unwrap();
    // As if her first login had replaced the operator's password with her own
    // (`ssh::password_change` tests that round).
    let own = policy::password::hash(&SecretString::from(PASSWORD)).unwrap();
    let alice: policy::ids::Login = "alice".parse().unwrap();
    store
        .set_password(
            &alice,
            &own,
            &store::PasswordSet::ChangedByOwner,
            &Actor::Person(alice.clone()),
        )
        .await
        .unwrap();

    let key = host_key::generate().unwrap();
    let host_key = key.public_key().clone();
    let mut russh = server_config(key, &settings);
    // The real delay (1.5 s) only slows the tests down; its effect is russh's to test.
    russh.auth_rejection_time = Duration::from_millis(20);
    let config = Arc::new(SshConfig {
        russh: Arc::new(russh),
        settings,
    });
    let auth = Arc::new(Authenticator::new(
        Arc::clone(&store),
        LockoutPolicy::default(),
    ));
    let service = Arc::new(SshService::new(config, auth));
    Fixture {
        store,
        service,
        totp,
        host_key,
        _dir: dir,
    }
}

/// Checks that the server presents the host key it was given.
struct Client {
    expected: russh::keys::PublicKey,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(matches!(key, PublicKeyOrCertificate::PublicKey { key, .. } if *key == self.expected))
    }
}

/// Opens a connection as the device of `certificate_login`, with `slot` as the front
/// door's unauthenticated-connection permit.
async fn connect(
    fx: &Fixture,
    certificate_login: &str,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) -> (client::Handle<Client>, JoinHandle<Result<()>>) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let peer = PeerContext {
        client_addr: "192.0.2.10:50123".parse().unwrap(),
        certificate: PeerIdentity {
            login: certificate_login.parse().unwrap(),
            serial: CertSerial::parse("1a2b3c").unwrap(),
        },
        on_authenticated: slot.map(fumidai_core::auth::UnauthenticatedSlot::new),
        store_available: true,
    };
    let service = Arc::clone(&fx.service);
    let server = tokio::spawn(async move { service.serve(server_io, peer).await });
    let client = Client {
        expected: fx.host_key.clone(),
    };
    let handle = client::connect_stream(Arc::new(client::Config::default()), client_io, client)
        .await
        .unwrap();
    (handle, server)
}

/// Runs the keyboard-interactive exchange; true when the server accepted.
async fn log_in(
    handle: &mut client::Handle<Client>,
    user: &str,
    password: &str,
    code: &str,
) -> bool {
    let reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await
        .unwrap();
    let KeyboardInteractiveAuthResponse::InfoRequest {
        name,
        instructions,
        prompts,
    } = reply
    else {
        panic!("expected the prompts, got {reply:?}");
    };
    assert_eq!(name, "fumidai");
    assert!(instructions.contains("password"), "{instructions}");
    let texts: Vec<&str> = prompts.iter().map(|p| p.prompt.as_str()).collect();
    // After a refusal, the first prompt is headed by the notice (see `login.rs`).
    let [password_prompt, code_prompt] = texts[..] else {
        panic!("two prompts expected: {texts:?}");
    };
    assert!(
        password_prompt.ends_with("Password / パスワード: "),
        "{password_prompt:?}"
    );
    assert_eq!(code_prompt, "Verification code (TOTP) / 確認コード: ");
    assert!(
        prompts.iter().all(|p| !p.echo),
        "secrets must not be echoed"
    );
    let answer = vec![password.to_owned(), code.to_owned()];
    match handle
        .authenticate_keyboard_interactive_respond(answer)
        .await
        .unwrap()
    {
        KeyboardInteractiveAuthResponse::Success => true,
        KeyboardInteractiveAuthResponse::Failure { .. } => false,
        other => panic!("unexpected reply {other:?}"),
    }
}

/// Runs `exec` on a new session channel: (stdout, stderr, exit status).
async fn exec(handle: &client::Handle<Client>, command: &str) -> (String, String, Option<u32>) {
    let mut channel = handle.channel_open_session().await.unwrap();
    channel.exec(true, command).await.unwrap();
    drain(&mut channel).await
}

async fn drain(channel: &mut russh::Channel<client::Msg>) -> (String, String, Option<u32>) {
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
        status,
    )
}

/// The reason recorded with the last login failure.
async fn last_failure_reason(store: &Arc<dyn Store>) -> String {
    let tail = store.audit_tail(5).await.unwrap();
    let failure = tail
        .iter()
        .rev()
        .find(|r| r.kind == "login.failure")
        .expect("a login.failure record");
    failure.detail["reason"].as_str().unwrap().to_owned()
}

fn now_code(fx: &Fixture) -> String {
    fx.totp.code_at(Utc::now())
}

/// A six-digit code that is not the current one.
fn wrong_code(fx: &Fixture) -> String {
    let code: u32 = now_code(fx).parse().unwrap();
    format!("{:06}", (code + 500_000) % 1_000_000)
}
