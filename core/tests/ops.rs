//! The use cases against a real SQLite store, the way the command line and the web console
//! call them: sign in with password + TOTP, then act. Each refusal leaves the plan as it
//! was, and each action is on record with the person as actor (R-14-1, R-14-4,
//! R-10.1-APPROVE).

// clippy.toml allows these in `#[test]` functions; the helpers here are test code too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use std::sync::Arc;

use chrono::Utc;
use fumidai_core::auth::Authenticator;
use fumidai_core::ops::{
    self, OpError, Person, SignIn, plan_decision, plan_submission, report_confirmation,
};
use policy::ids::{AccountKind, Login, OperatorRole, PlanId, SessionId};
use policy::limits::KillReason;
use policy::lockout::LockoutPolicy;
use policy::plan::{Allowances, PlanRequest, PlanStatus};
use policy::totp::TotpSecret;
use secrecy::SecretString;
use store::{Actor, MasterKey, NewAccount, NewVendor, Store};

const PASSWORD: &str = "Hinoki-Sawa-2290";

struct Hospital {
    store: Arc<dyn Store>,
    auth: Authenticator,
    secrets: Vec<(Login, TotpSecret)>,
    _dir: tempfile::TempDir,
}

fn cli() -> Actor {
    Actor::Cli {
        os_user: "root".to_owned(),
    }
}

