//! RDP replay speed on a synthetic 1024×768 session of ten minutes (issue 5's benchmark:
//! replay at least 10× real time). The session, encoded with IronRDP's encoders as a
//! 32 bpp server sends it (RDP 6.0 planar bitmaps in 64×64 tiles, fast-path): a full
//! screen at the start and every minute, a 512×384 window redrawn every 5 s, a 128×16 echo
//! of typing every 100 ms, with the keystrokes as client frames.
//!
//! Measured: decoding every frame (`Replay::run_to_end`), the same while sampling RGB
//! every second (what PNG/GIF/MP4 output adds before encoding), and PNG frames every 10 s.
//! Then a worst case: the full screen redrawn 5 times a second for 10 s (video playing).
//! Run: `cargo bench -p fumidai-recorder --bench rdp_replay`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark: fail loudly"
)]

#[path = "../tests/common/rdp.rs"]
mod fixtures;

use std::fs;
use std::time::{Duration, Instant};

use fixtures::{Recording, bitmap, fast_path_bitmap, fast_path_input, planar, state};
use fumidai_recorder::rdp::render;
use fumidai_recorder::rdp::replay::Replay;
use ironrdp_pdu::input::fast_path::{FastPathInputEvent, KeyboardFlags};

const WIDTH: u16 = 1024;
const HEIGHT: u16 = 768;
const TILE: u16 = 64;
const SECONDS: u64 = 600;

