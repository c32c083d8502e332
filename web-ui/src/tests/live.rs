//! The Live pages (issue 15 §3 "Live", R-10.2-REVIEW): the list (here and on another
//! node, actions by role), the kill (reason, block, who; refusals record nothing), and the
//! watch over a real WebSocket against a served console: refused without a session,
//! cross-origin, without `Origin`, for an engineer; the recent screen then the events for
//! several watchers at once; a browser that sends anything is cut off; a sign-out ends
//! the watch; each watch on record with its span.

use std::time::Duration as StdDuration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::{self, Message};

use super::*;

#[tokio::test]
async fn the_list_shows_sessions_here_and_on_other_nodes_with_what_each_role_may_do() {
    let h = hospital().await;
    let (here, _guard) = h.live_session().await;
    // Started by another node: in the store only.
    let plan = h.plan_by("sasaki", "elsewhere").await;
    let elsewhere = SessionId::generate();
    h.store
        .start_session(store::NewSession {
            id: elsewhere,
            engineer: "alice".parse().unwrap(),
            target: "db01".parse().unwrap(),
            plan,
            client_addr: "192.0.2.8:50000".parse().unwrap(),
            recording: None,
        })
        .await
        .unwrap();
    let olga = h.sign_in("olga").await;
    let page = body(h.send(get("/live", Some(&olga.cookie))).await).await;
    assert!(page.contains(&format!("/live/{here}/watch")), "{page}");
    assert!(
        !page.contains(&format!("/live/{elsewhere}/watch")),
        "{page}"
    );
    assert!(page.contains("接続中（別のノード）"), "{page}");
    assert!(page.contains(&format!("/live/{here}/kill")));
    assert!(page.contains(&format!("/live/{elsewhere}/kill")));
    assert!(page.contains("無操作時間") && page.contains("作業時間帯の終了"));
    // An auditor watches but is offered no kill.
    let kansa = h.sign_in("kansa").await;
    let page = body(h.send(get("/live", Some(&kansa.cookie))).await).await;
    assert!(page.contains(&format!("/live/{here}/watch")), "{page}");
    assert!(!page.contains("/kill"), "{page}");
    // The watch page of the other node's session says where to watch it.
    let r = h
        .send(get(&format!("/live/{elsewhere}/watch"), Some(&olga.cookie)))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(body(r).await.contains("別のゲートウェイノード"));
}

#[tokio::test]
async fn a_kill_from_the_page_is_recorded_in_the_persons_name_and_refusals_record_nothing() {
    let h = hospital().await;
    let (id, _guard) = h.live_session().await;
    let path = format!("/live/{id}/kill");
    let olga = h.sign_in("olga").await;
    let kansa = h.sign_in("kansa").await;
    let before = h.head().await;

    // An auditor, a reason with a control character, an empty reason, another site:
    // refused, nothing recorded.
    let form = |b: &Browser, reason: &str| {
        vec![
            ("csrf", b.csrf.clone()),
            ("reason", reason.to_owned()),
            ("block", "yes".to_owned()),
        ]
    };
    let send = |b: &Browser, reason: &str| {
        let fields = form(b, reason);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&path, Some(&b.cookie), &pairs)
    };
    let r = h.send(send(&kansa, "looks odd")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(body(r).await.contains("監査担当"));
    let r = h.send(send(&olga, "bad\u{1b}]0;x\u{7}")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body(r).await.contains("制御文字"));
    assert_eq!(
        h.send(send(&olga, "   ")).await.status(),
        StatusCode::BAD_REQUEST
    );
    let fields = form(&olga, "cross");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = h
        .send(post_from(
            &path,
            Some(&olga.cookie),
            &pairs,
            Some("https://evil.example"),
            Some("cross-site"),
        ))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(h.audit_kinds_after(before).await.is_empty());

    // The operator kills it with a reason and bars alice from the plan: no code asked.
    let r = h.send(send(&olga, "不審な操作 / suspicious")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), format!("/live?killed={id}"));
    let kills = h.store.pending_kills().await.unwrap();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0].reason, "不審な操作 / suspicious");
    assert_eq!(
        h.audit_kinds_after(before).await,
        [
            ("session.killed".to_owned(), "person:olga".to_owned()),
            ("plan.engineer_blocked".to_owned(), "person:olga".to_owned()),
        ]
    );
    let page = body(h.send(get("/live?killed=1", Some(&olga.cookie))).await).await;
    assert!(page.contains("強制終了を要求済み") && page.contains("強制終了を要求しました"));
    // Again: already pending.
    let r = h.send(send(&olga, "again")).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

/// The console served on a loopback port, as `serve` does.
async fn served(h: &Hospital) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = h
        .app
        .clone()
        .into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr.to_string()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the watch socket of `id` with `cookie` and `origin`; the handshake's refusal
/// status otherwise.
async fn open(
    addr: &str,
    id: &SessionId,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    use tungstenite::client::IntoClientRequest as _;
    let mut req = format!("ws://{addr}/live/{id}/watch/socket")
        .into_client_request()
        .unwrap();
    if let Some(cookie) = cookie {
        req.headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
    }
    if let Some(origin) = origin {
        req.headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("handshake: {other}"),
    }
}

/// The next message within a few seconds.
async fn next(socket: &mut Socket) -> Message {
    tokio::time::timeout(StdDuration::from_secs(10), socket.next())
        .await
        .expect("a message within 10 s")
        .expect("the socket open")
        .expect("a message")
}

