//! Host key parsing against real `ssh-keygen` output, addresses and logins as tables.

use super::*;

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEbtzbuTCEoWb0EW6Cvng2DIy9yStBXjrlkYpltLpOwl";
const ED25519_FP: &str = "SHA256:2ECjM/f81+KQ9PWBlN/dReNkupSj+DFb4Y8mYcgNvlg";
const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBMJs2e29M6l7iSeIULL64GBoNmDunZ91A9sdknUG+96IM6MNWqktgc8af74He+5GcA8g+D0Zo19LEkqJunxTjf8=";
const P256_FP: &str = "SHA256:G4JOM1VUBO8zxEXIymr4DoF0jz9UqVHiS8Gqm4fgHrw";
const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBJUA4ydJWclCcMWeg9Rz4UJngzg3TdZyeR1ddM3p6lvdFV6EwwQCkBDCGXRxw/QzLUd+fdo8u8iloPAaspzZCg5uNPOgZFlOX+F1NoHy4a26ytHA8JeLVbo6UpH82nXDqA==";
const P384_FP: &str = "SHA256:BBGLGYYfdOaSSdvpuILf2V04HdHsebCcPC00wrETL/A";
const P521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAHYdOzLUDO43gUNdbfpm5H3XIS6QLvcECJBDajamYhGyV7LcAYG0kfsOlIHxOz43A4w5he6JkRxTsCdbGUmFJfuYQDuvaRjMLvNBXQpsMHVYIWNYR3A0GmU8VQP57e2a0DNJklQKDRwLy3scUtQ3vB3wLodC39yTY8r8I8aAsUqS0OMbg==";
const P521_FP: &str = "SHA256:DA3x3RBB6Hjb9X9ES2KKNcwozhYPg+aQ33Vp2Y82BRg";
const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD5GNaldiMfphbfH09FgFbuzCpdOS0kw+iTqQUWRdUtXx3MjYgYr1C5AmE4fJW9QrQjhiIEvEnPhk6Gfgd6OXTxcsPe/N83bQnCLaMmJZ6kRDXJgp+iFazh6UorT2MwhZV4zd+T1xCEI5WOKDVatJwxjDHtu2oDLXdQ55rVRwkDV6h7LQDcs7cObdL3IfL2+vZgzoeyAwItmE+xEADTGqVPn/SXyCiGN0mvjrNu7FfXLGDjBU+GyAlnu9LSRgGLzK9Rjv9nL8IcI+EbXwsU6jVhDIeTIZfwk65DAA0dYAdjzdXrTzVAdETSTzjhwlhV4hoIkHueS1l8oFReRRnydExh";
const RSA_FP: &str = "SHA256:BC0rDXAmCA56YbKACPXr5HcwOj/ctz2VFktX2vaL6ZQ";

fn b64(key: &str) -> &str {
    key.split_whitespace().nth(1).unwrap()
}

#[test]
fn real_keys_parse_normalise_and_fingerprint_like_openssh() {
    for (line, kind, fp) in [
        (ED25519, HostKeyType::Ed25519, ED25519_FP),
        (P256, HostKeyType::EcdsaP256, P256_FP),
        (P384, HostKeyType::EcdsaP384, P384_FP),
        (P521, HostKeyType::EcdsaP521, P521_FP),
        (RSA, HostKeyType::Rsa, RSA_FP),
    ] {
        // With a comment and stray whitespace, as pasted from a .pub file.
        let pasted = format!("  {}   root@db01 extra words\n", line.replace(' ', "\t"));
        let key = HostKey::parse(&pasted).unwrap();
        assert_eq!(key.key_type(), kind);
        assert_eq!(key.to_string(), line, "normalised as TYPE BASE64");
        assert_eq!(key.fingerprint(), fp, "{kind}");
        assert_eq!(line.parse::<HostKey>().unwrap(), key);
        // Serde stores the normalised line and reads it back.
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{line}\""));
        assert_eq!(serde_json::from_str::<HostKey>(&json).unwrap(), key);
    }
}

#[test]
fn rsa_signature_names_are_accepted_as_ssh_rsa() {
    for word in ["rsa-sha2-256", "rsa-sha2-512"] {
        let key = HostKey::parse(&format!("{word} {}", b64(RSA))).unwrap();
        assert_eq!(key.to_string(), RSA);
    }
}