/// A 64×64 tile of screen-like content (flat areas, edges and "text" noise), planar-coded.
fn tile(seed: u32) -> Vec<u8> {
    // A hash of the position: "random" glyph pixels without state.
    let noise = |cx: u16, cy: u16| {
        let mut x = seed.wrapping_mul(2_654_435_761) ^ (u32::from(cx) << 16 | u32::from(cy));
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let base = [(seed * 37) as u8, (seed * 91) as u8, 200u8];
    let px = fixtures::pixels(TILE, TILE, |cx, cy| {
        if cy % 16 < 10 && cx % 8 < 6 && noise(cx, cy) % 3 == 0 {
            [20, 20, 20] // glyph pixels
        } else if cx == 0 || cy == 0 {
            [128, 128, 128] // window edges
        } else {
            base
        }
    });
    planar(&px, TILE, TILE)
}

/// 64×64 tiles covering `(x0, y0, w, h)`, one fast-path frame each, at `ms`.
fn paint(
    mut rec: Recording,
    tiles: &[Vec<u8>],
    ms: u64,
    (x0, y0, w, h): (u16, u16, u16, u16),
    n: &mut u64,
) -> Recording {
    for ty in (y0..y0 + h).step_by(usize::from(TILE)) {
        for tx in (x0..x0 + w).step_by(usize::from(TILE)) {
            let data = &tiles[usize::from((tx / TILE + ty / TILE + (ms / 100) as u16) % 8)];
            let frame = fast_path_bitmap(vec![bitmap(tx, ty, TILE, TILE, 32, true, data)]);
            rec = rec.server(ms, &frame);
            *n += 1;
        }
    }
    rec
}

fn build() -> (Vec<u8>, u64) {
    let tiles: Vec<Vec<u8>> = (0..8).map(tile).collect();
    let echo = {
        let px = fixtures::pixels(128, 16, |x, y| {
            if (x / 3 + y) % 5 == 0 {
                [0, 0, 0]
            } else {
                [255, 255, 255]
            }
        });
        planar(&px, 128, 16)
    };
    let mut rec = Recording::new().state(0, &state(WIDTH, HEIGHT));
    let mut server_frames = 0u64;
    let key = |code| {
        fast_path_input(vec![
            FastPathInputEvent::KeyboardEvent(KeyboardFlags::empty(), code),
            FastPathInputEvent::KeyboardEvent(KeyboardFlags::RELEASE, code),
        ])
    };
    for ms in (0..SECONDS * 1000).step_by(100) {
        if ms % 60_000 == 0 {
            rec = paint(rec, &tiles, ms, (0, 0, WIDTH, HEIGHT), &mut server_frames);
        } else if ms % 5_000 == 0 {
            rec = paint(rec, &tiles, ms, (256, 192, 512, 384), &mut server_frames);
        }
        rec = rec.client(ms, &key(0x1e + (ms / 100 % 9) as u8));
        let y = 40 + (ms / 100 % 40) as u16 * 16;
        let frame = fast_path_bitmap(vec![bitmap(64, y, 128, 16, 32, true, &echo)]);
        rec = rec.server(ms + 30, &frame);
        server_frames += 1;
    }
    (rec.bytes, server_frames)
}

/// The worst case: the whole screen redrawn 5 times a second for 10 s.
fn build_busy() -> (Vec<u8>, u64) {
    let tiles: Vec<Vec<u8>> = (0..8).map(tile).collect();
    let mut rec = Recording::new().state(0, &state(WIDTH, HEIGHT));
    let mut n = 0;
    for ms in (0..10_000).step_by(200) {
        rec = paint(rec, &tiles, ms, (0, 0, WIDTH, HEIGHT), &mut n);
    }
    (rec.bytes, n)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("session.rdp");
    let (bytes, server_frames) = build();
    fs::write(&path, &bytes).unwrap();
    let real = Duration::from_secs(SECONDS);
    println!(
        "synthetic session: {WIDTH}x{HEIGHT}, {SECONDS} s, {server_frames} server frames, {:.1} MiB",
        bytes.len() as f64 / f64::from(1 << 20)
    );

    // Best of three: the machine is shared.
    let best = |f: &dyn Fn() -> u64| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                let n = f();
                (start.elapsed(), n)
            })
            .min()
            .unwrap()
    };

    let (t, changes) = best(&|| {
        let mut replay = Replay::open_file(&path).unwrap();
        replay.run_to_end().unwrap();
        let stats = replay.stats();
        assert_eq!(stats.undecodable, 0, "{stats:?}");
        assert_eq!(stats.server_frames, server_frames);
        stats.image_changes
    });
    report("decode every frame", t, real, server_frames, changes);

    let (t, samples) = best(&|| {
        let mut rgb = Vec::new();
        let mut n = 0;
        Replay::open_file(&path)
            .unwrap()
            .sample_every(Duration::from_secs(1), |s| {
                rgb.clear();
                s.frame.write_rgb(&mut rgb);
                n += 1;
                Ok(())
            })
            .unwrap();
        n
    });
    report(
        "decode + RGB sample every 1 s",
        t,
        real,
        server_frames,
        samples,
    );

    let dir = tmp.path().join("png");
    let start = Instant::now();
    let out = render::png_series(
        Replay::open_file(&path).unwrap(),
        &dir,
        Duration::from_secs(10),
    )
    .unwrap();
    report(
        "decode + PNG every 10 s",
        start.elapsed(),
        real,
        server_frames,
        out.frames,
    );

    let (bytes, server_frames) = build_busy();
    fs::write(&path, &bytes).unwrap();
    println!(
        "busy screen: full {WIDTH}x{HEIGHT} redraw 5 times/s for 10 s, {server_frames} frames, {:.1} MiB",
        bytes.len() as f64 / f64::from(1 << 20)
    );
    let (t, changes) = best(&|| {
        let mut replay = Replay::open_file(&path).unwrap();
        replay.run_to_end().unwrap();
        assert_eq!(replay.stats().undecodable, 0);
        replay.stats().image_changes
    });
    report(
        "decode every frame",
        t,
        Duration::from_secs(10),
        server_frames,
        changes,
    );
}

fn report(what: &str, took: Duration, real: Duration, frames: u64, outputs: u64) {
    let secs = took.as_secs_f64();
    let ratio = real.as_secs_f64() / secs;
    println!(
        "{what:32} {secs:7.3} s  {:9.0} frames/s  {ratio:6.1}x real time  ({outputs} images){}",
        frames as f64 / secs,
        if ratio >= 10.0 {
            ""
        } else {
            "  BELOW 10x TARGET"
        }
    );
}
