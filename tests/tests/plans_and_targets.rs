//! Targets and work plans through the operator command line: credentials that never show,
//! host keys pinned as OpenSSH prints them, soft removal, and approval by a second person
//! (R-10.1-APPROVE, R-14-4) — with every change on the audit chain.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fumidai_e2e::Gateway;
use fumidai_e2e::tools::require;
use serde_json::Value;

/// A window far in the future, so the test doesn't age: 09:00–17:00 JST.
const START: &str = "2099-01-05T09:00:00+09:00";
const END: &str = "2099-01-05T17:00:00+09:00";
const PASSWORD: &str = "Kaede-Hashira-7731";

/// `ssh-keygen -t TYPE` into `dir/name` (and `name.pub`), with an optional passphrase.
fn keygen(dir: &Path, name: &str, kind: &str, passphrase: &str) -> PathBuf {
    require("ssh-keygen");
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", passphrase, "-C", "test", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    path
}

fn pub_line(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

/// `SHA256:…` as `ssh-keygen -l` prints it: the independent reference.
fn openssh_fingerprint(key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a command that must fail, and returns its stderr.
fn refused(gw: &Gateway, args: &[&str]) -> String {
    let out = gw.cli(args);
    assert!(!out.status.success(), "{args:?} succeeded: {}", text(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command as an authenticated person that must fail, and returns its stderr.
fn refused_as(gw: &Gateway, who: &str, args: &[&str]) -> String {
    let out = gw.cli_as(who, args);
    assert!(!out.status.success(), "{args:?} succeeded: {}", text(&out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn kinds(gw: &Gateway) -> Vec<String> {
    gw.audit_tail(1000)
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

/// The database file and its write-ahead log, as bytes.
fn database_bytes(gw: &Gateway) -> Vec<u8> {
    let mut bytes = std::fs::read(gw.data.join("fumidai.db")).unwrap();
    bytes.extend(std::fs::read(gw.data.join("fumidai.db-wal")).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn targets_are_pinned_listed_and_removed_without_showing_their_credential() {
    let gw = Gateway::init();
    let dir = gw.tmp.path();
    let host_key = keygen(dir, "host_ed25519", "ed25519", "");
    let host_rsa = keygen(dir, "host_rsa", "rsa", "");
    let client_key = keygen(dir, "client", "ed25519", "");
    let encrypted_key = keygen(dir, "encrypted", "ed25519", "a passphrase");
    // A line from the middle of the private key: if it shows anywhere, the key leaked.
    let key_text = std::fs::read_to_string(&client_key).unwrap();
    let key_body = key_text.lines().nth(2).unwrap().to_owned();
    let target_password = "Tsubaki-Target-4471";
    let mut seen = String::new();

    // A key login, the host key pasted.
    let out = gw.cli(&[
        "target",
        "add",
        "db01",
        "--ssh",
        "127.0.0.1:2222",
        "--login",
        "maint",
        "--key-file",
        client_key.to_str().unwrap(),
        "--host-key",
        &pub_line(&host_key),
        "--tag",
        "personal-data",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    seen.push_str(&text(&out));
    assert!(text(&out).contains(&openssh_fingerprint(&host_key)));

    // A password login, the host key from ssh-keyscan style output offering two keys: the
    // ed25519 one is pinned.
    let keyscan = dir.join("keyscan.txt");
    std::fs::write(
        &keyscan,
        format!(
            "# db02:22 SSH-2.0-OpenSSH_9.6\ndb02 {}\ndb02 {}\n",
            pub_line(&host_rsa),
            pub_line(&host_key)
        ),
    )
    .unwrap();
    // R-10.1-NODEFAULT: root, a factory account, is refused without a stated reason.
    let root_args = [
        "--json",
        "target",
        "add",
        "db02",
        "--ssh",
        "[::1]:22",
        "--login",
        "root",
        "--password-stdin",
        "--host-key-file",
        keyscan.to_str().unwrap(),
    ];
    let out = gw.cli_stdin(&root_args, &format!("{target_password}\n"));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("factory account"), "{}", text(&out));
    assert!(
        !gw.cli_ok(&["target", "list"]).contains("db02"),
        "refused, yet registered"
    );
    let mut with_reason = root_args.to_vec();
    with_reason.extend([
        "--allow-shared-admin",
        "旧型装置で他のアカウントがない / legacy appliance",
    ]);
    let out = gw.cli_stdin(&with_reason, &format!("{target_password}\n"));
    assert!(out.status.success(), "{}", text(&out));
    seen.push_str(&text(&out));
    let db02: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(db02["auth"], "password");
    assert_eq!(
        db02["shared_admin_reason"],
        "旧型装置で他のアカウントがない / legacy appliance"
    );
    assert_eq!(
        db02["host_key"].as_str().unwrap(),
        pub_line(&host_key).rsplit_once(' ').unwrap().0,
        "normalised to TYPE BASE64"
    );

    // A certificate login: nothing stored; the host key from a .pub file.
    let pub_file = host_rsa.with_extension("pub");
    seen.push_str(&gw.cli_ok(&[
        "target",
        "add",
        "app01",
        "--ssh",
        "app01.hospital.local",
        "--login",
        "svc",
        "--auth",
        "cert",
        "--host-key-file",
        pub_file.to_str().unwrap(),
    ]));

    // Refused: a private key as host key, a broken host key, an encrypted credential,
    // a bad address, no credential at all, two credentials, a duplicate name.
    let host_private = host_key.to_str().unwrap();
    let client_private = client_key.to_str().unwrap();
    let pub_line_ed = pub_line(&host_key);
    let cut_short = &pub_line_ed[..40];
    // `=` form: the value starts with dashes.
    let host_key_arg = format!("--host-key={key_text}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--auth", "cert", "--host-key-file", host_private],
            "private key",
        ),
        (vec!["--auth", "cert", &host_key_arg], "private key"),
        (vec!["--auth", "cert", "--host-key", cut_short], "host key"),
        (
            vec!["--auth", "cert", "--host-key", "ssh-dss AAAAB3NzaC1kc3M="],
            "unsupported host key type",
        ),
        (
            vec![
                "--key-file",
                encrypted_key.to_str().unwrap(),
                "--host-key",
                &pub_line_ed,
            ],
            "encrypted",
        ),
        (
            vec![
                "--key-file",
                pub_file.to_str().unwrap(),
                "--host-key",
                &pub_line_ed,
            ],
            "not a private key",
        ),
        (vec!["--host-key", &pub_line_ed], "--key-file"),
        (
            vec![
                "--auth",
                "cert",
                "--key-file",
                client_private,
                "--host-key",
                &pub_line_ed,
            ],
            "cannot be used with",
        ),
    ];
    for (extra, why) in cases {
        let mut args = vec![
            "target", "add", "db09", "--ssh", "db09:22", "--login", "root",
        ];
        args.extend_from_slice(&extra);
        let err = refused(&gw, &args);
        assert!(err.contains(why), "{extra:?}: {err}");
        seen.push_str(&err);
    }
    let err = refused(
        &gw,
        &[
            "target",
            "add",
            "db09",
            "--ssh=-oProxyCommand=x:22",
            "--login",
            "root",
            "--auth",
            "cert",
            "--host-key",
            &pub_line_ed,
        ],
    );
    assert!(err.contains("HOST:PORT"), "{err}");
    let err = refused(
        &gw,
        &[
            "target",
            "add",
            "db01",
            "--ssh",
            "db01:22",
            "--login",
            "maint",
            "--auth",
            "cert",
            "--host-key",
            &pub_line_ed,
        ],
    );
    assert!(err.contains("already exists"), "{err}");

    // The list: address, login, auth, tags and the fingerprint OpenSSH prints.
    let list = gw.cli_ok(&["target", "list"]);
    seen.push_str(&list);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "{list}");
    assert!(lines[0].starts_with("app01\tapp01.hospital.local:22\tsvc\tcert\t-\t"));
    assert!(lines[0].contains(&openssh_fingerprint(&host_rsa)));
    assert!(
        lines[1].starts_with("db01\t127.0.0.1:2222\tmaint\tkey\tpersonal-data\t"),
        "{list}"
    );
    assert!(lines[1].contains(&openssh_fingerprint(&host_key)));
    assert!(lines[2].starts_with("db02\t[::1]:22\troot\tpassword\t-\t"));
    let json: Value = serde_json::from_str(&gw.cli_ok(&["--json", "target", "list"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert_eq!(
        json[1]["host_key_fingerprint"].as_str().unwrap(),
        openssh_fingerprint(&host_key)
    );
    assert_eq!(json[1]["tags"], serde_json::json!(["personal-data"]));
    seen.push_str(&json.to_string());

    // Removal: gone from the list, not removable twice, the name never reused.
    seen.push_str(&gw.cli_ok(&["target", "remove", "db02"]));
    let list = gw.cli_ok(&["target", "list"]);
    assert!(!list.contains("db02"), "{list}");
    assert!(refused(&gw, &["target", "remove", "db02"]).contains("not found"));
    let err = refused(
        &gw,
        &[
            "target",
            "add",
            "db02",
            "--ssh",
            "db02:22",
            "--login",
            "maint",
            "--auth",
            "cert",
            "--host-key",
            &pub_line_ed,
        ],
    );
    assert!(err.contains("never reused"), "{err}");

    // The audit trail has every change, and no credential.
    let trail = gw.audit_tail(1000);
    seen.push_str(&serde_json::to_string(&trail).unwrap());
    let kinds = kinds(&gw);
    assert_eq!(count(&kinds, "target.added"), 3, "{kinds:?}");
    assert_eq!(count(&kinds, "target.removed"), 1, "{kinds:?}");
    let db01 = trail
        .iter()
        .find(|r| r["kind"] == "target.added" && r["subject"] == "db01")
        .unwrap();
    // The factory account's reason is on record (R-10.1-NODEFAULT).
    let db02_added = trail
        .iter()
        .find(|r| r["kind"] == "target.added" && r["subject"] == "db02")
        .unwrap();
    assert_eq!(
        db02_added["detail"]["shared_admin_reason"],
        "旧型装置で他のアカウントがない / legacy appliance"
    );
    assert_eq!(
        db01["detail"]["host_key_fingerprint"].as_str().unwrap(),
        openssh_fingerprint(&host_key)
    );
    assert!(gw.cli_ok(&["audit", "verify"]).contains("intact"));

    // Nothing printed or recorded holds a credential; the database holds none in clear.
    for secret in [target_password, key_body.as_str()] {
        assert!(!seen.contains(secret), "a credential was shown ({secret})");
        assert!(
            !contains(&database_bytes(&gw), secret),
            "the database holds a credential in clear"
        );
    }
}

#[test]
fn plans_are_approved_by_a_second_person_only() {
    let gw = Gateway::init();
    let host_key = keygen(gw.tmp.path(), "host", "ed25519", "");
    gw.add_vendor("acme", &[]);
    gw.add_vendor("beta", &[]);
    for (login, vendor) in [("alice", "acme"), ("bob", "acme"), ("bea", "beta")] {
        let out = gw.cli_stdin(
            &[
                "engineer",
                "add",
                login,
                "--vendor",
                vendor,
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    for (login, role) in [
        ("olga", "operator"),
        ("oscar", "operator"),
        ("mana", "manager"),
        ("audrey", "auditor"),
    ] {
        gw.add_operator(login, role);
    }
    for name in ["db01", "db02"] {
        gw.cli_ok(&[
            "target",
            "add",
            name,
            "--ssh",
            &format!("{name}:22"),
            "--login",
            "maint",
            "--auth",
            "cert",
            "--host-key",
            &pub_line(&host_key),
        ]);
    }
    let submit = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "plan",
            "submit",
            "--start",
            START,
            "--end",
            END,
            "--purpose",
            "apply the January security patches",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        // Submitted by olga unless said otherwise; a plan that can't be submitted is
        // refused before she is asked for her password and code (nothing recorded).
        if !extra.contains(&"--as") {
            args.extend(["--as".to_owned(), "olga".to_owned()]);
        }
        args
    };
    let run = |args: &[String]| gw.cli(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // As olga, authenticated: `submit` appends `--as olga`, so strip it for cli_as.
    let run_as_olga = |args: &[String]| {
        let args: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .take(args.len() - 2)
            .collect();
        gw.cli_as("olga", &args)
    };

    // Submitted by olga: prints the ID alone on stdout.
    let out = run_as_olga(&submit(&[
        "--engineer",
        "alice",
        "bob",
        "--target",
        "db01",
        "--step",
        "apt upgrade",
        "--allow",
        "upload",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(id.len(), 36, "{id:?}");

    // R-14-4: olga, authenticated, can't approve her own plan; an auditor can't act at
    // all; an engineer can't authenticate at the console.
    let err = refused_as(&gw, "olga", &["plan", "approve", &id]);
    assert!(
        err.contains("submitter may not decide") && err.contains("提出者本人"),
        "{err}"
    );
    let err = refused_as(&gw, "olga", &["plan", "reject", &id, "--reason", "x"]);
    assert!(err.contains("submitter may not decide"), "{err}");
    let err = refused_as(&gw, "audrey", &["plan", "approve", &id]);
    assert!(
        err.contains("auditor account can read") && err.contains("監査担当"),
        "{err}"
    );
    let out = gw.cli_stdin(
        &["plan", "approve", &id, "--as", "alice"],
        &format!("{PASSWORD}\n123456\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("authentication failed"),
        "{}",
        text(&out)
    );
    let refusal = gw.wait_audit("login.failure", "alice");
    assert_eq!(refusal["detail"]["reason"], "kind_not_admitted");
    let out = gw.cli_as_ok("oscar", &["--json", "plan", "approve", &id]);
    let approved: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decided_by"], "oscar");
    assert_eq!(approved["submitted_by"], "olga");
    // Decided once only.
    let err = refused_as(&gw, "mana", &["plan", "approve", &id]);
    assert!(err.contains("not submitted"), "{err}");
    let err = refused_as(&gw, "mana", &["plan", "reject", &id, "--reason", "late"]);
    assert!(err.contains("not submitted"), "{err}");

    // Submitted by olga too, rejected by the manager, then not approvable.
    let out = run_as_olga(&submit(&["--engineer", "alice", "--target", "db02"]));
    assert!(out.status.success(), "{}", text(&out));
    let second = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let err = refused_as(&gw, "mana", &["plan", "reject", &second, "--reason", " "]);
    assert!(err.contains("reason"), "{err}");
    gw.cli_as_ok(
        "mana",
        &[
            "plan",
            "reject",
            &second,
            "--reason",
            "overlaps the backup window",
        ],
    );
    let err = refused_as(&gw, "oscar", &["plan", "approve", &second]);
    assert!(
        err.contains("is rejected, not submitted") && err.contains("却下済み"),
        "{err}"
    );
    let err = refused_as(
        &gw,
        "oscar",
        &["plan", "approve", "0192f0c4-8a3e-7c1b-9d2e-5f6a7b8c9d0e"],
    );
    assert!(err.contains("no plan"), "{err}");

    // Refused submissions, each for its reason, none recorded.
    let before = gw.audit_tail(1000).len();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--engineer", "alice", "bea", "--target", "db01"],
            "one vendor",
        ),
        (
            vec!["--engineer", "carol", "--target", "db01"],
            "not a registered engineer",
        ),
        (
            vec!["--engineer", "olga", "--target", "db01"],
            "not a registered engineer",
        ),
        (
            vec!["--engineer", "alice", "--target", "db09"],
            "not registered",
        ),
        (
            // Valid, so the person is asked for a password, and none comes.
            vec!["--engineer", "alice", "--target", "db01", "--as", "nobody"],
            "no password given",
        ),
        (
            vec![
                "--engineer",
                "alice",
                "--target",
                "db01",
                "--step",
                "\x1b[2J",
            ],
            "control characters",
        ),
    ];
    for (extra, why) in cases {
        let out = run(&submit(&extra));
        assert!(!out.status.success(), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{extra:?}: {err}");
    }
    let windows = [
        (END, START, "must end after it starts"),
        (
            "2001-01-05T09:00:00+09:00",
            "2001-01-05T17:00:00+09:00",
            "ended already",
        ),
        (
            "2099-01-01T09:00:00+09:00",
            "2099-02-05T09:00:00+09:00",
            "at most 31 days",
        ),
        ("2099-01-05 09:00", END, "RFC 3339"),
    ];
    for (start, end, why) in windows {
        let err = refused(
            &gw,
            &[
                "plan",
                "submit",
                "--engineer",
                "alice",
                "--target",
                "db01",
                "--start",
                start,
                "--end",
                end,
                "--purpose",
                "x",
                "--as",
                "olga",
            ],
        );
        assert!(err.contains(why), "{start}–{end}: {err}");
    }
    assert_eq!(
        gw.audit_tail(1000).len(),
        before,
        "refusals appended records"
    );

    // A removed target can't be planned.
    gw.cli_ok(&["target", "remove", "db02"]);
    let out = run(&submit(&["--engineer", "alice", "--target", "db02"]));
    assert!(!out.status.success());

    // The list shows status and window in JST.
    let list = gw.cli_ok(&["plan", "list"]);
    let line_of = |plan: &str| {
        list.lines()
            .find(|l| l.starts_with(plan))
            .unwrap()
            .to_owned()
    };
    let first = line_of(&id);
    assert!(
        first.contains(
            "\tapproved\t2099-01-05 09:00 – 17:00 JST\tacme\talice,bob\tdb01\tallow: upload\t"
        ),
        "{first}"
    );
    assert!(line_of(&second).contains("\trejected\t"), "{list}");
    let plans: Value = serde_json::from_str(&gw.cli_ok(&["--json", "plan", "list"])).unwrap();
    let plans = plans.as_array().unwrap();
    assert_eq!(plans.len(), 2);
    let rejected = plans.iter().find(|p| p["id"] == second.as_str()).unwrap();
    assert_eq!(rejected["decision_reason"], "overlaps the backup window");
    assert_eq!(rejected["decided_by"], "mana");
    assert_eq!(rejected["submitted_by"], "olga");

    // Every change is on the chain, with who decided.
    let trail = gw.audit_tail(1000);
    let kinds = kinds(&gw);
    assert_eq!(count(&kinds, "plan.submitted"), 2, "{kinds:?}");
    assert_eq!(count(&kinds, "plan.approved"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "plan.rejected"), 1, "{kinds:?}");
    let approval = trail.iter().find(|r| r["kind"] == "plan.approved").unwrap();
    assert_eq!(approval["subject"], id.as_str());
    assert_eq!(approval["detail"]["decided_by"], "oscar");
    assert_eq!(approval["detail"]["submitted_by"], "olga");
    assert!(gw.cli_ok(&["audit", "verify"]).contains("intact"));
}
