//! The console's handlers, driven with `oneshot` against a real SQLite store (STYLE.md
//! §3, §5): sign-in (right, wrong password, wrong code, locked, engineer), the cookie's
//! attributes, the idle sign-out on a clock the test moves, CSRF and origin
//! checks, every route × every role, escaping of hostile plan text, and approving a plan
//! (four eyes) with the password and a fresh code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use chrono::{Duration, Utc};
use fumidai_core::auth::Authenticator;
use policy::ids::{AccountKind, Login, OperatorRole, PlanId, SessionId};
use policy::lockout::LockoutPolicy;
use policy::plan::{Allowances, PlanRequest, PlanStatus};
use policy::totp::TotpSecret;
use secrecy::SecretString;
use store::{Actor, ConsoleSessionId, MasterKey, NewAccount, NewConsoleSession, NewVendor, Store};
use tower::ServiceExt;

use crate::security::CONTENT_SECURITY_POLICY;
use crate::session::{NewSecrets, SESSION_COOKIE};
use crate::{AppState, ConsoleSettings, LoginLimits, router};

mod playback_tests;

const PASSWORD: &str = "Hinoki-Sawa-2290";
const HOST: &str = "console.test";
const ORIGIN: &str = "http://console.test";

/// A hospital with a store, its people and a console over it.
struct Hospital {
    store: Arc<dyn Store>,
    app: Router,
    /// This node's live sessions, as `serve` would give them.
    live: fumidai_core::live::Registry,
    secrets: HashMap<String, TotpSecret>,
    /// Seconds the console's clock is ahead of the wall clock.
    ahead: Arc<AtomicI64>,
    /// The data directory the console reads recordings and `signing.pub` from.
    data: fumidai_core::datadir::DataDir,
    /// The gateway's signing key (its public half is in `data`).
    signing: ed25519_dalek::SigningKey,
    _dir: tempfile::TempDir,
}

fn cli() -> Actor {
    Actor::Cli {
        os_user: "root".to_owned(),
    }
}

async fn hospital() -> Hospital {
    hospital_with(ConsoleSettings::default()).await
}

async fn hospital_with(settings: ConsoleSettings) -> Hospital {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::open(&url, MasterKey::generate()).await.unwrap();
    store
        .add_vendor(
            NewVendor {
                name: "acme".parse().unwrap(),
                allow_from: Vec::new(),
                emergency_allowed: false,
            },
            &cli(),
        )
        .await
        .unwrap();
    store
        .add_target(
            store::NewTarget {
                name: "db01".parse().unwrap(),
                address: policy::target::SshAddress::parse("127.0.0.1:2222").unwrap(),
                login: "maint".into(),
                auth: policy::target::TargetAuth::Password,
                credential: Some(secrecy::SecretBox::new(Box::new(b"db01-Pass-77".to_vec()))),
                pin: policy::target::TargetPin::SshHostKey(
                    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbtzbuTCEoWb0EW6Cvng2DIy9yStBXjrlkYpltLpOwl"
                        .parse()
                        .unwrap(),
                ),
                tags: Vec::new(),
                shared_admin_reason: None,
            },
            &cli(),
        )
        .await
        .unwrap();
    let hash = policy::password::hash(&SecretString::from(PASSWORD)).unwrap();
    let mut secrets = HashMap::new();
    for (login, kind, role) in [
        ("alice", AccountKind::Engineer, None),
        ("olga", AccountKind::Operator, Some(OperatorRole::Operator)),
        (
            "sasaki",
            AccountKind::Operator,
            Some(OperatorRole::Operator),
        ),
        ("mori", AccountKind::Operator, Some(OperatorRole::Manager)),
        ("kansa", AccountKind::Operator, Some(OperatorRole::Auditor)),
    ] {
        let secret = TotpSecret::generate();
        store
            .add_account(
                NewAccount {
                    login: login.parse().unwrap(),
                    kind,
                    display_name: None,
                    vendor: (kind == AccountKind::Engineer).then(|| "acme".parse().unwrap()),
                    role,
                    password_hash: hash.clone(),
                    totp_secret: TotpSecret::from_bytes(secret.expose_bytes().to_vec()),
                },
                &cli(),
            )
            .await
            .unwrap();
        secrets.insert(login.to_owned(), secret);
    }
    let auth = Arc::new(Authenticator::new(
        Arc::clone(&store),
        LockoutPolicy::default(),
    ));
    let ahead = Arc::new(AtomicI64::new(0));
    let clock_ahead = Arc::clone(&ahead);
    let live = fumidai_core::live::Registry::default();
    // The data directory with the gateway's public key (the same fixed key the playback
    // tests seal recordings with).
    let data = playback_tests::data_dir(dir.path());
    let signing = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let state = AppState::new(
        Arc::clone(&store),
        auth,
        fumidai_core::metrics::Exporter::fixed("fumidai_test 1\n"),
        settings,
    )
    .with_clock(Arc::new(move || {
        Utc::now() + Duration::seconds(clock_ahead.load(Ordering::SeqCst))
    }))
    .with_live(live.clone())
    .with_data_dir(data.clone());
    Hospital {
        app: router(state),
        live,
        store,
        secrets,
        ahead,
        data,
        signing,
        _dir: dir,
    }
}

