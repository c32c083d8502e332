//! The clamd client against a real `clamd` (R-10-6): verdicts, clamd's limits, time-outs,
//! cancellation, and `fumidai serve` failing closed when a configured clamd is absent.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use fumidai_core::clamd::{ClamdError, ClamdSocket, Scanner, ScannerConfig, Verdict};
use fumidai_e2e::tools::run_with_timeout;
use fumidai_e2e::{Clamd, Gateway};

const MIB: usize = 1 << 20;

fn scanner_at(socket: ClamdSocket, max_stream: u64) -> Scanner {
    Scanner::new(ScannerConfig {
        socket,
        timeout: Duration::from_secs(10),
        max_stream,
    })
}

fn scanner_for(clamd: &Clamd) -> Scanner {
    scanner_at(ClamdSocket::Unix(clamd.socket.clone()), 1 << 30)
}

/// Streams `parts` as separate feeds and returns the verdict.
async fn scan_parts(scanner: &Scanner, parts: &[&[u8]]) -> Result<Verdict, ClamdError> {
    let mut scan = scanner.start().await?;
    for part in parts {
        scan.feed(part).await?;
    }
    scan.finish().await
}

fn assert_marker_found(verdict: &Verdict) {
    match verdict {
        Verdict::Infected { signature } => assert!(
            signature.starts_with(Clamd::SIGNATURE),
            "unexpected signature {signature}"
        ),
        Verdict::Clean => panic!("the marker was not found"),
    }
}

#[tokio::test]
async fn ping_and_version_answer() {
    let clamd = Clamd::start();
    let scanner = scanner_for(&clamd);
    scanner.ping().await.unwrap();
    let version = scanner.version().await.unwrap();
    assert!(version.starts_with("ClamAV 1."), "{version}");
}

#[tokio::test]
async fn clean_bytes_are_clean_and_the_marker_is_found_across_chunks() {
    let clamd = Clamd::start();
    let scanner = scanner_for(&clamd);
    assert_eq!(
        scan_parts(&scanner, &[b"#!/bin/sh\necho maintenance\n"])
            .await
            .unwrap(),
        Verdict::Clean
    );
    assert_eq!(scan_parts(&scanner, &[]).await.unwrap(), Verdict::Clean);
    // Almost the marker is not the marker: the signature is exact.
    let almost = &Clamd::MARKER[..Clamd::MARKER.len() - 1];
    assert_eq!(
        scan_parts(&scanner, &[almost]).await.unwrap(),
        Verdict::Clean
    );

    // Split across two feeds, each a frame of its own.
    let (head, tail) = Clamd::MARKER.split_at(11);
    let verdict = scan_parts(&scanner, &[b"prefix ", head, tail, b" suffix"])
        .await
        .unwrap();
    assert_marker_found(&verdict);
    // Split across two frames of one feed: a feed over 64 KiB is sent in several.
    let mut data = vec![b'a'; 64 * 1024 - 5];
    data.extend_from_slice(Clamd::MARKER);
    data.extend_from_slice(&[b'b'; 100]);
    assert_marker_found(&scan_parts(&scanner, &[&data]).await.unwrap());
}

#[tokio::test]
async fn the_marker_after_ten_mib_of_zeros_is_found() {
    let clamd = Clamd::start();
    let scanner = scanner_for(&clamd);
    let zeros = vec![0u8; MIB];
    let started = Instant::now();
    let mut scan = scanner.start().await.unwrap();
    for _ in 0..10 {
        scan.feed(&zeros).await.unwrap();
    }
    scan.feed(Clamd::MARKER).await.unwrap();
    assert_eq!(scan.bytes_sent(), (10 * MIB + Clamd::MARKER.len()) as u64);
    assert_marker_found(&scan.finish().await.unwrap());
    eprintln!("10 MiB scanned in {:?}", started.elapsed());
}

#[tokio::test]
async fn a_stream_over_clamds_stream_max_length_is_an_error() {
    let clamd = Clamd::start();
    // fumidai's own limit is higher, so clamd's StreamMaxLength is what stops it.
    let scanner = scanner_for(&clamd);
    let chunk = vec![0u8; MIB];
    let mut scan = scanner.start().await.unwrap();
    let mut outcome = None;
    for _ in 0..(Clamd::STREAM_MAX_LENGTH as usize / MIB + 8) {
        if let Err(e) = scan.feed(&chunk).await {
            outcome = Some(Err(e));
            break;
        }
    }
    // Up to the socket buffer's worth may be taken after clamd gave up; then the
    // verdict carries clamd's reason.
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => scan.finish().await,
    };
    assert!(
        matches!(outcome, Err(ClamdError::StreamMaxLength)),
        "{outcome:?}"
    );
    // clamd is fine afterwards.
    assert_eq!(scan_clean(&scanner).await, Verdict::Clean);
}

