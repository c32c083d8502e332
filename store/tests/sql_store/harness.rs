//! Real databases for each test: SQLite in a temp dir, and a fresh PostgreSQL database
//! `fumidai_test_<uuid>` when `FUMIDAI_TEST_POSTGRES_URL` names an admin connection
//! (skipped otherwise, unless `FUMIDAI_REQUIRE_POSTGRES=1`, which makes that a failure).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use fumidai_store::{
    Actor, AuditKind, Backend, LoginAttempt, MasterKey, NewAccount, NewVendor, SqlStore, Store,
};
use policy::ids::{AccountKind, Login, OperatorRole, VendorName};
use policy::password::PasswordHash;
use policy::totp::TotpSecret;
use sqlx::{AnyConnection, Connection, Executor};

/// Runs each named `async fn(TestDb)` of the calling module on SQLite and on PostgreSQL,
/// as `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::harness::run_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    $crate::harness::run_postgres(super::$name).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;

/// One test's database.
pub(crate) struct TestDb {
    /// The store under test, as the rest of fumidai sees it.
    pub(crate) store: Arc<dyn Store>,
    /// Its URL, to open it again or to reach it behind the store's back.
    pub(crate) url: String,
    /// Which database it is.
    pub(crate) backend: Backend,
    /// The master key the store was opened with.
    pub(crate) key: MasterKey,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn open(url: String, backend: Backend, dir: Option<tempfile::TempDir>) -> Self {
        let key = MasterKey::generate();
        let sql = SqlStore::open(&url, key.clone()).await.expect("open store");
        assert_eq!(sql.backend(), backend);
        Self {
            store: Arc::new(sql),
            url,
            backend,
            key,
            _dir: dir,
        }
    }

    /// A second store on the same database, with another master key.
    pub(crate) async fn reopen(&self, key: MasterKey) -> SqlStore {
        SqlStore::open(&self.url, key).await.expect("reopen store")
    }

    /// A connection that bypasses the store: an attacker with raw database access.
    pub(crate) async fn raw(&self) -> AnyConnection {
        AnyConnection::connect(&self.url)
            .await
            .expect("raw connection")
    }

    /// Drops the append-only triggers, as someone with raw access could.
    pub(crate) async fn drop_audit_triggers(&self) {
        let mut raw = self.raw().await;
        let sql = match self.backend {
            Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            }
            Backend::Postgres => "DROP TRIGGER audit_log_no_update_or_delete ON audit_log",
        };
        raw.execute(sql).await.expect("drop triggers");
    }

    /// The sequence number of the chain's head (0 when empty).
    pub(crate) async fn head_seq(&self) -> i64 {
        self.store
            .audit_tail(1)
            .await
            .unwrap()
            .last()
            .map_or(0, |r| r.seq)
    }

    /// The kinds of the records appended after `seq`, in order.
    pub(crate) async fn kinds_after(&self, seq: i64) -> Vec<String> {
        let tail = self.store.audit_tail(10_000).await.unwrap();
        tail.into_iter()
            .filter(|r| r.seq > seq)
            .map(|r| r.kind)
            .collect()
    }

    /// Runs `op` and returns the audit kinds it appended.
    pub(crate) async fn appended_by<T>(&self, op: impl Future<Output = T>) -> (T, Vec<String>) {
        let before = self.head_seq().await;
        let out = op.await;
        (out, self.kinds_after(before).await)
    }
}

pub(crate) async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    // The file doesn't exist yet: open must create it.
    let url = format!("sqlite://{}", dir.path().join("fumidai.db").display());
    test(TestDb::open(url, Backend::Sqlite, Some(dir)).await).await;
}

pub(crate) async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var("FUMIDAI_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("FUMIDAI_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "FUMIDAI_REQUIRE_POSTGRES=1 but FUMIDAI_TEST_POSTGRES_URL is not set"
        );
        eprintln!("skipped on PostgreSQL: FUMIDAI_TEST_POSTGRES_URL is not set");
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("fumidai_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = AnyConnection::connect(&admin_url)
        .await
        .expect("connect to FUMIDAI_TEST_POSTGRES_URL");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    let db = TestDb::open(with_database(&admin_url, &name), Backend::Postgres, None).await;
    // Run the test in its own task so a failing assertion still lets us drop the database.
    let outcome = tokio::spawn(test(db)).await;
    if let Err(e) = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
    {
        eprintln!("could not drop test database {name}: {e}");
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// `admin_url` with its database replaced by `name`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://u:p@h/postgres", "t"),
        "postgres://u:p@h/t"
    );
    assert_eq!(
        with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t"),
        "postgres://u:p@h:5432/t?sslmode=disable"
    );
    assert_eq!(with_database("postgresql://h", "t"), "postgresql://h/t");
}

// ---- fixtures ----

pub(crate) fn cli() -> Actor {
    Actor::Cli {
        os_user: "root".into(),
    }
}

pub(crate) fn login(s: &str) -> Login {
    s.parse().unwrap()
}

