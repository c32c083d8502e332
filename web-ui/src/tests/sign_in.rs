//! Sign-in and sign-out (issue 15 §2, R-12.3.2): the cookie, refusals that read alike,
//! the rate limit, the idle rule, sign-out on record.

use super::*;

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
