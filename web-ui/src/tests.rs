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

#[tokio::test]
async fn signing_in_sets_a_host_only_strict_cookie_and_records_the_person() {
    let h = hospital().await;
    let before = h.head().await;
    let code = h.code("olga", 0);
    let r = h.sign_in_with("olga", PASSWORD, &code).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/");
    let cookie = set_cookie(&r);
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    let (name, token) = attributes[0].split_once('=').unwrap();
    assert_eq!(name, "__Host-fumidai_session");
    assert_eq!(token.len(), 43, "256 bits in base64url");
    for wanted in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&wanted), "{wanted} in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(!cookie.contains("Max-Age"), "a session cookie: {cookie}");
    // The store knows the token's digest only.
    let digest = crate::session::digest(token);
    assert!(h.store.console_session(&digest).await.unwrap().is_some());
    let raw = std::fs::read(h._dir.path().join("t.db")).unwrap();
    let wal = std::fs::read(h._dir.path().join("t.db-wal")).unwrap_or_default();
    for bytes in [&raw, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token itself is stored"
        );
    }
    // On record: the same login.success as the CLI (protocol https), then the session.
    let records = h.store.audit_tail(10).await.unwrap();
    let new: Vec<_> = records.iter().filter(|r| r.seq > before).collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].kind, "login.success");
    assert_eq!(new[0].detail["protocol"], "https");
    assert_eq!(new[0].actor, "person:olga");
    assert_eq!(new[1].kind, "console.signed_in");
    assert_eq!(new[1].actor, "person:olga");

    // The dashboard, with the security headers.
    let cookie = attributes[0];
    let r = h.send(get("/", Some(cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let headers = r.headers().clone();
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY
    );
    assert_eq!(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let page = body(r).await;
    assert!(page.contains("ダッシュボード"), "{page}");
    assert!(page.contains("olga"));
    assert!(!page.contains("style="), "no inline style under the CSP");
    assert!(!page.contains("<script"), "no script at all yet");
    // The stylesheet it links is served, cacheable, as CSS.
    let css = page
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let r = h.send(get(&css, None)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        h.send(get("/assets/console-000000000000.css", None))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn wrong_password_wrong_code_engineer_and_locked_accounts_are_refused_alike() {
    let h = hospital().await;
    let refused = |r: &Response<Body>| {
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(r).is_empty(), "no session on a refusal");
    };
    let code = h.code("olga", 0);
    let r = h.sign_in_with("olga", "Wrong-Password-1", &code).await;
    refused(&r);
    let page = body(r).await;
    assert!(page.contains("認証に失敗しました"), "{page}");
    refused(&h.sign_in_with("olga", PASSWORD, "000000").await);
    refused(&h.sign_in_with("nobody", PASSWORD, "123456").await);
    refused(&h.sign_in_with("Not A Login", PASSWORD, "123456").await);
    // A vendor engineer with the right password and code: not at the console.
    let code = h.code("alice", 0);
    refused(&h.sign_in_with("alice", PASSWORD, &code).await);
    let failures = h
        .store
        .audit_tail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "login.failure")
        .count();
    assert_eq!(
        failures, 4,
        "each refusal on record (the unparsable login names no one)"
    );

    // Five failures lock olga (R-14-6(6)); then the right credentials are refused too.
    for _ in 0..3 {
        refused(&h.sign_in_with("olga", "Wrong-Password-1", "000000").await);
    }
    let code = h.code("olga", 0);
    refused(&h.sign_in_with("olga", PASSWORD, &code).await);
    let account = h
        .store
        .account(&"olga".parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(account.locked_until.is_some());
}

#[tokio::test]
async fn sign_in_attempts_are_bounded_per_login() {
    let h = hospital_with(ConsoleSettings {
        login_limits: LoginLimits {
            per_address: 100,
            per_login: 2,
            window: Duration::minutes(15),
        },
        ..ConsoleSettings::default()
    })
    .await;
    for _ in 0..2 {
        let r = h.sign_in_with("olga", "Wrong-Password-1", "000000").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let before = h.head().await;
    let code = h.code("olga", 0);
    let r = h.sign_in_with("olga", PASSWORD, &code).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        h.audit_kinds_after(before).await.is_empty(),
        "no work, no record"
    );
    // Another login is not held up by olga's.
    h.sign_in("mori").await;
}

#[tokio::test]
async fn an_unattended_console_signs_itself_out_after_15_minutes() {
    let h = hospital().await;
    let b = h.sign_in("olga").await;
    // Requests keep it alive: 14 minutes, then 14 more.
    h.ahead.store(14 * 60, Ordering::SeqCst);
    assert_eq!(
        h.send(get("/plans", Some(&b.cookie))).await.status(),
        StatusCode::OK
    );
    h.ahead.store(28 * 60, Ordering::SeqCst);
    assert_eq!(
        h.send(get("/plans", Some(&b.cookie))).await.status(),
        StatusCode::OK
    );
    // Then 15 minutes without one.
    h.ahead.store(43 * 60, Ordering::SeqCst);
    let before = h.head().await;
    let r = h.send(get("/plans", Some(&b.cookie))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login?idle=1");
    assert!(set_cookie(&r).contains("Max-Age=0"));
    assert_eq!(
        h.audit_kinds_after(before).await,
        vec![("console.signed_out".to_owned(), "system".to_owned())]
    );
    let record = h.store.audit_tail(1).await.unwrap().remove(0);
    assert_eq!(record.detail["reason"], "idle");
    assert_eq!(record.subject, "olga");
    // Gone for good, even if the clock were turned back.
    h.ahead.store(0, Ordering::SeqCst);
    let r = h.send(get("/", Some(&b.cookie))).await;
    assert_eq!(location(&r), "/login");
    let page = body(h.send(get("/login?idle=1", None)).await).await;
    assert!(page.contains("15分間操作がなかったため"), "{page}");
}

#[tokio::test]
async fn signing_out_ends_the_session_on_record() {
    let h = hospital().await;
    let b = h.sign_in("mori").await;
    let before = h.head().await;
    let r = h
        .send(post("/logout", Some(&b.cookie), &[("csrf", &b.csrf)]))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/login");
    assert!(set_cookie(&r).contains("Max-Age=0"));
    assert_eq!(
        h.audit_kinds_after(before).await,
        vec![("console.signed_out".to_owned(), "person:mori".to_owned())]
    );
    assert_eq!(
        h.send(get("/", Some(&b.cookie))).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn posts_without_the_token_or_from_another_site_change_nothing() {
    let h = hospital().await;
    let plan = h.plan_by("sasaki", "patching").await;
    let b = h.sign_in("olga").await;
    let code = h.code("olga", 1);
    let path = format!("/plans/{plan}/approve");
    let good = [
        ("csrf", b.csrf.as_str()),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ];
    let no_token = [("password", PASSWORD), ("code", code.as_str())];
    let wrong_token = [
        ("csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ];
    let before = h.head().await;
    let attempts = [
        post(&path, Some(&b.cookie), &no_token),
        post(&path, Some(&b.cookie), &wrong_token),
        post_from(
            &path,
            Some(&b.cookie),
            &good,
            Some("https://evil.example"),
            Some("cross-site"),
        ),
        post_from(
            &path,
            Some(&b.cookie),
            &good,
            Some("https://evil.example"),
            None,
        ),
        post_from(&path, Some(&b.cookie), &good, None, Some("same-site")),
        post_from(&path, Some(&b.cookie), &good, None, None),
        post_from(&path, Some(&b.cookie), &good, Some("null"), None),
    ];
    for (i, req) in attempts.into_iter().enumerate() {
        let r = h.send(req).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "attempt {i}");
    }
    assert_eq!(h.status_of(&plan).await, PlanStatus::Submitted);
    assert!(
        h.audit_kinds_after(before).await.is_empty(),
        "no sign-in tried, no code spent, nothing recorded"
    );
    // Sign-in from another site is refused the same way.
    let code0 = h.code("mori", 0);
    let r = h
        .send(post_from(
            "/login",
            None,
            &[("login", "mori"), ("password", PASSWORD), ("code", &code0)],
            Some("https://evil.example"),
            Some("cross-site"),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The same form from the console itself goes through.
    let r = h.send(post(&path, Some(&b.cookie), &good)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body(r).await);
    assert_eq!(h.status_of(&plan).await, PlanStatus::Approved);
}

#[tokio::test]
async fn approving_asks_for_a_fresh_code_and_keeps_four_eyes() {
    let h = hospital().await;
    let theirs = h.plan_by("sasaki", "monthly patching").await;
    let own = h.plan_by("olga", "olga's own plan").await;
    let b = h.sign_in("olga").await;

    // Her own plan: refused by policy (four eyes), shown as the bilingual reason.
    let code = h.code("olga", 1);
    let r = h
        .send(post(
            &format!("/plans/{own}/approve"),
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("password", PASSWORD), ("code", &code)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = body(r).await;
    assert!(page.contains("class=\"refusal\""), "{page}");
    // policy's reason, Japanese first.
    let (_, refusal) = page.split_once("class=\"refusal\"").unwrap();
    let ja = refusal.find("提出者本人").expect("the Japanese reason");
    let en = refusal.find("the submitter").expect("the English reason");
    assert!(ja < en, "{refusal}");
    assert_eq!(h.status_of(&own).await, PlanStatus::Submitted);

    // The code of the sign-in's step is spent: refused as a replay.
    let spent = h.code("olga", 0);
    let r = h
        .send(post(
            &format!("/plans/{theirs}/approve"),
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("password", PASSWORD), ("code", &spent)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.status_of(&theirs).await, PlanStatus::Submitted);

    // Another's plan with a fresh code: approved, with olga as actor.
    let h2 = &h;
    let m = h2.sign_in("mori").await;
    let fresh = h.code("mori", 1);
    let r = h
        .send(post(
            &format!("/plans/{theirs}/approve"),
            Some(&m.cookie),
            &[("csrf", &m.csrf), ("password", PASSWORD), ("code", &fresh)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/plans/{theirs}?done=approved"));
    assert_eq!(h.status_of(&theirs).await, PlanStatus::Approved);
    let approved = h
        .store
        .audit_tail(20)
        .await
        .unwrap()
        .into_iter()
        .rfind(|r| r.kind == "plan.approved")
        .unwrap();
    assert_eq!(approved.actor, "person:mori");
    let page = body(
        h.send(get(
            &format!("/plans/{theirs}?done=approved"),
            Some(&m.cookie),
        ))
        .await,
    )
    .await;
    assert!(page.contains("承認しました"), "{page}");
}

#[tokio::test]
async fn hostile_plan_text_is_shown_as_text() {
    let h = hospital().await;
    // Markup passes the submission rules (it is text); it must be shown as text.
    let markup = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let plan = h.plan_by("sasaki", markup).await;
    // Control and bidi characters don't (policy::plan refuses them); a plan stored
    // around the rules — a hostile DBA, an older version — must not reach the page
    // with them either.
    let hostile =
        format!("{markup} \u{1b}]0;owned\u{7} \u{1b}[200~rm -rf /\u{1b}[201~ \u{202e}gpj.exe");
    {
        use sqlx::Connection as _;
        let url = format!("sqlite://{}", h._dir.path().join("t.db").display());
        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("UPDATE plans SET purpose = ?1 WHERE id = ?2")
            .bind(&hostile)
            .bind(plan.to_string())
            .execute(&mut raw)
            .await
            .unwrap();
    }
    assert_eq!(h.store.plan(&plan).await.unwrap().unwrap().purpose, hostile);
    let b = h.sign_in("kansa").await;
    for path in [
        "/".to_owned(),
        "/plans".to_owned(),
        format!("/plans/{plan}"),
    ] {
        let page = body(h.send(get(&path, Some(&b.cookie))).await).await;
        assert!(!page.contains("<script>alert"), "{path}");
        assert!(!page.contains("<img src=x"), "{path}");
        assert!(
            page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path}: {page}"
        );
        assert!(!page.contains('\u{1b}'), "{path}: ESC reached the page");
        assert!(!page.contains('\u{7}'), "{path}: BEL reached the page");
        assert!(
            !page.contains('\u{202e}'),
            "{path}: a bidi override reached the page"
        );
        assert!(page.contains("␛]0;owned␇"), "{path}");
        assert!(page.contains("␛[200~rm -rf /␛[201~"), "{path}");
        assert!(page.contains("&#60;U+202E&#62;gpj.exe"), "{path}");
    }
}

#[tokio::test]
async fn metrics_only_to_loopback_and_health_to_anyone() {
    let h = hospital().await;
    let from = |addr: &str| {
        let mut req = get("/metrics", None);
        req.extensions_mut()
            .insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
        req
    };
    let r = h.send(from("127.0.0.1:5555")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(body(r).await, "fumidai_test 1\n");
    assert_eq!(h.send(from("[::1]:5555")).await.status(), StatusCode::OK);
    assert_eq!(
        h.send(from("192.0.2.1:5555")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.send(get("/metrics", None)).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = h.send(get("/healthz", None)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        h.send(get("/nope", None)).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_plan_list_filters_by_state_and_window() {
    let h = hospital().await;
    let first = h.plan_by("sasaki", "first-plan-purpose").await;
    h.plan_by("sasaki", "second-plan-purpose").await;
    let b = h.sign_in("mori").await;
    let fresh = h.code("mori", 1);
    let r = h
        .send(post(
            &format!("/plans/{first}/approve"),
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("password", PASSWORD), ("code", &fresh)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let list = |query: String| {
        let cookie = b.cookie.clone();
        let h = &h;
        async move { body(h.send(get(&format!("/plans{query}"), Some(&cookie))).await).await }
    };
    let all = list("".to_owned()).await;
    assert!(all.contains("first-plan-purpose") && all.contains("second-plan-purpose"));
    let approved = list("?status=approved".to_owned()).await;
    assert!(approved.contains("first-plan-purpose"));
    assert!(!approved.contains("second-plan-purpose"));
    let nobody = list("?engineer=bob".to_owned()).await;
    assert!(!nobody.contains("plan-purpose"));
    // Windows run from now for two hours: a JST day long past has none.
    let past = list("?to=2020-01-01".to_owned()).await;
    assert!(!past.contains("plan-purpose"));
    let today = crate::text::jst(&Utc::now());
    let day = &today[..10];
    let around = list(format!("?from={day}&to={day}")).await;
    assert!(around.contains("first-plan-purpose"), "{around}");
}

mod live;
mod records;
mod routes;