#[tokio::test]
async fn watching_goes_over_a_same_origin_websocket_that_takes_nothing_from_the_browser() {
    let h = hospital().await;
    let (id, guard) = h.live_session().await;
    let feed = h.live.screen(&id).unwrap();
    feed.size(100, 30);
    feed.output(&bytes::Bytes::from_static(b"$ echo before\r\nbefore\r\n"));
    let addr = served(&h).await;
    let origin = format!("http://{addr}");
    let olga = h.sign_in("olga").await;
    let kansa = h.sign_in("kansa").await;
    let alice = h.forged_session("alice").await;
    let before = h.head().await;

    // Refused: no session, another site's page, no Origin, an engineer, no such session.
    assert_eq!(open(&addr, &id, None, Some(&origin)).await.err(), Some(303));
    let evil = Some("https://evil.example");
    assert_eq!(
        open(&addr, &id, Some(&olga.cookie), evil).await.err(),
        Some(403)
    );
    assert_eq!(
        open(&addr, &id, Some(&olga.cookie), None).await.err(),
        Some(403)
    );
    assert_eq!(
        open(&addr, &id, Some(&alice.cookie), Some(&origin))
            .await
            .err(),
        Some(403)
    );
    assert_eq!(
        open(
            &addr,
            &SessionId::generate(),
            Some(&olga.cookie),
            Some(&origin)
        )
        .await
        .err(),
        Some(404)
    );
    assert!(h.audit_kinds_after(before).await.is_empty());

    // Held by another node (in the store only): watched there, not here.
    let plan = h.plan_by("sasaki", "elsewhere").await;
    let elsewhere = SessionId::generate();
    h.store
        .start_session(store::NewSession {
            id: elsewhere,
            engineer: "alice".parse().unwrap(),
            target: "db01".parse().unwrap(),
            plan,
            client_addr: "192.0.2.8:50000".parse().unwrap(),
            recording: None,
        })
        .await
        .unwrap();
    let before = h.head().await;
    assert_eq!(
        open(&addr, &elsewhere, Some(&olga.cookie), Some(&origin))
            .await
            .err(),
        Some(409)
    );
    assert!(h.audit_kinds_after(before).await.is_empty());

    // Two watchers at once: each gets the size and the screen as it is, then what follows.
    let mut first = open(&addr, &id, Some(&olga.cookie), Some(&origin))
        .await
        .unwrap();
    let mut second = open(&addr, &id, Some(&kansa.cookie), Some(&origin))
        .await
        .unwrap();
    for socket in [&mut first, &mut second] {
        assert_eq!(next(socket).await, Message::text("{\"size\":[100,30]}"));
        assert_eq!(
            next(socket).await,
            Message::binary(&b"$ echo before\r\nbefore\r\n"[..])
        );
    }
    let sent = std::time::Instant::now();
    feed.output(&bytes::Bytes::from_static(
        b"\x1b]52;c;aGk=\x07<script>x</script>",
    ));
    feed.size(120, 40);
    for socket in [&mut first, &mut second] {
        assert_eq!(
            next(socket).await,
            Message::binary(&b"\x1b]52;c;aGk=\x07<script>x</script>"[..])
        );
        let behind = sent.elapsed();
        eprintln!("a watcher got the output {behind:?} after the feed");
        assert!(behind < StdDuration::from_secs(1), "{behind:?} behind");
        assert_eq!(next(socket).await, Message::text("{\"size\":[120,40]}"));
    }

    // The browser sends something: a read-only view never does; its watch ends.
    second.send(Message::text("ls\r")).await.unwrap();
    loop {
        match next(&mut second).await {
            Message::Close(frame) => {
                assert_eq!(frame.unwrap().reason.as_str(), "browser_sent_input");
                break;
            }
            Message::Text(t) => assert_eq!(t.as_str(), "{\"end\":\"browser_sent_input\"}"),
            other => panic!("{other:?}"),
        }
    }

    // The session ends: the other watcher is told, and its watch ends.
    drop(feed);
    drop(guard);
    assert_eq!(
        next(&mut first).await,
        Message::text("{\"end\":\"session_ended\"}")
    );
    let ends = wait_records(&h, before, 4).await;
    let kinds: Vec<(&str, &str, &str)> = ends
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.actor.as_str(),
                r.detail["why"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("session.watch_started", "person:olga", ""),
            ("session.watch_started", "person:kansa", ""),
            ("session.watch_ended", "person:kansa", "browser_sent_input"),
            ("session.watch_ended", "person:olga", "session_ended"),
        ]
    );
    assert!(
        ends.iter()
            .all(|r| r.subject == id.to_string() && r.detail["session_id"] == id.to_string())
    );
    assert_eq!(ends[0].detail["watch_id"], ends[3].detail["watch_id"]);
}

#[tokio::test]
async fn a_watch_ends_when_its_console_session_does() {
    let h = hospital().await;
    let (id, _guard) = h.live_session().await;
    let addr = served(&h).await;
    let olga = h.sign_in("olga").await;
    let mut socket = open(
        &addr,
        &id,
        Some(&olga.cookie),
        Some(&format!("http://{addr}")),
    )
    .await
    .unwrap();
    let r = h
        .send(post("/logout", Some(&olga.cookie), &[("csrf", &olga.csrf)]))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Within one re-check.
    let end = tokio::time::timeout(crate::pages::live_watch::RECHECK * 3, socket.next())
        .await
        .expect("the watch ends within the re-check")
        .unwrap()
        .unwrap();
    assert_eq!(end, Message::text("{\"end\":\"signed_out\"}"));
}

/// The audit records after `seq`, once there are `n`.
async fn wait_records(h: &Hospital, seq: i64, n: usize) -> Vec<store::AuditRecord> {
    for _ in 0..100 {
        let records: Vec<_> = h
            .store
            .audit_tail(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.seq > seq)
            .collect();
        if records.len() >= n {
            return records;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("fewer than {n} records after {seq}");
}