#[test]
fn bad_host_keys_are_refused_with_the_reason() {
    let truncated_b64 = &b64(ED25519)[..40];
    let cases: Vec<(String, HostKeyError)> = vec![
        (String::new(), HostKeyError::Empty),
        ("   \n".into(), HostKeyError::Empty),
        ("ssh-ed25519".into(), HostKeyError::MissingKey),
        (
            "ssh-dss AAAAB3NzaC1kc3MAAACBA".into(),
            HostKeyError::UnsupportedType("ssh-dss".into()),
        ),
        (
            format!("ssh-ed25519-cert-v01@openssh.com {}", b64(ED25519)),
            HostKeyError::UnsupportedType("ssh-ed25519-cert-v01@openssh.com".into()),
        ),
        (
            format!("sk-ssh-ed25519@openssh.com {}", b64(ED25519)),
            HostKeyError::UnsupportedType("sk-ssh-ed25519@openssh.com".into()),
        ),
        ("ssh-ed25519 not*base64!".into(), HostKeyError::BadBase64),
        // The line says one type, the blob another.
        (
            format!("ssh-ed25519 {}", b64(P256)),
            HostKeyError::TypeMismatch {
                line: HostKeyType::Ed25519,
                blob: "ecdsa-sha2-nistp256".into(),
            },
        ),
        (
            format!("ecdsa-sha2-nistp384 {}", b64(P256)),
            HostKeyError::TypeMismatch {
                line: HostKeyType::EcdsaP384,
                blob: "ecdsa-sha2-nistp256".into(),
            },
        ),
        (
            format!("rsa-sha2-512 {}", b64(ED25519)),
            HostKeyError::TypeMismatch {
                line: HostKeyType::Rsa,
                blob: "ssh-ed25519".into(),
            },
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n".into(),
            HostKeyError::PrivateKey,
        ),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n".into(),
            HostKeyError::PrivateKey,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(HostKey::parse(&input), Err(expected), "{input:?}");
    }
    // Cut short: still base64, but the blob is truncated.
    assert!(matches!(
        HostKey::parse(&format!("ssh-ed25519 {truncated_b64}")),
        Err(HostKeyError::BadBlob(_) | HostKeyError::BadBase64)
    ));
}

/// Blobs built by hand, to reach every structural check without indexing past the end.
#[test]
fn malformed_blobs_never_panic_and_are_refused() {
    fn string(bytes: &[u8]) -> Vec<u8> {
        let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
        out.extend_from_slice(bytes);
        out
    }
    fn line(kind: &str, blob: &[u8]) -> String {
        format!("{kind} {}", STANDARD.encode(blob))
    }
    let ed = |key: &[u8]| [string(b"ssh-ed25519"), string(key)].concat();
    assert!(HostKey::parse(&line("ssh-ed25519", &ed(&[7; 32]))).is_ok());
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("ssh-ed25519", vec![0, 0]),
        ("ssh-ed25519", vec![0xff, 0xff, 0xff, 0xff, b's']),
        ("ssh-ed25519", string(b"ssh-ed25519")),
        ("ssh-ed25519", ed(&[7; 31])),
        ("ssh-ed25519", [ed(&[7; 32]), vec![0]].concat()),
        (
            "ecdsa-sha2-nistp256",
            [
                string(b"ecdsa-sha2-nistp256"),
                string(b"nistp384"),
                string(&[4; 65]),
            ]
            .concat(),
        ),
        (
            "ecdsa-sha2-nistp256",
            [
                string(b"ecdsa-sha2-nistp256"),
                string(b"nistp256"),
                string(&[]),
            ]
            .concat(),
        ),
        (
            "ssh-rsa",
            [string(b"ssh-rsa"), string(&[1, 0, 1]), string(&[0xab; 64])].concat(),
        ),
        ("ssh-rsa", [string(b"ssh-rsa"), string(&[1, 0, 1])].concat()),
    ];
    for (kind, blob) in bad {
        let result = HostKey::parse(&line(kind, &blob));
        assert!(
            matches!(result, Err(HostKeyError::BadBlob(_))),
            "{kind} {blob:?}: {result:?}"
        );
    }
    assert_eq!(
        HostKey::parse(&line("ssh-ed25519", &[])),
        Err(HostKeyError::MissingKey)
    );
    // A blob far too long is refused before decoding.
    let huge = format!("ssh-rsa {}", "A".repeat(64 * 1024));
    assert_eq!(
        HostKey::parse(&huge),
        Err(HostKeyError::BadBlob("too long"))
    );
}

