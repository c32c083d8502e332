use std::os::unix::fs::PermissionsExt;

use chrono::TimeZone;

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

const NOW: i64 = 1_760_000_000;

fn request(forward: bool) -> CertRequest {
    CertRequest {
        engineer: "alice".parse().unwrap(),
        session_id: SessionId::generate(),
        valid_until: at(NOW + 3600),
        allow_port_forwarding: forward,
    }
}

#[test]
fn the_certificate_names_engineer_session_login_and_window() {
    let ca = SshCa::generate().unwrap();
    let req = request(false);
    let issued = ca.issue(&req, "root", at(NOW)).unwrap();
    let cert = &issued.cert;

    assert_eq!(cert.key_id(), format!("alice/{}", req.session_id));
    assert_eq!(cert.cert_type(), CertType::User);
    assert_eq!(cert.valid_principals(), ["root".to_owned()]);
    assert_eq!(cert.valid_after(), u64::try_from(NOW - 60).unwrap());
    assert_eq!(cert.valid_before(), u64::try_from(NOW + 3600).unwrap());
    assert!(cert.critical_options().is_empty());
    let extensions: Vec<&str> = cert.extensions().keys().map(String::as_str).collect();
    assert_eq!(extensions, ["permit-pty"]);
    // The certificate is for the fresh key handed back with it.
    assert_eq!(cert.public_key(), issued.key.public_key().key_data());
    assert_eq!(issued.key.algorithm(), Algorithm::Ed25519);
}

#[test]
fn forwarding_is_permitted_only_when_the_plan_allows_it() {
    let ca = SshCa::generate().unwrap();
    let cert = ca.issue(&request(true), "root", at(NOW)).unwrap().cert;
    let extensions: Vec<&str> = cert.extensions().keys().map(String::as_str).collect();
    assert_eq!(extensions, ["permit-port-forwarding", "permit-pty"]);
    for never in [
        "permit-agent-forwarding",
        "permit-X11-forwarding",
        "permit-user-rc",
    ] {
        assert!(!cert.extensions().contains_key(never), "{never}");
    }
}

#[test]
fn the_signature_verifies_against_this_ca_only_and_only_inside_the_window() {
    let ca = SshCa::generate().unwrap();
    let other = SshCa::generate().unwrap();
    let cert = ca.issue(&request(false), "root", at(NOW)).unwrap().cert;
    let ours = [ca.fingerprint()];
    let theirs = [other.fingerprint()];

    assert_eq!(
        cert.signature_key(),
        ca.key.public_key().key_data(),
        "signed by the CA"
    );
    let now = u64::try_from(NOW).unwrap();
    cert.validate_at(now, &ours).unwrap();
    cert.validate_at(now - 60, &ours).unwrap();
    assert!(cert.validate_at(now, &theirs).is_err());
    assert!(
        cert.validate_at(now - 61, &ours).is_err(),
        "before valid_after"
    );
    assert!(cert.validate_at(now + 3599, &ours).is_ok());
    assert!(
        cert.validate_at(now + 3600, &ours).is_err(),
        "at the window's end"
    );

    // A tampered certificate no longer verifies.
    let mut bytes = cert.to_bytes().unwrap();
    let principal = bytes
        .windows(4)
        .rposition(|w| w == b"root")
        .expect("principal in the encoding");
    bytes[principal] = b'R';
    let tampered = Certificate::from_bytes(&bytes).unwrap();
    assert!(tampered.validate_at(now, &ours).is_err());
}

#[test]
fn serials_and_keys_differ_per_session() {
    let ca = SshCa::generate().unwrap();
    let a = ca.issue(&request(false), "root", at(NOW)).unwrap();
    let b = ca.issue(&request(false), "root", at(NOW)).unwrap();
    assert_ne!(a.cert.serial(), b.cert.serial());
    assert_ne!(a.key.public_key(), b.key.public_key());
    assert_ne!(a.cert.nonce(), b.cert.nonce());
}

#[test]
fn no_certificate_after_the_window_ends() {
    let ca = SshCa::generate().unwrap();
    let req = request(false);
    for now in [req.valid_until, req.valid_until + TimeDelta::seconds(1)] {
        assert!(matches!(
            ca.issue(&req, "root", now),
            Err(SshCaError::WindowEnded { .. })
        ));
    }
    // One second before the end still gets a (one-second) certificate.
    let last = ca
        .issue(&req, "root", req.valid_until - TimeDelta::seconds(1))
        .unwrap();
    assert_eq!(last.cert.valid_before(), u64::try_from(NOW + 3600).unwrap());
}

#[test]
fn a_sub_second_window_end_is_truncated_not_rounded_up() {
    let ca = SshCa::generate().unwrap();
    let mut req = request(false);
    req.valid_until = at(NOW + 3600) + TimeDelta::milliseconds(999);
    let cert = ca.issue(&req, "root", at(NOW)).unwrap().cert;
    assert_eq!(cert.valid_before(), u64::try_from(NOW + 3600).unwrap());
}

#[test]
fn the_public_line_is_what_trusted_user_ca_keys_takes() {
    let ca = SshCa::generate().unwrap();
    let line = ca.public_line().unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.len(), 3, "{line}");
    assert_eq!(words[0], "ssh-ed25519");
    assert!(words[1].starts_with("AAAA"), "{line}");
    assert_eq!(words[2], "fumidai-ssh-ca");
    let parsed = russh::keys::PublicKey::from_openssh(&line).unwrap();
    assert_eq!(parsed.fingerprint(HashAlg::Sha256), ca.fingerprint());
}

#[test]
fn the_key_is_created_once_private_and_then_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssh_user_ca_ed25519_key");
    let (created, was_created) = SshCa::load_or_create(&path).unwrap();
    assert!(was_created);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (loaded, was_created) = SshCa::load_or_create(&path).unwrap();
    assert!(!was_created);
    assert_eq!(loaded.fingerprint(), created.fingerprint());
    // Never overwritten.
    assert!(matches!(
        SshCa::generate().unwrap().write(&path),
        Err(SshCaError::Io { .. })
    ));
    assert_eq!(
        SshCa::load(&path).unwrap().fingerprint(),
        created.fingerprint()
    );
}

#[test]
fn a_readable_or_foreign_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    SshCa::generate().unwrap().write(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(SshCa::load(&path), Err(SshCaError::Io { .. })));
    assert!(matches!(
        SshCa::load_or_create(&path),
        Err(SshCaError::Io { .. })
    ));

    let garbage = dir.path().join("garbage");
    datadir::write_secret(&garbage, b"not a key").unwrap();
    assert!(matches!(
        SshCa::load(&garbage),
        Err(SshCaError::Format { .. })
    ));
}

#[test]
fn debug_never_shows_key_material() {
    let ca = SshCa::generate().unwrap();
    let shown = format!("{ca:?}");
    assert!(shown.contains("SHA256:"), "{shown}");
    let issued = ca.issue(&request(false), "root", at(NOW)).unwrap();
    let shown = format!("{issued:?}");
    assert!(
        shown.contains("<secret>") && shown.contains("alice/"),
        "{shown}"
    );
}