async fn hospital() -> Hospital {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = store::open(&url, MasterKey::generate()).await.unwrap();
    store
        .add_vendor(
            NewVendor {
                name: "acme".parse().unwrap(),
                allow_from: vec!["192.0.2.0/24".parse().unwrap()],
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
                credential: Some(secrecy::SecretBox::new(Box::new(b"db01-Password-77".to_vec()))),
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
    let mut secrets = Vec::new();
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
        secrets.push((login.parse().unwrap(), secret));
    }
    Hospital {
        auth: Authenticator::new(Arc::clone(&store), LockoutPolicy::default()),
        store,
        secrets,
        _dir: dir,
    }
}

impl Hospital {
    fn code(&self, login: &str) -> String {
        let (_, secret) = self
            .secrets
            .iter()
            .find(|(l, _)| l.as_str() == login)
            .unwrap();
        secret.code_at(Utc::now())
    }

    async fn sign_in_with(&self, login: &str, code: String) -> Result<Person, OpError> {
        ops::sign_in(
            &self.auth,
            SignIn {
                login: login.parse().unwrap(),
                password: SecretString::from(PASSWORD),
                code: SecretString::from(code),
                protocol: "https",
            },
        )
        .await
    }

    async fn sign_in(&self, login: &str) -> Person {
        self.sign_in_with(login, self.code(login)).await.unwrap()
    }

    /// A plan for alice on db01, submitted by `by`.
    async fn submitted_by(&self, by: &str) -> PlanId {
        let now = Utc::now();
        let plan = policy::plan::submit(
            PlanRequest {
                vendor: "acme".parse().unwrap(),
                engineers: vec!["alice".parse().unwrap()],
                targets: vec!["db01".parse().unwrap()],
                starts_at: now,
                ends_at: now + chrono::Duration::hours(2),
                purpose: "apply security patches".into(),
                steps: vec!["apt upgrade".into()],
                allow: Allowances::default(),
                personal_data: None,
                data_deletion: None,
                take_out: None,
            },
            PlanId::generate(),
            by,
            now,
        )
        .unwrap();
        let actor = Actor::Person(by.parse().unwrap());
        self.store.submit_plan(plan, &actor).await.unwrap().id
    }

    async fn status(&self, id: &PlanId) -> PlanStatus {
        self.store.plan(id).await.unwrap().unwrap().status
    }
}

#[tokio::test]
async fn a_wrong_code_signs_no_one_in_and_an_engineer_never_signs_in_at_the_console() {
    let h = hospital().await;
    let wrong = if h.code("olga") == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert!(matches!(
        h.sign_in_with("olga", wrong.to_owned()).await,
        Err(OpError::AuthenticationFailed { .. })
    ));
    // An engineer's right password and code: still no console sign-in.
    let code = h.code("alice");
    let refused = h.sign_in_with("alice", code).await.unwrap_err();
    assert!(
        matches!(refused, OpError::AuthenticationFailed { .. }),
        "{refused:?}"
    );
    assert!(
        refused.to_string().contains("認証に失敗しました"),
        "{refused}"
    );
}

#[tokio::test]
async fn approval_needs_a_second_operator_and_is_recorded_in_their_name() {
    let h = hospital().await;
    let plan = h.submitted_by("olga").await;
    // Four eyes: the submitter can't approve their own plan.
    let olga = h.sign_in("olga").await;
    let own = plan_decision::approve(&*h.store, &olga, &plan, Utc::now()).await;
    assert!(matches!(own, Err(OpError::Plan(_))), "{own:?}");
    assert_eq!(h.status(&plan).await, PlanStatus::Submitted);
    // An auditor reads and never acts.
    let kansa = h.sign_in("kansa").await;
    let audited = plan_decision::approve(&*h.store, &kansa, &plan, Utc::now()).await;
    assert!(
        matches!(audited, Err(OpError::Denied { .. })),
        "{audited:?}"
    );
    assert_eq!(h.status(&plan).await, PlanStatus::Submitted);
    // A second operator approves; the record names them.
    let sasaki = h.sign_in("sasaki").await;
    let approved = plan_decision::approve(&*h.store, &sasaki, &plan, Utc::now())
        .await
        .unwrap();
    assert_eq!(approved.status, PlanStatus::Approved);
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(last.kind.as_str(), "plan.approved");
    assert_eq!(last.actor, "person:sasaki");
}

#[tokio::test]
async fn only_a_planning_manager_confirms_a_report_and_unknown_records_are_named() {
    let h = hospital().await;
    let plan = h.submitted_by("olga").await;
    let sasaki = h.sign_in("sasaki").await;
    let refused = report_confirmation::confirm(&*h.store, &sasaki, &plan, None, Utc::now()).await;
    assert!(
        matches!(refused, Err(OpError::Denied { .. })),
        "{refused:?}"
    );
    assert_eq!(h.status(&plan).await, PlanStatus::Submitted);
    // The manager may confirm, but not a plan that was never worked.
    let mori = h.sign_in("mori").await;
    let early = report_confirmation::confirm(&*h.store, &mori, &plan, None, Utc::now()).await;
    assert!(matches!(early, Err(OpError::Plan(_))), "{early:?}");
    // Unknown plan and session: said so, in both languages.
    let missing = plan_decision::approve(&*h.store, &sasaki, &PlanId::generate(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, OpError::NotFound { kind: "plan", .. })
            && missing.to_string().contains("作業計画"),
        "{missing}"
    );
    let reason: KillReason = "killed by operator".parse().unwrap();
    let kill =
        ops::session_kill::request(&*h.store, &sasaki, &SessionId::generate(), &reason, false)
            .await
            .unwrap_err();
    assert!(
        matches!(
            kill,
            OpError::NotFound {
                kind: "session",
                ..
            }
        ),
        "{kill:?}"
    );
    // An auditor may not kill.
    let kansa = h.sign_in("kansa").await;
    let denied =
        ops::session_kill::request(&*h.store, &kansa, &SessionId::generate(), &reason, false)
            .await
            .unwrap_err();
    assert!(matches!(denied, OpError::Denied { .. }), "{denied:?}");
}

#[tokio::test]
async fn a_plan_is_checked_before_anyone_signs_in_and_stored_only_in_its_submitters_name() {
    let h = hospital().await;
    let now = Utc::now();
    let request = |targets: Vec<&str>| PlanRequest {
        vendor: "acme".parse().unwrap(),
        engineers: vec!["alice".parse().unwrap()],
        targets: targets.into_iter().map(|t| t.parse().unwrap()).collect(),
        starts_at: now,
        ends_at: now + chrono::Duration::hours(2),
        purpose: "replace the RAID controller's firmware".into(),
        steps: vec!["flash".into()],
        allow: Allowances::default(),
        personal_data: None,
        data_deletion: None,
        take_out: None,
    };
    let olga: Login = "olga".parse().unwrap();
    let records = h.store.audit_tail(u32::MAX).await.unwrap().len();
    // An unknown target, engineers of no vendor or none: refused, nothing recorded.
    let unknown = plan_submission::check(&*h.store, request(vec!["db99"]), &olga, now)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, OpError::NotFound { kind: "target", .. }),
        "{unknown:?}"
    );
    let mixed = ["alice".parse().unwrap(), "olga".parse().unwrap()];
    let not_engineer = plan_submission::vendor_of(&*h.store, &mixed)
        .await
        .unwrap_err();
    assert!(
        matches!(&not_engineer, OpError::NotAnEngineer(l) if l.as_str() == "olga"),
        "{not_engineer:?}"
    );
    assert!(matches!(
        plan_submission::vendor_of(&*h.store, &[]).await,
        Err(OpError::NoEngineer)
    ));
    assert_eq!(h.store.audit_tail(u32::MAX).await.unwrap().len(), records);
    // Checked for olga: sasaki can't store it in his name, an auditor may not submit.
    let sasaki = h.sign_in("sasaki").await;
    let checked = plan_submission::check(&*h.store, request(vec!["db01"]), &olga, now)
        .await
        .unwrap();
    let other = plan_submission::submit(&*h.store, &sasaki, checked)
        .await
        .unwrap_err();
    assert!(
        matches!(other, OpError::NotTheSubmitter { .. }),
        "{other:?}"
    );
    let kansa = h.sign_in("kansa").await;
    let checked = plan_submission::check(
        &*h.store,
        request(vec!["db01"]),
        &"kansa".parse().unwrap(),
        now,
    )
    .await
    .unwrap();
    let auditor = plan_submission::submit(&*h.store, &kansa, checked)
        .await
        .unwrap_err();
    assert!(matches!(auditor, OpError::Denied { .. }), "{auditor:?}");
    assert!(h.store.plans().await.unwrap().is_empty());
    // Olga submits it: stored as submitted, on record in her name.
    let olga = h.sign_in("olga").await;
    let checked = plan_submission::check(&*h.store, request(vec!["db01"]), olga.login(), now)
        .await
        .unwrap();
    let stored = plan_submission::submit(&*h.store, &olga, checked)
        .await
        .unwrap();
    assert_eq!(stored.status, PlanStatus::Submitted);
    assert_eq!(stored.submitted_by, "olga");
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(last.kind.as_str(), "plan.submitted");
    assert_eq!(last.actor, "person:olga");
}

