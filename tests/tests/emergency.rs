//! Emergency access (事後承認, R-10.1-APPROVE, R-11-1): with no plan, an engineer of a vendor
//! allowed emergencies declares one at login (`engineer:target:emergency` and a reason) and
//! gets a session under an emergency plan opened on the spot, which is on record, alerted,
//! and approved afterwards by an operator. A vendor without the permission is refused.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use fumidai_e2e::{Gateway, SshLogin, Sshd};
use serde_json::Value;

const PASSWORD: &str = "Kaede-Hashira-7731";

#[test]
fn an_emergency_opens_a_plan_on_the_spot_that_is_approved_afterwards() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &["--emergency"]);
    gw.add_vendor("beta", &[]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let bob = gw.add_engineer("bob", "beta", PASSWORD);
    // A TOTP code is accepted once per account: each login here is by another engineer.
    let carol = gw.add_engineer("carol", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    // R-11-1: emergencies only on the vendor's contracted targets.
    gw.cli_as_ok("olga", &["vendor", "targets", "add", "acme", "db01"]);
    gw.start();

    // Without the declaration: no plan, no session.
    let mut plain = SshLogin::engineer(&carol);
    plain.user = "carol:db01".into();
    plain.command = Some("echo should-not-run".into());
    let out = plain.run(&gw);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("should-not-run"));

    // With it: asked for the reason, admitted under a fresh emergency plan.
    let mut login = SshLogin::engineer(&alice);
    login.user = "alice:db01:emergency".into();
    login.emergency_reason = "PACS が停止、至急復旧が必要".into();
    login.command = Some("echo emergency-ok".into());
    let out = login.run(&gw);
    assert_eq!(out.code, 0, "{out:?}\n{}", gw.log());
    assert_eq!(out.stdout, "emergency-ok\n");
    assert!(
        out.prompts.iter().any(|p| p.contains("緊急対応の理由")),
        "{out:?}"
    );
    let opened = gw.wait_audit_kind("plan.emergency");
    let plan_id = opened["subject"].as_str().unwrap().to_owned();
    assert_eq!(opened["detail"]["purpose"], "PACS が停止、至急復旧が必要");
    let started = gw.wait_audit_kind("session.started");
    assert_eq!(started["detail"]["plan_id"], plan_id.as_str());
    assert!(gw.log().contains("Emergency access"), "{}", gw.log());
    // R-11-1: the plan covers the one session that opened it, and closes with it.
    gw.wait_audit("plan.closed", &plan_id);
    let plans: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    let plan = &plans[0];
    assert_eq!(
        (plan["kind"].as_str(), plan["status"].as_str()),
        (Some("emergency"), Some("closed"))
    );
    assert_eq!(
        plan["allow"]["download"], false,
        "an emergency allows a terminal only"
    );

    // Approved afterwards by someone else; the plan stays in its state.
    assert!(
        !gw.cli_as("alice", &["plan", "approve", &plan_id])
            .status
            .success()
    );
    gw.approve(&plan_id, "olga");
    let plans: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    assert_eq!(plans[0]["decided_by"], "olga");
    assert_eq!(plans[0]["status"], "closed");

    // A vendor without the permission is told so.
    let mut refused = SshLogin::engineer(&bob);
    refused.user = "bob:db01:emergency".into();
    refused.emergency_reason = "urgent".into();
    refused.command = Some("echo should-not-run".into());
    let out = refused.run(&gw);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("緊急時のアクセスが許可されていません"),
        "{out:?}"
    );
    let denied = gw.wait_audit_kind("session.denied");
    assert_eq!(denied["detail"]["reason"], "emergency_not_allowed");
}

// R-10.1-APPROVE: an operator watching `session list --live` sees at a glance which live
// session is an emergency access still waiting for its approval afterwards (事後承認).
#[test]
fn a_live_emergency_session_is_marked_in_the_session_list() {
    let sshd = Sshd::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &["--emergency"]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    let bob = gw.add_engineer("bob", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_target("db01", &sshd);
    gw.cli_as_ok("olga", &["vendor", "targets", "add", "acme", "db01"]);
    gw.plan("bob", "db01", -5, 60, Some("olga"));
    gw.start();

    let run = |login: SshLogin| login.run(&gw);
    let mut emergency = SshLogin::engineer(&alice);
    emergency.user = "alice:db01:emergency".into();
    emergency.emergency_reason = "PACS が停止、至急復旧が必要".into();
    emergency.command = Some("echo started; sleep 60".into());
    let mut planned = SshLogin::engineer(&bob);
    planned.user = "bob:db01".into();
    planned.command = Some("echo started; sleep 60".into());

    std::thread::scope(|s| {
        let engineers = [s.spawn(|| run(emergency)), s.spawn(|| run(planned))];
        let live: Vec<Value> = fumidai_e2e::wait_for(
            "two live sessions",
            std::time::Duration::from_secs(30),
            || {
                let out = gw.cli_ok(&["--json", "session", "list", "--live"]);
                let live: Vec<Value> = serde_json::from_str(&out).unwrap();
                (live.len() == 2).then_some(live)
            },
        );
        let of = |sessions: &[Value], engineer: &str| -> Value {
            sessions
                .iter()
                .find(|s| s["engineer"] == engineer)
                .unwrap_or_else(|| panic!("no session of {engineer}: {sessions:#?}"))
                .clone()
        };
        let (a, b) = (of(&live, "alice"), of(&live, "bob"));
        assert_eq!(a["plan_kind"], "emergency", "{a:#}");
        assert_eq!(a["emergency_approval"], "pending", "{a:#}");
        assert_eq!(b["plan_kind"], "planned", "{b:#}");
        assert_eq!(b["emergency_approval"], Value::Null, "{b:#}");
        // The record's own fields are still there, flat.
        assert!(
            a["started_at"].is_string() && a["plan"].is_string(),
            "{a:#}"
        );

        let text = |args: &[&str]| -> (String, String) {
            let out = gw.cli_ok(args);
            let line = |id: &Value| {
                out.lines()
                    .find(|l| l.starts_with(id.as_str().unwrap()))
                    .unwrap_or_else(|| panic!("{id} not listed:\n{out}"))
                    .to_owned()
            };
            (line(&a["id"]), line(&b["id"]))
        };
        for args in [&["session", "list", "--live"][..], &["session", "list"][..]] {
            let (a_line, b_line) = text(args);
            assert!(
                a_line.contains("[EMERGENCY 緊急: 事後承認待ち / approval pending]"),
                "{a_line}"
            );
            assert!(a_line.ends_with("live"), "{a_line}");
            assert!(!b_line.contains("EMERGENCY"), "{b_line}");
        }

        // Approved afterwards: still an emergency, no longer pending.
        let plan = a["plan"].as_str().unwrap();
        gw.approve(plan, "olga");
        let live: Vec<Value> =
            serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap();
        let a = of(&live, "alice");
        assert_eq!(a["plan_kind"], "emergency", "{a:#}");
        assert_eq!(a["emergency_approval"], "approved", "{a:#}");
        let (a_line, _) = text(&["session", "list", "--live"]);
        assert!(
            a_line.contains("[EMERGENCY 緊急: 事後承認済み / approved afterwards]"),
            "{a_line}"
        );

        for session in &live {
            gw.cli_as_ok(
                gw.ensure_submitter(),
                &["session", "kill", session["id"].as_str().unwrap()],
            );
        }
        for engineer in engineers {
            let out = engineer.join().unwrap();
            assert_eq!(out.stdout, "started\n", "{out:?}");
        }
    });
}
