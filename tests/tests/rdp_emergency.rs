//! An emergency over RDP (R-11-1, issue 12): the ticket issued under an emergency admits its
//! one RDP connection under that emergency plan (plain admission ignores emergency plans),
//! and the plan closes when that session ends, so it admits nothing afterwards.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::Duration;

use fumidai_e2e::rdp::{Display, Xfreerdp, Xrdp};
use fumidai_e2e::tools::wait_for;
use fumidai_e2e::{Gateway, RdpTunnel};
use serde_json::Value;

const PASSWORD: &str = "Crimson-Harbor-Sail-91";

fn live(gw: &Gateway) -> Vec<Value> {
    serde_json::from_str(&gw.cli_ok(&["--json", "session", "list", "--live"])).unwrap()
}

#[test]
fn an_emergency_ticket_admits_its_one_rdp_session_and_the_plan_closes_with_it() {
    let xrdp = Xrdp::start();
    let mut gw = Gateway::init();
    gw.add_vendor("acme", &["--emergency"]);
    let alice = gw.add_engineer("alice", "acme", PASSWORD);
    gw.add_operator("olga", "operator");
    gw.add_rdp_target(
        "win01",
        &xrdp.address().to_string(),
        xrdp.user(),
        xrdp.password(),
        &xrdp.fingerprint().hex(),
    );
    gw.cli_as_ok("olga", &["vendor", "targets", "add", "acme", "win01"]);
    gw.start();

    let tunnel = RdpTunnel::open_with(&gw, &alice, "win01", &["--emergency", "PACS 停止"])
        .expect("an emergency credential");
    let plans: Vec<Value> = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    assert_eq!(plans.len(), 1, "{plans:#?}");
    let plan = plans[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(plans[0]["kind"], "emergency");

    let display = Display::start();
    let mut xf = Xfreerdp::start(&display, &tunnel.config(&tunnel.user(), &tunnel.password()));
    xf.wait_connected(Duration::from_secs(20));
    let session = wait_for("the live RDP session", Duration::from_secs(10), || {
        live(&gw).into_iter().next()
    });
    assert_eq!(session["plan"], plan.as_str(), "{session:#}");

    gw.cli_as_ok(
        "olga",
        &[
            "session",
            "kill",
            session["id"].as_str().unwrap(),
            "--reason",
            "test",
        ],
    );
    let closed = gw.wait_audit("plan.closed", &plan);
    assert_eq!(
        closed["detail"]["cause"], "emergency_session_ended",
        "{closed:#}"
    );
    let shown: Value =
        serde_json::from_str(&gw.cli_ok(&["--json", "plan", "show", &plan])).unwrap();
    assert_eq!(shown["status"], "closed");
    drop(xf);
}