pub(crate) fn vendor_name(s: &str) -> VendorName {
    s.parse().unwrap()
}

pub(crate) fn new_vendor(name: &str, allow_from: &[&str]) -> NewVendor {
    NewVendor {
        name: vendor_name(name),
        allow_from: allow_from.iter().map(|n| n.parse().unwrap()).collect(),
        emergency_allowed: false,
    }
}

pub(crate) fn engineer(name: &str, vendor: &str, secret: &[u8]) -> NewAccount {
    NewAccount {
        login: login(name),
        kind: AccountKind::Engineer,
        display_name: Some(format!("{name} of {vendor}")),
        vendor: Some(vendor_name(vendor)),
        role: None,
        // Any string will do: nothing here verifies passwords.
        password_hash: PasswordHash::from_phc(format!("$argon2id$v=19$fake${name}")),
        totp_secret: TotpSecret::from_bytes(secret.to_vec()),
    }
}

pub(crate) fn operator(name: &str, role: OperatorRole) -> NewAccount {
    NewAccount {
        login: login(name),
        kind: AccountKind::Operator,
        display_name: None,
        vendor: None,
        role: Some(role),
        password_hash: PasswordHash::from_phc(format!("$argon2id$v=19$fake${name}")),
        totp_secret: TotpSecret::from_bytes(b"operator-secret-0000".to_vec()),
    }
}

/// A vendor `acme` with engineer `alice`.
pub(crate) async fn with_alice(db: &TestDb) {
    db.store
        .add_vendor(new_vendor("acme", &["192.0.2.0/24"]), &cli())
        .await
        .unwrap();
    db.store
        .add_account(engineer("alice", "acme", b"alice-secret-0123456"), &cli())
        .await
        .unwrap();
}

pub(crate) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

pub(crate) fn attempt(at: DateTime<Utc>) -> LoginAttempt {
    LoginAttempt {
        client_addr: Some("192.0.2.10:50022".parse::<SocketAddr>().unwrap()),
        certificate_serial: fumidai_store::CertSerial::parse("1a2b"),
        protocol: "ssh",
        at,
    }
}

pub(crate) fn kinds(list: &[AuditKind]) -> Vec<String> {
    list.iter().map(|k| k.as_str().to_owned()).collect()
}

// ---- targets, plans, sessions ----

/// A real ed25519 host key line (from ssh-keygen).
pub(crate) const HOST_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbtzbuTCEoWb0EW6Cvng2DIy9yStBXjrlkYpltLpOwl";

pub(crate) fn target_name(s: &str) -> policy::ids::TargetName {
    s.parse().unwrap()
}

/// A target on 127.0.0.1 logged in to as `maint`, with `credential` sealed when given.
pub(crate) fn new_target(
    name: &str,
    auth: policy::target::TargetAuth,
    credential: Option<&[u8]>,
) -> fumidai_store::NewTarget {
    fumidai_store::NewTarget {
        name: target_name(name),
        address: policy::target::SshAddress::parse("127.0.0.1:2222").unwrap(),
        login: "maint".into(),
        auth,
        credential: credential.map(|c| secrecy::SecretBox::new(Box::new(c.to_vec()))),
        pin: policy::target::TargetPin::SshHostKey(HOST_KEY.parse().unwrap()),
        tags: vec!["personal-data".parse().unwrap()],
        shared_admin_reason: None,
    }
}

/// Now, at the database's precision.
pub(crate) fn now_micros() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(6)
}

/// A plan of vendor `acme` submitted by `olga`, its window from an hour ago to two hours
/// from now.
pub(crate) fn new_plan(engineers: &[&str], targets: &[&str]) -> policy::plan::Plan {
    let now = now_micros();
    policy::plan::submit(
        policy::plan::PlanRequest {
            vendor: vendor_name("acme"),
            engineers: engineers.iter().map(|e| login(e)).collect(),
            targets: targets.iter().map(|t| target_name(t)).collect(),
            starts_at: now - chrono::Duration::hours(1),
            ends_at: now + chrono::Duration::hours(2),
            purpose: "apply security patches".into(),
            steps: vec!["apt upgrade".into()],
            allow: policy::plan::Allowances {
                upload: true,
                download: false,
                forward: false,
                content: policy::transfer::ContentKinds::NONE
                    .with(policy::transfer::ContentKind::Archive),
            },
            personal_data: Some("check the patient index".into()),
            data_deletion: Some("delete /tmp/export".into()),
            take_out: None,
        },
        policy::ids::PlanId::generate(),
        "olga",
        now,
    )
    .unwrap()
}

/// Vendor `acme`, engineer `alice`, target `db01` with a password.
pub(crate) async fn with_alice_and_db01(db: &TestDb) {
    with_alice(db).await;
    db.store
        .add_target(
            new_target(
                "db01",
                policy::target::TargetAuth::Password,
                Some(b"db01-Password-77"),
            ),
            &cli(),
        )
        .await
        .unwrap();
}