async fn scan_clean(scanner: &Scanner) -> Verdict {
    scan_parts(scanner, &[b"hello"]).await.unwrap()
}

#[tokio::test]
async fn fumidais_max_scan_size_stops_the_stream_before_clamd_sees_it() {
    let clamd = Clamd::start();
    let scanner = scanner_at(ClamdSocket::Unix(clamd.socket.clone()), 100);
    let mut scan = scanner.start().await.unwrap();
    scan.feed(&[b'a'; 60]).await.unwrap();
    // Bytes 61..=160 would hold the marker: refused whole, nothing more is sent.
    let mut over = vec![b'a'; 40];
    over.extend_from_slice(Clamd::MARKER);
    assert!(matches!(
        scan.feed(&over).await,
        Err(ClamdError::TooLarge { limit: 100 })
    ));
    assert!(matches!(scan.finish().await, Err(ClamdError::Interrupted)));
    // Exactly the limit is fine.
    assert_eq!(
        scan_parts(&scanner, &[&[b'a'; 60][..], &[b'b'; 40][..]])
            .await
            .unwrap(),
        Verdict::Clean
    );
}

/// clamd answers "OK" for a file over `MaxFileSize` without scanning it, unless
/// `AlertExceedsMax yes` (which the harness and the documented clamd.conf set).
#[tokio::test]
async fn files_over_clamds_max_file_size_are_flagged_only_with_alert_exceeds_max() {
    let mut data = vec![0u8; 2 * MIB];
    data.extend_from_slice(Clamd::MARKER);

    let alerting = Clamd::start_with("MaxFileSize 1M");
    let verdict = scan_parts(&scanner_for(&alerting), &[&data]).await.unwrap();
    assert_eq!(
        verdict,
        Verdict::Infected {
            signature: "Heuristics.Limits.Exceeded.MaxFileSize".into()
        }
    );

    let silent = Clamd::start_with("MaxFileSize 1M\nAlertExceedsMax no");
    let verdict = scan_parts(&scanner_for(&silent), &[&data]).await.unwrap();
    assert_eq!(
        verdict,
        Verdict::Clean,
        "clamd's fail-open default: if this changes, the clamd.conf advice can relax"
    );
}

