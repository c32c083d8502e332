//! The Sessions pages and playback (issue 15 §3): the list and the detail read a real
//! store; playback checks the seal of a real sealed recording, refuses a tampered one
//! unless overridden with a reason (audited), audits every playback (R-17-2), hands out
//! the recording's data only under its grant, and shows hostile session text as text.

use std::path::Path;

use chrono::Utc;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePublicKey;
use fumidai_core::datadir::DataDir;
use policy::ids::SessionId;
use recorder::sink::LocalDisk;
use recorder::{FileKind, RecordingId, Statement};
use serde_json::json;
use store::{AuditEvent, AuditKind, NewSession, RecordingSeal};

use super::*;

/// The gateway's key in these tests (fixed: the data directory and the seals agree).
fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A data directory under `root` with the gateway's public key, as `init` leaves it.
pub(super) fn data_dir(root: &Path) -> DataDir {
    let dir = DataDir::new(root.join("data"));
    std::fs::create_dir_all(dir.recordings()).unwrap();
    let pem = signing_key()
        .verifying_key()
        .to_public_key_pem(Default::default())
        .unwrap();
    std::fs::write(dir.signing_public_key(), pem).unwrap();
    dir
}

/// What the engineer typed and the target answered, as cast events.
const HOSTILE: &str = "<script>alert(1)</script>";

impl Hospital {
    fn dir(&self) -> DataDir {
        DataDir::new(self._dir.path().join("data"))
    }

    /// A session of alice on db01, ended, with one sealed shell channel (channel 0) in
    /// which she ran `echo <script>…` and `ls`.
    pub(super) async fn recorded_session(&self) -> SessionId {
        let plan_id = self.plan_by("sasaki", "patching").await;
        let plan = self.store.plan(&plan_id).await.unwrap().unwrap();
        let approved =
            policy::plan::approve(&plan, policy::plan::Approver::operator("olga"), Utc::now())
                .unwrap();
        self.store.decide_plan(approved, &cli()).await.unwrap();
        let id = SessionId::generate();
        let session = self
            .store
            .start_session(NewSession {
                id,
                engineer: "alice".parse().unwrap(),
                target: "db01".parse().unwrap(),
                plan: plan_id,
                client_addr: "192.0.2.10:50022".parse().unwrap(),
                recording: None,
            })
            .await
            .unwrap();
        let recording = RecordingId::channel(*id.as_uuid(), 0);
        let names: Vec<String> = FileKind::SSH
            .iter()
            .map(|k| LocalDisk::name(&recording, session.started_at, *k))
            .collect();
        let root = self.dir().recordings();
        for name in &names {
            std::fs::create_dir_all(root.join(name).parent().unwrap()).unwrap();
            std::fs::write(root.join(name), b"").unwrap();
        }
        let header = json!({
            "version": 2, "width": 80, "height": 24,
            "timestamp": session.started_at.timestamp(),
            "command": "<b>header</b>",
            "env": {"TERM": "xterm"},
            "fumidai": {
                "session_id": id.to_string(), "channel": 0, "engineer": "alice",
                "target": "db01", "plan_id": plan_id.to_string(), "kind": "shell",
                "data": "interactive"
            }
        });
        let typed = format!("echo '{HOSTILE}\u{1b}]0;owned\u{7}\u{1b}[200~x\u{1b}[201~'\r");
        let events = [
            json!([0.1, "o", "db01$ "]),
            json!([1.0, "i", typed]),
            json!([1.1, "o", format!("{}\r\n", &typed[..typed.len() - 1])]),
            json!([1.2, "o", format!("{HOSTILE}\u{1b}]0;owned\u{7}x\r\ndb01$ ")]),
            json!([5.0, "i", "ls\r"]),
            json!([5.1, "o", "ls\r\nfile-a  file-b\r\ndb01$ "]),
            json!([6.0, "i", "Sekret-Typed-9\r"]),
        ];
        let mut cast = format!("{header}\n");
        for e in events {
            cast.push_str(&format!("{e}\n"));
        }
        let cast_name = names.first().unwrap();
        std::fs::write(root.join(cast_name), cast).unwrap();
        let statement = Statement::from_files(&root, recording, &names).unwrap();
        let sealed = recorder::seal::sign(statement, &signing_key());
        self.store
            .append_audit(
                AuditEvent::new(AuditKind::RecordingSealed, Actor::System, id.to_string())
                    .with_detail(json!({
                        "statement": sealed.statement.canonical(),
                        "signature": sealed.signature_hex(),
                    })),
            )
            .await
            .unwrap();
        self.store
            .end_session(
                &id,
                policy::limits::EndReason::Normal,
                Some(RecordingSeal {
                    sha256: "00".repeat(32),
                    signature: sealed.signature_hex(),
                }),
            )
            .await
            .unwrap();
        id
    }

    /// Changes a byte of the session's cast (after its seal).
    fn tamper(&self, id: SessionId) {
        let root = self.dir().recordings();
        let cast = walk(&root)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("{id}-ch0.cast")))
            .unwrap();
        let text = std::fs::read_to_string(&cast).unwrap();
        std::fs::write(&cast, text.replace("file-a", "file-X")).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The grant'd cast URL in a playback page.
fn cast_url(page: &str) -> String {
    let (_, rest) = page.split_once("data-cast=\"").expect("a player");
    rest.split('"').next().unwrap().replace("&#38;", "&")
}

async fn played(h: &Hospital, after: i64) -> Vec<store::AuditRecord> {
    h.store
        .audit_tail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.seq > after && r.kind.starts_with("recording."))
        .collect()
}

