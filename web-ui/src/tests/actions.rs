//! What a signed-in person posts (issue 15 §2, §4): CSRF and origin, the fresh code and
//! four eyes, hostile plan text, `/metrics` and `/healthz`, the plan list's filters.

use super::*;

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