#[tokio::test]
async fn an_absent_socket_is_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("no-clamd.sock");
    let scanner = scanner_at(ClamdSocket::Unix(socket.clone()), 1 << 20);
    match scanner.ping().await {
        Err(ClamdError::Unreachable { socket: s, .. }) => {
            assert_eq!(s, ClamdSocket::Unix(socket.clone()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        scanner.start().await,
        Err(ClamdError::Unreachable { .. })
    ));
    // A clamd that went away: same.
    let mut clamd = Clamd::start();
    let scanner = scanner_for(&clamd);
    scanner.ping().await.unwrap();
    clamd.kill();
    assert!(matches!(
        scanner.ping().await,
        Err(ClamdError::Unreachable { .. })
    ));
}

#[tokio::test]
async fn a_hung_clamd_times_out_and_a_cancelled_feed_ends_the_scan() {
    let clamd = Clamd::start();
    let scanner = Scanner::new(ScannerConfig {
        socket: ClamdSocket::Unix(clamd.socket.clone()),
        timeout: Duration::from_millis(500),
        max_stream: 1 << 30,
    });
    let mut scan = scanner.start().await.unwrap();
    scan.feed(b"before the hang").await.unwrap();
    clamd.pause();
    assert!(matches!(
        scanner.ping().await,
        Err(ClamdError::Timeout { .. })
    ));
    // Feeding a paused clamd stops at the socket buffer (backpressure), then times out.
    let big = vec![0u8; 64 * MIB];
    let started = Instant::now();
    let fed = scan.feed(&big).await;
    assert!(matches!(fed, Err(ClamdError::Timeout { .. })), "{fed:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The frame was cut short: the stream can't go on.
    assert!(matches!(
        scan.feed(b"x").await,
        Err(ClamdError::Interrupted)
    ));
    drop(scan);

    // Cancelling a feed from outside (the caller's own time-out) leaves it unusable too.
    let mut scan = scanner.start().await.unwrap();
    let cancelled = tokio::time::timeout(Duration::from_millis(100), scan.feed(&big)).await;
    assert!(cancelled.is_err(), "the feed should still be waiting");
    assert!(matches!(
        scan.feed(b"x").await,
        Err(ClamdError::Interrupted)
    ));
    drop(scan);

    clamd.resume();
    // Dropped scans were just closed connections: clamd carries on.
    let scanner = scanner_at(ClamdSocket::Unix(clamd.socket.clone()), 1 << 30);
    assert_eq!(scan_clean(&scanner).await, Verdict::Clean);
    assert_marker_found(&scan_parts(&scanner, &[Clamd::MARKER]).await.unwrap());
}

#[tokio::test]
async fn clamd_on_loopback_tcp_works_too() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clamd = Clamd::start_with(&format!("TCPSocket {port}\nTCPAddr 127.0.0.1"));
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let scanner = scanner_at(ClamdSocket::Tcp(addr), 1 << 30);
    scanner.ping().await.unwrap();
    assert_eq!(scan_clean(&scanner).await, Verdict::Clean);
    assert_marker_found(&scan_parts(&scanner, &[b"x", Clamd::MARKER]).await.unwrap());
    drop(clamd);
}

fn configure_clamd(gw: &Gateway, socket: &Path) {
    gw.set_config(
        "# clamd_socket = \"/run/clamav/clamd.ctl\"",
        &format!("clamd_socket = \"{}\"", socket.display()),
    );
}

#[test]
fn serve_refuses_to_start_when_the_configured_clamd_does_not_answer() {
    let gw = Gateway::init();
    let absent = gw.tmp.path().join("absent-clamd.sock");
    configure_clamd(&gw, &absent);
    let out = run_with_timeout(gw.command(&["serve"], &[]), Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started without clamd");
    assert!(stderr.contains("が応答しないため起動しません"), "{stderr}");
    assert!(stderr.contains("does not answer; not starting"), "{stderr}");
    assert!(stderr.contains(&absent.display().to_string()), "{stderr}");
    assert!(
        gw.audit_tail(100)
            .iter()
            .all(|r| r["kind"] != "gateway.started"),
        "nothing was served"
    );
}

#[test]
fn serve_records_that_uploads_are_scanned() {
    let clamd = Clamd::start();
    let mut gw = Gateway::init();
    configure_clamd(&gw, &clamd.socket);
    gw.start();
    let started = gw.wait_audit_kind("gateway.started");
    let detail = &started["detail"]["clamd"];
    assert_eq!(detail["socket"], clamd.socket.display().to_string());
    assert!(
        detail["version"].as_str().unwrap().starts_with("ClamAV "),
        "{detail}"
    );
    assert_eq!(detail["max_scan_size"], 2u64 << 30);
    assert!(gw.log().contains("uploads are scanned by clamd"));

    // Without a socket, the record says so.
    let mut plain = Gateway::init();
    plain.start();
    let started = plain.wait_audit_kind("gateway.started");
    assert!(started["detail"]["clamd"].is_null(), "{started}");
    assert!(plain.log().contains("uploads are not scanned"));
}

/// Measures streaming throughput (not run by default: `--ignored`).
#[tokio::test]
#[ignore = "measurement"]
async fn throughput_of_zeros() {
    let clamd = Clamd::start_with("StreamMaxLength 2048M\nMaxFileSize 2048M\nMaxScanSize 2048M");
    let scanner = scanner_for(&clamd);
    let zeros = vec![0u8; 4 * MIB];
    let total = 512 * MIB;
    let started = Instant::now();
    let mut scan = scanner.start().await.unwrap();
    for _ in 0..total / zeros.len() {
        scan.feed(&zeros).await.unwrap();
    }
    let fed = started.elapsed();
    scan.feed(Clamd::MARKER).await.unwrap();
    assert_marker_found(&scan.finish().await.unwrap());
    let all = started.elapsed();
    let mib = (total / MIB) as f64;
    eprintln!(
        "{mib} MiB: fed in {fed:?} ({:.0} MiB/s), verdict after {all:?} ({:.0} MiB/s overall)",
        mib / fed.as_secs_f64(),
        mib / all.as_secs_f64()
    );
}
