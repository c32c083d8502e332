//! The record-keeping pages (issue 15 §3): reports (a sealed report read and confirmed, an
//! altered one not shown), the audit trail (filters, export, verification) and the ID
//! ledger (enrolment and the life cycle in the actor's name).

use super::*;

/// A manager reads a sealed report in the page (its document framed under its own, narrow
/// policy) and confirms it with a fresh code; an operator sees no form and is refused on
/// post; a report whose stored copy was altered is not shown at all (R-10-5).
#[tokio::test]
async fn a_manager_confirms_a_sealed_report_and_an_altered_one_is_not_shown() {
    let h = hospital().await;
    let plan = h
        .plan_by("sasaki", "patching <script>alert(1)</script>")
        .await;
    let olga = h.sign_in("olga").await;
    let code = h.code("olga", 1);
    let r = h
        .send(post(
            &format!("/plans/{plan}/approve"),
            Some(&olga.cookie),
            &[("csrf", &olga.csrf), ("code", &code)],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The window is over three hours from now: the report is produced then.
    let later = Utc::now() + Duration::hours(3);
    let rules = policy::risk::RuleSet::shipped();
    fumidai_core::report::produce(&*h.store, &h.data, &h.signing, &rules, &plan, later)
        .await
        .unwrap();
    assert_eq!(h.status_of(&plan).await, PlanStatus::Reported);
    // The list shows it waiting; the page shows it sealed, the document under its policy.
    let list = body(h.send(get("/reports", Some(&olga.cookie))).await).await;
    assert!(list.contains(&format!("/reports/{plan}")), "{list}");
    let page = h
        .send(get(&format!("/reports/{plan}"), Some(&olga.cookie)))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.contains("frame-src 'self'") && !policy.contains("unsafe"),
        "{policy}"
    );
    let html = body(page).await;
    assert!(!html.contains("id=\"confirm\""), "an operator gets no form");
    let doc = h
        .send(get(
            &format!("/reports/{plan}/document"),
            Some(&olga.cookie),
        ))
        .await;
    let doc_policy = doc.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        doc_policy.contains("style-src 'sha256-") && !doc_policy.contains("script-src"),
        "{doc_policy}"
    );
    assert_eq!(doc.headers()[header::X_FRAME_OPTIONS], "SAMEORIGIN");
    let text = body(doc).await;
    assert!(
        !text.contains("<script>alert(1)"),
        "plan text escaped in the document"
    );
    // An operator's post is refused before any code is spent.
    let refused = h
        .send(post(
            &format!("/reports/{plan}/confirm"),
            Some(&olga.cookie),
            &[("csrf", &olga.csrf), ("code", &h.code("olga", 1))],
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(h.status_of(&plan).await, PlanStatus::Reported);
    // The manager with a wrong code: refused at the code, nothing changed.
    let mori = h.sign_in("mori").await;
    let wrong = h
        .send(post(
            &format!("/reports/{plan}/confirm"),
            Some(&mori.cookie),
            &[("csrf", &mori.csrf), ("code", "000000")],
        ))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.status_of(&plan).await, PlanStatus::Reported);
    // The manager confirms with a finding and a fresh code; the record names her.
    let html = body(
        h.send(get(&format!("/reports/{plan}"), Some(&mori.cookie)))
            .await,
    )
    .await;
    assert!(html.contains("id=\"confirm\""), "{html}");
    let code = h.code("mori", 1);
    let r = h
        .send(post(
            &format!("/reports/{plan}/confirm"),
            Some(&mori.cookie),
            &[
                ("csrf", &mori.csrf),
                ("code", &code),
                ("finding", "no objection"),
            ],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/reports/{plan}?done=confirmed"));
    assert_eq!(h.status_of(&plan).await, PlanStatus::Confirmed);
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(last.actor, "person:mori");
    // A stored report altered behind the gateway's back is not shown.
    let db = h._dir.path().join("t.db");
    let conn = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&conn).await.unwrap();
    sqlx::query("UPDATE reports SET body = replace(body, 'patching', 'patchinG')")
        .execute(&pool)
        .await
        .unwrap();
    let altered = h
        .send(get(&format!("/reports/{plan}"), Some(&mori.cookie)))
        .await;
    assert_ne!(altered.status(), StatusCode::OK);
}

/// The audit page filters and pages, shows hostile text as text, exports the range with
/// its hashes, and verifies the chain on a post.
#[tokio::test]
async fn the_audit_trail_is_filtered_exported_and_verified() {
    let h = hospital().await;
    let plan = h.plan_by("sasaki", "x").await;
    h.store
        .append_audit(
            store::AuditEvent::new(
                store::AuditKind::ConfigLoaded,
                Actor::System,
                "<script>alert(1)</script>",
            )
            .with_detail(serde_json::json!({ "note": "\u{1b}]52;c;cGF5bG9hZA==\u{7}" })),
        )
        .await
        .unwrap();
    let kansa = h.sign_in("kansa").await;
    let page = body(h.send(get("/audit", Some(&kansa.cookie))).await).await;
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(
        !page.contains('\u{1b}'),
        "escape characters shown as symbols"
    );
    // Filtered by kind and subject: only that plan's submission.
    let filtered = body(
        h.send(get(
            &format!("/audit?kind=plan.submitted&subject={plan}"),
            Some(&kansa.cookie),
        ))
        .await,
    )
    .await;
    // (The kind selector lists every kind: the rows are what count.)
    assert!(
        filtered.contains("<td class=\"mono\">plan.submitted</td>"),
        "{filtered}"
    );
    assert!(
        !filtered.contains("<td class=\"mono\">config.loaded</td>"),
        "{filtered}"
    );
    // The export: JSON Lines with the hashes, oldest first.
    let r = h
        .send(get("/audit/export?format=jsonl", Some(&kansa.cookie)))
        .await;
    assert!(
        r.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("attachment"),
    );
    let text = body(r).await;
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 3, "{text}");
    for pair in records.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"], "a contiguous chain");
    }
    // Verify now: intact.
    let verified = body(
        h.send(post(
            "/audit/verify",
            Some(&kansa.cookie),
            &[("csrf", &kansa.csrf)],
        ))
        .await,
    )
    .await;
    assert!(verified.contains("すべて改ざんなし"), "{verified}");
}