#[tokio::test]
async fn the_list_and_the_detail_show_the_session() {
    let h = hospital().await;
    let id = h.recorded_session().await;
    let b = h.sign_in("kansa").await;
    let list = body(h.send(get("/sessions", Some(&b.cookie))).await).await;
    assert!(list.contains(&format!("data-session=\"{id}\"")), "{list}");
    assert!(list.contains(" JST"), "times in JST with the date");
    assert!(list.contains("正常終了"));
    // Filters are typed: a protocol that isn't one is a 400; RDP finds none here.
    let r = h
        .send(get("/sessions?protocol=telnet", Some(&b.cookie)))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let rdp = body(h.send(get("/sessions?protocol=rdp", Some(&b.cookie))).await).await;
    assert!(!rdp.contains(&id.to_string()));
    let detail = body(
        h.send(get(&format!("/sessions/{id}"), Some(&b.cookie)))
            .await,
    )
    .await;
    assert!(detail.contains("封印を検証済み"), "{detail}");
    assert!(detail.contains("ls"), "{detail}");
    assert!(detail.contains(&format!("/sessions/{id}/play/0")));
    assert!(!detail.contains("<script>alert"), "{detail}");
    assert!(!detail.contains('\u{1b}'));
    assert!(
        !detail.contains("Sekret-Typed-9"),
        "a line typed without echo that no rule matches is withheld"
    );
}

#[tokio::test]
async fn playing_is_audited_and_the_data_needs_the_grant() {
    let h = hospital().await;
    let id = h.recorded_session().await;
    let b = h.sign_in("kansa").await;
    let before = h.head().await;
    let r = h
        .send(get(&format!("/sessions/{id}/play/0"), Some(&b.cookie)))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{csp}"
    );
    assert!(csp.contains("style-src 'self';"), "{csp}");
    let page = body(r).await;
    assert!(page.contains("asciinema-player-3.18.0-"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("data-seek="), "the side list seeks");
    let records = played(&h, before).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].kind, "recording.played");
    assert_eq!(records[0].actor, "person:kansa");
    assert_eq!(records[0].subject, id.to_string());
    assert_eq!(records[0].detail["seal"], "intact");
    assert_eq!(records[0].detail["override"], false);
    // The cast, under the grant: the screen only, as JSON strings.
    let url = cast_url(&page);
    let r = h.send(get(&url, Some(&b.cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cast = body(r).await;
    assert!(!cast.contains("Sekret-Typed-9"), "input never leaves");
    assert!(!cast.contains("<b>header</b>"), "nor the header's text");
    assert!(cast.contains("<script>alert(1)</script>"), "output as data");
    for line in cast.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    // Without the grant, with a guessed one, or from another console session: refused.
    let bare = url.split('?').next().unwrap().to_owned();
    let other = h.sign_in("mori").await;
    for (path, cookie) in [
        (bare.clone(), b.cookie.as_str()),
        (format!("{bare}?grant=AAAA"), b.cookie.as_str()),
        (url.clone(), other.cookie.as_str()),
    ] {
        let r = h.send(get(&path, Some(cookie))).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        h.send(get(&url, None)).await.status(),
        StatusCode::SEE_OTHER,
        "signed out"
    );
}

#[tokio::test]
async fn a_tampered_recording_is_refused_unless_overridden_on_record() {
    let h = hospital().await;
    let id = h.recorded_session().await;
    let b = h.sign_in("olga").await;
    // A grant from before the tampering doesn't carry an override.
    let page = body(
        h.send(get(&format!("/sessions/{id}/play/0"), Some(&b.cookie)))
            .await,
    )
    .await;
    let old = cast_url(&page);
    h.tamper(id);
    let before = h.head().await;
    let path = format!("/sessions/{id}/play/0");
    let r = h.send(get(&path, Some(&b.cookie))).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let page = body(r).await;
    assert!(page.contains("id=\"refused\""), "{page}");
    assert!(
        page.contains("SHA-256") || page.contains("size"),
        "the reason: {page}"
    );
    assert!(!page.contains("data-cast"), "no player");
    assert!(
        played(&h, before).await.is_empty(),
        "a refusal plays nothing"
    );
    assert_eq!(
        h.send(get(&old, Some(&b.cookie))).await.status(),
        StatusCode::CONFLICT
    );
    // The detail names it broken.
    let detail = body(
        h.send(get(&format!("/sessions/{id}"), Some(&b.cookie)))
            .await,
    )
    .await;
    assert!(detail.contains("封印と不一致"), "{detail}");
    // The override: without the token, or without a reason, nothing happens.
    let r = h
        .send(post(&path, Some(&b.cookie), &[("reason", "incident 42")]))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = h
        .send(post(
            &path,
            Some(&b.cookie),
            &[("csrf", &b.csrf), ("reason", "  ")],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(played(&h, before).await.is_empty());
    // With a reason: recorded, then played.
    let r = h
        .send(post(
            &path,
            Some(&b.cookie),
            &[
                ("csrf", &b.csrf),
                ("reason", "incident 42: what was changed"),
            ],
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body(r).await;
    let records = played(&h, before).await;
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["recording.seal_overridden", "recording.played"]);
    assert!(records.iter().all(|r| r.actor == "person:olga"));
    assert_eq!(records[0].detail["reason"], "incident 42: what was changed");
    assert_eq!(records[1].detail["override"], true);
    assert_eq!(records[1].detail["seal"], "tampered");
    let r = h.send(get(&cast_url(&page), Some(&b.cookie))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body(r).await.contains("file-X"));
}
