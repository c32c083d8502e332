//! A private certificate authority made with the `openssl` command, standing in for a
//! hospital's internal CA: it issues server certificates for local peers (a mail relay) that
//! fumidai is configured to trust, or, from a second CA, not to trust.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA's certificate and key, as PEM files.
pub struct TestCa {
    /// The CA certificate: what the gateway is told to trust.
    pub cert: PathBuf,
    key: PathBuf,
    /// Where the CA's files and the certificates it issues are written.
    dir: PathBuf,
}

impl TestCa {
    /// A new self-signed P-256 CA named `name`, its files in `dir` (`NAME-ca.crt`,
    /// `NAME-ca.key`).
    pub fn new(dir: &Path, name: &str) -> Self {
        let cert = dir.join(format!("{name}-ca.crt"));
        let key = dir.join(format!("{name}-ca.key"));
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name} test CA"),
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            path(&key),
            "-out",
            path(&cert),
        ]);
        Self {
            cert,
            key,
            dir: dir.to_owned(),
        }
    }

    /// A server certificate for `127.0.0.1` and `localhost`, signed by this CA: the paths
    /// of the certificate and its key (`SERVER.crt`, `SERVER.key`).
    pub fn issue_server(&self, server: &str) -> (PathBuf, PathBuf) {
        let cert = self.dir.join(format!("{server}.crt"));
        let key = self.dir.join(format!("{server}.key"));
        let csr = self.dir.join(format!("{server}.csr"));
        let ext = self.dir.join(format!("{server}.ext"));
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            &format!("/CN={server}"),
            "-keyout",
            path(&key),
            "-out",
            path(&csr),
        ]);
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
             extendedKeyUsage=serverAuth\n\
             keyUsage=critical,digitalSignature\n",
        )
        .expect("extensions file");
        openssl(&[
            "x509",
            "-req",
            "-in",
            path(&csr),
            "-CA",
            path(&self.cert),
            "-CAkey",
            path(&self.key),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            path(&ext),
            "-out",
            path(&cert),
        ]);
        (cert, key)
    }
}

fn openssl(args: &[&str]) {
    crate::tools::require("openssl");
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
