//! The RDP harness proven against xrdp directly (no gateway): a real login reaches the
//! desktop and typed text shows up on it, a wrong password is refused, the certificate
//! pin is enforced, and a vanishing server ends the client with the signals later tests
//! will rely on.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "end-to-end tests: any failure must fail the test loudly"
)]

use std::time::Duration;

use fumidai_e2e::rdp::{
    Display, Sha256Fingerprint, Window, Xfreerdp, XfreerdpConfig, Xrdp, compare, count_not,
    exit_code,
};

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// xterm's background.
const WHITE: [u8; 3] = [255, 255, 255];
/// xrdp's dialog background (`grey=dedede` in xrdp.ini).
const XRDP_GREY: [u8; 3] = [0xde, 0xde, 0xde];
/// xterm's character cell with the `fixed` font.
const CELL: (u32, u32) = (6, 13);
/// Where the first cell starts: a 1-pixel window border and xterm's 2-pixel internal one.
const ORIGIN: (u32, u32) = (3, 3);

/// The pixels of the character at `col`, `row` (0-based): `(x, y, width, height)`.
fn cell(col: u32, row: u32) -> (u32, u32, u32, u32) {
    (
        ORIGIN.0 + col * CELL.0,
        ORIGIN.1 + row * CELL.1,
        CELL.0,
        CELL.1,
    )
}

/// Whether `inner` lies within rows `rows` of the terminal.
fn within_rows(inner: (u32, u32, u32, u32), rows: std::ops::Range<u32>) -> bool {
    let (_, y, _, h) = inner;
    y >= cell(0, rows.start).1 && y + h <= cell(0, rows.end).1
}

fn connect(xrdp: &Xrdp, display: &Display, password: &str) -> (Xfreerdp, Window) {
    let config = XfreerdpConfig::new(xrdp.address(), xrdp.user(), password, xrdp.fingerprint());
    let mut client = Xfreerdp::start(display, &config);
    let window = client.wait_connected(SECS(15));
    (client, window)
}

/// Pixels of `color` in the whole image.
fn count_color(shot: &image::RgbImage, color: [u8; 3]) -> u64 {
    let (w, h) = shot.dimensions();
    u64::from(w) * u64::from(h) - count_not(shot, (0, 0, w, h), color)
}

/// Waits for the session's xterm: mostly white, a prompt drawn at the top left, and
/// nothing changing any more.
fn wait_desktop(display: &Display, window: Window) -> image::RgbImage {
    display.wait_screen(window, SECS(15), |shot| {
        count_color(shot, WHITE) > u64::from(shot.width() * shot.height()) / 2
            && count_not(shot, cell(0, 0), WHITE) > 0
    });
    display.wait_stable(window, Duration::from_millis(300), SECS(10))
}

#[test]
fn tls_login_reaches_the_desktop_where_typed_text_appears() {
    let xrdp = Xrdp::start();
    let display = Display::start();
    let (mut client, window) = connect(&xrdp, &display, xrdp.password());
    xrdp.wait_log(
        &format!("login successful for user {}", xrdp.user()),
        SECS(10),
    );
    assert!(xrdp.session_display().is_some(), "{}", xrdp.log());
    let before = wait_desktop(&display, window);
    assert_eq!(before.dimensions(), (1024, 768));

    display.focus(window);
    display.type_text("echo fumidai-rdp-harness", Duration::from_millis(30));
    let typed = display.wait_screen(window, SECS(10), |shot| {
        // After "$ ", 24 typed characters (and the cursor moved) on the first line.
        compare(&before, shot).bounds.is_some_and(|b| {
            within_rows(b, 0..1) && b.0 >= cell(2, 0).0 && b.0 + b.2 >= cell(26, 0).0
        })
    });
    let diff = compare(&before, &typed);
    assert!(diff.differing > 100, "{diff}");

    display.key("Return");
    let echoed = display.wait_screen(window, SECS(10), |shot| {
        // The output on row 1, then a new prompt and the cursor on row 2.
        compare(&typed, shot)
            .bounds
            .is_some_and(|b| within_rows(b, 0..3))
            && count_not(shot, cell(0, 2), WHITE) > 0
            && count_not(shot, cell(2, 2), WHITE) > 0
    });
    // The echoed text is drawn exactly as the typed text: same glyphs, one row lower.
    let glyph = |shot: &image::RgbImage, col: u32, row: u32| {
        let (x, y, w, h) = cell(col, row);
        image::imageops::crop_imm(shot, x, y, w, h).to_image()
    };
    for (col, ch) in (0..).zip("fumidai-rdp-harness".chars()) {
        let typed = glyph(&echoed, "$ echo ".len() as u32 + col, 0);
        let printed = glyph(&echoed, col, 1);
        let diff = compare(&typed, &printed);
        assert!(diff.is_same(), "{ch:?} typed vs echoed: {diff}");
        assert!(
            count_not(&typed, (0, 0, 6, 13), WHITE) > 0,
            "{ch:?} not drawn"
        );
    }

    // Logging off the session ends the client: the signal a closed target gives.
    display.type_text("exit", Duration::from_millis(30));
    display.key("Return");
    let exit = client.wait_exit(SECS(15));
    assert_eq!(exit.code, Some(exit_code::LOGOFF_BY_USER), "{}", exit.log);
    assert_eq!(exit.errors(), ["ERRINFO_LOGOFF_BY_USER"], "{}", exit.log);
}