#[tokio::test]
async fn accounts_are_enrolled_and_changed_by_administrators_never_on_themselves() {
    use fumidai_core::ops::account_enrolment::{self, AccountSpec, Admin};
    use fumidai_core::ops::account_lifecycle::{self, IdentityNote};
    let h = hospital().await;
    let olga = h.sign_in("olga").await;
    let kansa = h.sign_in("kansa").await;
    let spec = |login: &str, vendor: &str| AccountSpec {
        login: login.parse().unwrap(),
        kind: AccountKind::Engineer,
        name: Some("Taro Yamada".into()),
        vendor: Some(vendor.parse().unwrap()),
        role: None,
    };
    let strong = || SecretString::from("Kusunoki-Gawa-4471");
    // An auditor enrols no one; an unknown vendor and a weak password are refused.
    let denied = account_enrolment::enrol(
        &*h.store,
        Admin::Person(&kansa),
        spec("bob", "acme"),
        (strong(), "fumidai"),
    )
    .await
    .unwrap_err();
    assert!(matches!(denied, OpError::Denied { .. }), "{denied:?}");
    let unknown = account_enrolment::enrol(
        &*h.store,
        Admin::Person(&olga),
        spec("bob", "nobody"),
        (strong(), "fumidai"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(unknown, OpError::NotFound { kind: "vendor", .. }),
        "{unknown:?}"
    );
    let weak = account_enrolment::enrol(
        &*h.store,
        Admin::Person(&olga),
        spec("bob", "acme"),
        (SecretString::from("bob"), "fumidai"),
    )
    .await
    .unwrap_err();
    assert!(matches!(weak, OpError::Password(_)), "{weak:?}");
    assert!(
        h.store
            .account(&"bob".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    // Olga enrols bob: the secret is shown once, the record names her.
    let enrolled = account_enrolment::enrol(
        &*h.store,
        Admin::Person(&olga),
        spec("bob", "acme"),
        (strong(), "fumidai"),
    )
    .await
    .unwrap();
    assert!(enrolled.otpauth_uri.starts_with("otpauth://totp/"));
    assert_eq!(enrolled.account.login.as_str(), "bob");
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(last.kind.as_str(), "account.added");
    assert_eq!(last.actor, "person:olga");
    // Not on oneself: no disabling, no role change; both leave the account as it was.
    let own = account_lifecycle::set_enabled(
        &*h.store,
        &olga,
        (olga.login(), AccountKind::Operator),
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(own, OpError::SelfChange(_)), "{own:?}");
    let role = account_lifecycle::set_role(&*h.store, &olga, olga.login(), OperatorRole::Manager)
        .await
        .unwrap_err();
    assert!(matches!(role, OpError::SelfChange(_)), "{role:?}");
    let stored = h.store.account(olga.login()).await.unwrap().unwrap();
    assert!(stored.enabled);
    assert_eq!(stored.role, Some(OperatorRole::Operator));
    // Another's: done, in the actor's name; an auditor may not.
    let bob: Login = "bob".parse().unwrap();
    let by_auditor =
        account_lifecycle::set_enabled(&*h.store, &kansa, (&bob, AccountKind::Engineer), false)
            .await
            .unwrap_err();
    assert!(
        matches!(by_auditor, OpError::Denied { .. }),
        "{by_auditor:?}"
    );
    let disabled =
        account_lifecycle::set_enabled(&*h.store, &olga, (&bob, AccountKind::Engineer), false)
            .await
            .unwrap();
    assert!(!disabled.enabled);
    // A reset needs an identity note; a TOTP reset gives a new secret, once.
    assert!("short".parse::<IdentityNote>().is_err());
    let note: IdentityNote = "checked the staff card in person".parse().unwrap();
    let alerts = fumidai_core::alerts::Alerts::log_only();
    let again = account_lifecycle::reset_totp(
        &*h.store,
        &olga,
        (&bob, AccountKind::Engineer),
        &note,
        ("fumidai", &alerts),
    )
    .await
    .unwrap();
    assert_ne!(again.totp_secret, enrolled.totp_secret);
    // Nothing to unlock: said before anyone signs in.
    let not_locked =
        account_lifecycle::check_locked(&*h.store, (&bob, AccountKind::Engineer), Utc::now())
            .await
            .unwrap_err();
    assert!(
        matches!(not_locked, OpError::NotLocked(_)),
        "{not_locked:?}"
    );
}

#[tokio::test]
async fn a_target_is_registered_by_an_administrator_and_a_factory_account_needs_a_reason() {
    use fumidai_core::ops::account_enrolment::Admin;
    use fumidai_core::ops::target_admin::{self, Access, TargetChange, TargetSpec};
    let h = hospital().await;
    let olga = h.sign_in("olga").await;
    let kansa = h.sign_in("kansa").await;
    let host_key: policy::target::HostKey =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbtzbuTCEoWb0EW6Cvng2DIy9yStBXjrlkYpltLpOwl"
            .parse()
            .unwrap();
    let spec = |login: &str, reason: Option<&str>| TargetSpec {
        name: "web01".parse().unwrap(),
        address: policy::target::SshAddress::parse("127.0.0.1:2223").unwrap(),
        login: login.into(),
        access: Access::Ssh {
            host_key: host_key.clone(),
            auth: policy::target::TargetAuth::Cert,
            credential: None,
        },
        tags: Vec::new(),
        shared_admin_reason: reason.map(str::to_owned),
    };
    let denied = target_admin::register(&*h.store, Admin::Person(&kansa), spec("maint", None))
        .await
        .unwrap_err();
    assert!(matches!(denied, OpError::Denied { .. }), "{denied:?}");
    // R-10.1-NODEFAULT: `root` only with a stated reason.
    let root = target_admin::register(&*h.store, Admin::Person(&olga), spec("root", None))
        .await
        .unwrap_err();
    assert!(matches!(root, OpError::SharedAdmin(_)), "{root:?}");
    assert!(
        h.store
            .target(&"web01".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let added = target_admin::register(
        &*h.store,
        Admin::Person(&olga),
        spec("root", Some("the appliance has no other account")),
    )
    .await
    .unwrap();
    assert_eq!(added.login, "root");
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(last.actor, "person:olga");
    // A change that changes nothing is refused; an unknown target is named.
    let nothing = target_admin::update(
        &*h.store,
        Admin::Person(&olga),
        &added.name,
        TargetChange::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(nothing, OpError::NothingToChange), "{nothing:?}");
    let unknown = target_admin::update(
        &*h.store,
        Admin::Person(&olga),
        &"web99".parse().unwrap(),
        TargetChange::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(unknown, OpError::NotFound { kind: "target", .. }),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn an_action_asks_a_fresh_code_only_once_and_never_for_someone_disabled() {
    let h = hospital().await;
    let olga = h.sign_in("olga").await;
    // The code used to sign in can't confirm an action: single use.
    let used = h.code("olga");
    let replay = ops::confirm(&h.auth, olga.login(), SecretString::from(used), "https").await;
    assert!(
        matches!(replay, Err(OpError::AuthenticationFailed { .. })),
        "{replay:?}"
    );
    // A wrong code is refused and counted like a failed sign-in.
    let before = h.store.audit_tail(1).await.unwrap().pop().unwrap().seq;
    let wrong = ops::confirm(&h.auth, olga.login(), SecretString::from("000000"), "https").await;
    assert!(wrong.is_err());
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert!(last.seq > before);
    assert_eq!(last.kind.as_str(), "login.failure");
    // The next code confirms: the person comes back, read again from the store.
    let next = |login: &str| {
        let (_, secret) = h.secrets.iter().find(|(l, _)| l.as_str() == login).unwrap();
        secret.code_at(Utc::now() + chrono::Duration::seconds(30))
    };
    let confirmed = ops::confirm(
        &h.auth,
        olga.login(),
        SecretString::from(next("olga")),
        "https",
    )
    .await
    .unwrap();
    assert_eq!(confirmed.login().as_str(), "olga");
    // Disabled since sign-in: refused even with the right code.
    let sasaki = h.sign_in("sasaki").await;
    fumidai_core::ops::account_lifecycle::set_enabled(
        &*h.store,
        &olga,
        (sasaki.login(), AccountKind::Operator),
        false,
    )
    .await
    .unwrap();
    let disabled = ops::confirm(
        &h.auth,
        sasaki.login(),
        SecretString::from(next("sasaki")),
        "https",
    )
    .await;
    assert!(
        matches!(disabled, Err(OpError::AuthenticationFailed { .. })),
        "{disabled:?}"
    );
}