/// A browser's view of one signed-in person.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Hospital {
    /// The code of `login`'s authenticator `steps` steps from now.
    fn code(&self, login: &str, steps: i64) -> String {
        self.secrets[login].code_at(Utc::now() + Duration::seconds(30 * steps))
    }

    async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.app.clone().oneshot(req).await.unwrap()
    }

    async fn sign_in_with(&self, login: &str, password: &str, code: &str) -> Response<Body> {
        self.send(post(
            "/login",
            None,
            &[("login", login), ("password", password), ("code", code)],
        ))
        .await
    }

    /// Signs `login` in with the current step's code.
    async fn sign_in(&self, login: &str) -> Browser {
        let code = self.code(login, 0);
        let r = self.sign_in_with(login, PASSWORD, &code).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{login}");
        let cookie = set_cookie(&r).split(';').next().unwrap().to_owned();
        let page = body(self.send(get("/", Some(&cookie))).await).await;
        Browser {
            csrf: csrf_of(&page),
            cookie,
        }
    }

    /// A console session stored for `login` without a sign-in (what only a bug or a
    /// hostile DBA would make for an engineer).
    async fn forged_session(&self, login: &str) -> Browser {
        let secrets = NewSecrets::generate();
        self.store
            .start_console_session(NewConsoleSession {
                id: ConsoleSessionId::generate(),
                token: secrets.digest,
                login: login.parse().unwrap(),
                client_addr: None,
                csrf_token: secrets.csrf.clone(),
                at: Utc::now(),
            })
            .await
            .unwrap();
        Browser {
            cookie: format!("{SESSION_COOKIE}={}", secrets.token),
            csrf: secrets.csrf,
        }
    }

    /// A plan submitted by `submitter`, with `purpose`.
    async fn plan_by(&self, submitter: &str, purpose: &str) -> PlanId {
        let now = Utc::now();
        let plan = policy::plan::submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now,
                ends_at: now + Duration::hours(2),
                purpose: purpose.to_owned(),
                steps: vec![format!("step: {purpose}").into()],
                allow: Allowances::default(),
                personal_data: None,
                data_deletion: None,
                take_out: None,
            },
            PlanId::generate(),
            submitter,
            now,
        )
        .unwrap();
        let id = plan.id;
        self.store
            .submit_plan(plan, &Actor::Person(submitter.parse::<Login>().unwrap()))
            .await
            .unwrap();
        id
    }

    async fn status_of(&self, id: &PlanId) -> PlanStatus {
        self.store.plan(id).await.unwrap().unwrap().status
    }

    async fn audit_kinds_after(&self, seq: i64) -> Vec<(String, String)> {
        self.store
            .audit_tail(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.seq > seq)
            .map(|r| (r.kind, r.actor))
            .collect()
    }

    /// A live SSH session of alice on db01 under a new plan: in the store and in this
    /// node's registry while the guard lives.
    async fn live_session(&self) -> (SessionId, fumidai_core::live::LiveGuard) {
        let plan = self.plan_by("sasaki", "live work").await;
        let id = SessionId::generate();
        self.store
            .start_session(store::NewSession {
                id,
                engineer: "alice".parse().unwrap(),
                target: "db01".parse().unwrap(),
                plan,
                client_addr: "192.0.2.7:50000".parse().unwrap(),
                recording: None,
            })
            .await
            .unwrap();
        let now = Utc::now();
        let guard = self.live.register(
            fumidai_core::live::SessionParts {
                id,
                engineer: "alice".parse().unwrap(),
                target: "db01".parse().unwrap(),
                plan,
                serial: None,
                started_at: now,
                window_ends_at: now + Duration::hours(2),
            },
            Arc::new(Quiet),
        );
        (id, guard)
    }

    async fn head(&self) -> i64 {
        self.store
            .audit_tail(1)
            .await
            .unwrap()
            .last()
            .map_or(0, |r| r.seq)
    }
}

/// An engineer's connection that is told nothing (stands for SSH; the registry's own
/// tests check what it is told).
#[derive(Debug)]
struct Quiet;

#[async_trait::async_trait]
impl fumidai_core::live::LiveConnection for Quiet {
    async fn warn(&self, _text: &str) {}
    async fn disconnect(&self, _why: &fumidai_core::live::Hangup) {}
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path).header(header::HOST, HOST);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req.body(Body::empty()).unwrap()
}

/// A WebSocket handshake's request as a browser on this console's page sends it.
fn socket_request(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut req = Request::get(path)
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .header("sec-fetch-site", "same-origin")
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    req.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    post_from(path, cookie, form, Some(ORIGIN), Some("same-origin"))
}

fn post_from(
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
    origin: Option<&str>,
    fetch_site: Option<&str>,
) -> Request<Body> {
    let mut req = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        req = req.header(header::ORIGIN, origin);
    }
    if let Some(site) = fetch_site {
        req = req.header("sec-fetch-site", site);
    }
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let encoded: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    req.body(Body::from(encoded.join("&"))).unwrap()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn body(r: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), 4 << 20).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn set_cookie(r: &Response<Body>) -> String {
    r.headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn location(r: &Response<Body>) -> String {
    r.headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn csrf_of(page: &str) -> String {
    let (_, rest) = page
        .split_once("name=\"csrf\" value=\"")
        .expect("a form with the token");
    rest.split('"').next().unwrap().to_owned()
}

mod actions;
mod live;
mod records;
mod routes;
mod sign_in;
