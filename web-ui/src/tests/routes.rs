//! Every route × every role × signed out (issue 15 §4): the status each gets, in one table.

use super::*;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Operator,
    Manager,
    Auditor,
    Engineer,
    SignedOut,
}

#[tokio::test]
async fn every_route_for_every_role() {
    use StatusCode as S;
    use Who::*;
    let h = hospital().await;
    let plan = h.plan_by("sasaki", "patching").await;
    let session = h.recorded_session().await;
    let mut browsers: HashMap<&str, Browser> = HashMap::new();
    browsers.insert("olga", h.sign_in("olga").await);
    browsers.insert("mori", h.sign_in("mori").await);
    browsers.insert("kansa", h.sign_in("kansa").await);
    browsers.insert("alice", h.forged_session("alice").await);
    let login_of = |who: Who| match who {
        Operator => Some("olga"),
        Manager => Some("mori"),
        Auditor => Some("kansa"),
        Engineer => Some("alice"),
        SignedOut => None,
    };
    let plan_path = format!("/plans/{plan}");
    let (live, _guard) = h.live_session().await;
    // (method, path, [operator, manager, auditor, engineer, signed out])
    // Actions are posted with a wrong code: an allowed role gets as far as the
    // credential check (401); a role that may not act is refused before it (403).
    let table: Vec<(&str, String, [S; 5])> = vec![
        ("GET", "/healthz".into(), [S::OK; 5]),
        (
            "GET",
            "/login".into(),
            [S::SEE_OTHER, S::SEE_OTHER, S::SEE_OTHER, S::OK, S::OK],
        ),
        ("GET", "/lang?to=en&back=/plans".into(), [S::SEE_OTHER; 5]),
        (
            "GET",
            "/".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/plans".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/plans?status=bogus".into(),
            [
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            plan_path.clone(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/plans/{}", PlanId::generate()),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/plans/not-a-plan".into(),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "POST",
            format!("{plan_path}/approve"),
            [
                S::UNAUTHORIZED,
                S::UNAUTHORIZED,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "POST",
            format!("{plan_path}/reject"),
            [
                S::UNAUTHORIZED,
                S::UNAUTHORIZED,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "POST",
            format!("{plan_path}/withdraw"),
            [
                S::UNAUTHORIZED,
                S::UNAUTHORIZED,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/live".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/live/{live}/watch"),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/live/{}/watch", SessionId::generate()),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        // The socket without an upgrade (oneshot has none): as far as the upgrade for
        // whoever may watch; the real handshake is tested in `tests::live`.
        (
            "WS",
            format!("/live/{live}/watch/socket"),
            [
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        // A kill of a session nobody holds: as far as the op for whoever may kill.
        (
            "POST",
            format!("/live/{}/kill", SessionId::generate()),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/reports".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        // The ID ledger: read by every hospital-side role; changes need ManageAccounts
        // (an auditor is refused before the code: 422 with the reason).
        (
            "GET",
            "/admin/accounts".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/admin/accounts/alice".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "POST",
            "/admin/accounts/alice/disable".into(),
            [
                S::UNPROCESSABLE_ENTITY,
                S::UNPROCESSABLE_ENTITY,
                S::UNPROCESSABLE_ENTITY,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "POST",
            "/admin/accounts/alice/nonsense".into(),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        // Compliance needs the configuration, which this test state doesn't give.
        (
            "GET",
            "/compliance".into(),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/review".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        // The audit trail: every hospital-side role reads it (auditors above all).
        (
            "GET",
            "/audit".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/audit?kind=no.such.kind".into(),
            [
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/audit/export?format=csv".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/audit/export?format=xml".into(),
            [
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "POST",
            "/audit/verify".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/reports/{plan}"),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            format!("/reports/{plan}/document"),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        // No report for this plan yet: nothing to confirm, whoever asks (the order of
        // the checks on a real report is `a_manager_confirms_a_sealed_report…`'s).
        (
            "POST",
            format!("/reports/{plan}/confirm"),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/sessions".into(),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            "/sessions?state=bogus".into(),
            [
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::BAD_REQUEST,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            format!("/sessions/{session}"),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/sessions/{}", policy::ids::SessionId::generate()),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            "/sessions/not-a-session".into(),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            format!("/sessions/{session}/play/0"),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        (
            "GET",
            format!("/sessions/{session}/play/7"),
            [
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::NOT_FOUND,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            format!("/sessions/{session}/play/0/cast?grant=guess"),
            [
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        (
            "GET",
            format!("/sessions/{session}/play/rdp/frame?grant=guess"),
            [
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
        // An override of an intact recording simply plays it (on record).
        (
            "POST",
            format!("/sessions/{session}/play/0"),
            [S::OK, S::OK, S::OK, S::FORBIDDEN, S::SEE_OTHER],
        ),
        ("GET", "/nope".into(), [S::NOT_FOUND; 5]),
        // Last: signs each out.
        (
            "POST",
            "/logout".into(),
            [
                S::SEE_OTHER,
                S::SEE_OTHER,
                S::SEE_OTHER,
                S::FORBIDDEN,
                S::SEE_OTHER,
            ],
        ),
    ];
    for (method, path, expected) in &table {
        for (who, want) in [Operator, Manager, Auditor, Engineer, SignedOut]
            .into_iter()
            .zip(expected)
        {
            let browser = login_of(who).map(|l| &browsers[l]);
            let cookie = browser.map(|b| b.cookie.as_str());
            let csrf = browser.map_or("", |b| b.csrf.as_str());
            let req = match *method {
                "GET" => get(path, cookie),
                "WS" => socket_request(path, cookie),
                _ => post(
                    path,
                    cookie,
                    &[
                        ("csrf", csrf),
                        ("password", PASSWORD),
                        ("code", "000000"),
                        ("reason", "table"),
                    ],
                ),
            };
            let r = h.send(req).await;
            assert_eq!(r.status(), *want, "{method} {path} as {who:?}");
        }
    }
    assert_eq!(h.status_of(&plan).await, PlanStatus::Submitted);
    assert!(h.store.pending_kills().await.unwrap().is_empty());
}