#[test]
fn files_from_ssh_keyscan_and_known_hosts_pin_the_strongest_key() {
    let keyscan = format!(
        "# db01.hospital.local:22 SSH-2.0-OpenSSH_9.6\n\
         db01.hospital.local {RSA}\n\
         # db01.hospital.local:22 SSH-2.0-OpenSSH_9.6\n\
         db01.hospital.local {P256}\n\
         db01.hospital.local {ED25519}\n"
    );
    let key = HostKey::parse_file(&keyscan).unwrap();
    assert_eq!(key.to_string(), ED25519);

    let known_hosts =
        format!("@cert-authority *.hospital.local {P384}\n[db01]:2222,10.0.0.5 {P256}\n");
    assert_eq!(HostKey::parse_file(&known_hosts).unwrap().to_string(), P256);

    let pub_file = format!("{RSA} root@db01\n");
    assert_eq!(HostKey::parse_file(&pub_file).unwrap().to_string(), RSA);

    assert_eq!(
        HostKey::parse_file("\n# nothing\n"),
        Err(HostKeyError::Empty)
    );
    assert_eq!(
        HostKey::parse_file("db01 ssh-ed25519 !!!\n"),
        Err(HostKeyError::BadBase64)
    );
    assert_eq!(
        HostKey::parse_file(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
        Err(HostKeyError::PrivateKey)
    );
    // A good line wins over a broken one.
    let mixed = format!("db01 ssh-ed25519 !!!\ndb01 {P521}\n");
    assert_eq!(HostKey::parse_file(&mixed).unwrap().to_string(), P521);
}

#[test]
fn addresses() {
    let ok: &[(&str, &str, u16)] = &[
        ("db01.hospital.local:22", "db01.hospital.local", 22),
        ("db01", "db01", 22),
        ("10.0.0.5:2222", "10.0.0.5", 2222),
        ("[2001:db8::5]:22", "2001:db8::5", 22),
        ("[2001:db8::5]", "2001:db8::5", 22),
        ("host_1:65535", "host_1", 65535),
    ];
    for (input, host, port) in ok {
        let a = SshAddress::parse(input).unwrap();
        assert_eq!((a.host.as_str(), a.port), (*host, *port), "{input}");
    }
    assert_eq!(
        SshAddress::parse("[2001:db8::5]:2222").unwrap().to_string(),
        "[2001:db8::5]:2222"
    );
    assert_eq!(SshAddress::parse("db01").unwrap().to_string(), "db01:22");
    for bad in [
        "",
        ":22",
        "db01:",
        "db01:0",
        "db01:65536",
        "db01:ssh",
        "-oProxyCommand=x:22",
        "db 01:22",
        "db01:22:33",
        "[db01]:22",
        "[2001:db8::5]22",
        "[2001:db8::5",
        "db01\n:22",
        "user@db01:22",
    ] {
        assert!(SshAddress::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn target_logins_and_auth_names() {
    for ok in ["root", "maint", "svc.backup", "oracle_1", "a-b"] {
        assert!(check_target_login(ok).is_ok(), "{ok}");
    }
    for bad in ["", "-oops", "root user", "root\n", "r@ot", &"a".repeat(33)] {
        assert!(check_target_login(bad).is_err(), "{bad:?}");
    }
    for auth in [TargetAuth::Key, TargetAuth::Password, TargetAuth::Cert] {
        assert_eq!(auth.as_str().parse::<TargetAuth>(), Ok(auth));
    }
    assert!(TargetAuth::Key.needs_credential() && TargetAuth::Password.needs_credential());
    assert!(!TargetAuth::Cert.needs_credential());
    assert!("agent".parse::<TargetAuth>().is_err());
}

#[test]
fn tags_are_names() {
    assert_eq!(
        "personal-data".parse::<Tag>().unwrap().as_str(),
        "personal-data"
    );
    for bad in ["", "Personal", "a b", "x,y", &"t".repeat(33)] {
        assert!(bad.parse::<Tag>().is_err(), "{bad:?}");
    }
}