#[test]
fn wrong_password_is_refused_by_xrdp_inside_a_live_connection() {
    let xrdp = Xrdp::start();
    let display = Display::start();
    // xrdp has no NLA: the TLS connection is made and only then is the Client Info
    // password checked (by sesman through PAM).
    let (mut client, window) = connect(&xrdp, &display, "not-the-password");
    xrdp.wait_log(&format!("login failed for user {}", xrdp.user()), SECS(15));
    let log = xrdp.log();
    assert!(
        log.contains(&format!("AUTHFAIL: user={}", xrdp.user())),
        "{log}"
    );
    assert!(!log.contains("login successful"), "{log}");
    assert!(!log.contains("Session started successfully"), "{log}");
    assert_eq!(xrdp.session_display(), None);
    // The client is not told: it shows xrdp's grey "Connection Log" dialog instead of a
    // desktop, and keeps running.
    display.wait_screen(window, SECS(10), |shot| {
        count_color(shot, XRDP_GREY) > 50_000
    });
    assert!(client.try_exit().is_none(), "{}", client.log());
    assert!(client.errors().is_empty(), "{}", client.log());
}

#[test]
fn the_pinned_certificate_is_enforced() {
    let xrdp = Xrdp::start();
    let display = Display::start();
    assert_eq!(
        xrdp.fingerprint(),
        Sha256Fingerprint::of_pem(&std::fs::read_to_string(xrdp.certificate()).unwrap())
    );
    let config = XfreerdpConfig::new(
        xrdp.address(),
        xrdp.user(),
        xrdp.password(),
        Sha256Fingerprint::wrong(),
    );
    let mut client = Xfreerdp::start(&display, &config);
    let exit = client.wait_exit(SECS(15));
    assert_eq!(
        exit.code,
        Some(exit_code::TLS_CONNECT_FAILED),
        "{}",
        exit.log
    );
    assert_eq!(
        exit.errors(),
        ["ERRCONNECT_TLS_CONNECT_FAILED"],
        "{}",
        exit.log
    );
    assert!(
        exit.log.contains("certificate not trusted, aborting"),
        "{}",
        exit.log
    );
    assert!(!xrdp.log().contains("login successful"), "{}", xrdp.log());
    // The right pin connects (the other tests connect with it too).
    connect(&xrdp, &display, xrdp.password());
}

#[test]
fn a_vanishing_server_ends_the_client() {
    let xrdp = Xrdp::start();
    let display = Display::start();
    let (mut client, _window) = connect(&xrdp, &display, xrdp.password());
    xrdp.wait_log("Session started successfully", SECS(10));
    xrdp.kill_connections();
    let exit = client.wait_exit(SECS(15));
    assert_eq!(exit.code, Some(exit_code::CONN_FAILED), "{}", exit.log);
    assert_eq!(
        exit.errors(),
        ["ERRCONNECT_CONNECT_TRANSPORT_FAILED"],
        "{}",
        exit.log
    );
}