/// An operator enrols an engineer (the secret shown once), disables her with a fresh code;
/// an auditor may not; nobody disables themselves.
#[tokio::test]
async fn accounts_are_enrolled_and_disabled_from_the_console_in_the_actors_name() {
    let h = hospital().await;
    let olga = h.sign_in("olga").await;
    let code = h.code("olga", 1);
    let page = body(
        h.send(post(
            "/admin/accounts",
            Some(&olga.cookie),
            &[
                ("csrf", &olga.csrf),
                ("code", &code),
                ("login", "hanako"),
                ("kind", "engineer"),
                ("vendor", "acme"),
                ("name", "Hanako Sato"),
                ("password", "Tsubaki-Mori-5531"),
            ],
        ))
        .await,
    )
    .await;
    assert!(page.contains("id=\"totp-secret\""), "{page}");
    assert!(page.contains("otpauth://totp/"), "{page}");
    let hanako: Login = "hanako".parse().unwrap();
    let stored = h.store.account(&hanako).await.unwrap().unwrap();
    assert!(stored.enabled);
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        ("account.added", "person:olga")
    );
    // The ledger shows it again without its secret.
    let ledger = body(h.send(get("/admin/accounts", Some(&olga.cookie))).await).await;
    assert!(ledger.contains("hanako") && !ledger.contains("totp-secret"));
    // An auditor may not disable her; nothing changes.
    let kansa = h.sign_in("kansa").await;
    let refused = h
        .send(post(
            "/admin/accounts/hanako/disable",
            Some(&kansa.cookie),
            &[("csrf", &kansa.csrf), ("code", &h.code("kansa", 1))],
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(h.store.account(&hanako).await.unwrap().unwrap().enabled);
    // Olga may not disable herself.
    let own = h
        .send(post(
            "/admin/accounts/olga/disable",
            Some(&olga.cookie),
            &[("csrf", &olga.csrf), ("code", &h.code("olga", 2))],
        ))
        .await;
    assert_eq!(own.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let olga_login: Login = "olga".parse().unwrap();
    assert!(h.store.account(&olga_login).await.unwrap().unwrap().enabled);
    // A manager disables hanako with a fresh code: done, in her name.
    let mori = h.sign_in("mori").await;
    let done = h
        .send(post(
            "/admin/accounts/hanako/disable",
            Some(&mori.cookie),
            &[("csrf", &mori.csrf), ("code", &h.code("mori", 1))],
        ))
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(!h.store.account(&hanako).await.unwrap().unwrap().enabled);
    let last = h.store.audit_tail(1).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.actor.as_str()),
        ("account.disabled", "person:mori")
    );
}
