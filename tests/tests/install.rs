//! `scripts/install`, the operators' install path (issue 13): the binary under the prefix,
//! the `fumidai` system user owning an initialised data directory with the hospital's name
//! as TOTP issuer, a second run leaving the data alone. Run with the test binary (`--bin`)
//! and `--no-systemd`, into a temporary prefix and data directory.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::os::unix::fs::MetadataExt;
use std::process::Command;

use fumidai_e2e::tools::fumidai_bin;

fn install(prefix: &std::path::Path, data: &std::path::Path) -> std::process::Output {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install");
    Command::new(script)
        .arg("--bin")
        .arg(fumidai_bin())
        .arg("--prefix")
        .arg(prefix)
        .arg("--data-dir")
        .arg(data)
        .args(["--server-name", "gw.example-hospital.jp"])
        .args(["--org", "みなと病院", "--no-systemd"])
        .output()
        .unwrap()
}

#[test]
fn the_install_script_installs_initialises_as_the_service_user_and_can_run_again() {
    let tmp = tempfile::tempdir().unwrap();
    // The service user must reach the data directory's parent.
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let prefix = tmp.path().join("usr-local");
    let data = tmp.path().join("var-lib-fumidai");
    let out = install(&prefix, &data);
    assert!(out.status.success(), "{out:?}");
    let installed = prefix.join("bin/fumidai");
    assert!(installed.exists());
    let config = std::fs::read_to_string(data.join("fumidai.toml")).unwrap();
    assert!(config.contains("totp_issuer = \"みなと病院\""), "{config}");
    assert!(config.contains("gw.example-hospital.jp"), "{config}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("operator add"), "{said}");

    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o700);
    if rustix::process::geteuid().is_root() {
        // Initialised as the service user: the service can write its own data.
        let user = Command::new("id").args(["-u", "fumidai"]).output().unwrap();
        let uid: u32 = String::from_utf8_lossy(&user.stdout)
            .trim()
            .parse()
            .unwrap();
        assert_eq!(meta.uid(), uid);
        assert_eq!(
            std::fs::metadata(data.join("master.key")).unwrap().uid(),
            uid
        );
    }

    // A second run replaces the binary and leaves the data as it was.
    let key_before = std::fs::read(data.join("master.key")).unwrap();
    let again = install(&prefix, &data);
    assert!(again.status.success(), "{again:?}");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already initialised"));
    assert_eq!(std::fs::read(data.join("master.key")).unwrap(), key_before);
}
