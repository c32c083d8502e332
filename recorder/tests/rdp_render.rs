//! PNG, GIF and MP4 output of synthetic RDP recordings, read back with independent
//! decoders (the `image` crate, `ffprobe`/`ffmpeg`).

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::fs;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::rdp::*;
use fumidai_recorder::Error;
use fumidai_recorder::rdp::render;
use fumidai_recorder::rdp::replay::Replay;
use image::AnimationDecoder as _;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];

/// Black 64×48; a red 8×8 square at 0.5 s, a green one at 1.7 s; input until 4.1 s
/// (without it, the recording ends with the green square).
fn recording(input_until_4_1: bool) -> Vec<u8> {
    let square = |c: [u8; 3]| uncompressed(&pixels(8, 8, |_, _| c), 8, 32);
    let (red, green) = (square(RED), square(GREEN));
    let rec = Recording::new()
        .state(0, &state(64, 48))
        .server(
            500,
            &fast_path_bitmap(vec![bitmap(8, 8, 8, 8, 32, false, &red)]),
        )
        .server(
            1700,
            &fast_path_bitmap(vec![bitmap(40, 24, 8, 8, 32, false, &green)]),
        );
    if input_until_4_1 {
        rec.client(4100, b"\x04\x04\x00\x1e").bytes
    } else {
        rec.bytes
    }
}

fn replay() -> Replay<Cursor<Vec<u8>>> {
    Replay::open(Cursor::new(recording(true))).unwrap()
}

fn rgb_at(path: &Path, x: u32, y: u32) -> [u8; 3] {
    image::open(path).unwrap().to_rgb8().get_pixel(x, y).0
}

#[test]
fn png_per_changed_interval_and_the_last_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("frames");
    let ends_at_last_change = Replay::open(Cursor::new(recording(false))).unwrap();
    let out = render::png_series(ends_at_last_change, &dir, Duration::from_secs(1)).unwrap();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["000000.000.png", "000001.000.png", "000001.700-last.png"]
    );
    assert_eq!(out.frames, 3);
    assert_eq!(out.stats.image_changes, 2);
    let at = |name: &str| {
        let p = dir.join(name);
        (rgb_at(&p, 10, 10), rgb_at(&p, 42, 26))
    };
    assert_eq!(at("000000.000.png"), ([0, 0, 0], [0, 0, 0]));
    assert_eq!(at("000001.000.png"), (RED, [0, 0, 0]));
    assert_eq!(at("000001.700-last.png"), (RED, GREEN));
    // The last frame is the replay's image, pixel for pixel.
    let mut r = replay();
    r.run_to_end().unwrap();
    let png = image::open(dir.join("000001.700-last.png"))
        .unwrap()
        .to_rgb8();
    assert_eq!(png.dimensions(), (64, 48));
    assert_eq!(png.into_raw(), r.frame().unwrap().to_rgb());
}

/// When an interval after the last change was sampled, it is the last frame: no `-last`.
#[test]
fn no_separate_last_frame_when_an_interval_shows_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = render::png_series(replay(), tmp.path(), Duration::from_secs(1)).unwrap();
    let mut names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    // 3 s and 4 s did not change: no files; 2 s shows the change at 1.7 s.
    assert_eq!(
        names,
        ["000000.000.png", "000001.000.png", "000002.000.png"]
    );
    assert_eq!(out.frames, 3);
}

#[test]
fn gif_holds_each_picture_until_the_next_change() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("clip.gif");
    let out = render::gif(replay(), &path, Duration::from_secs(1)).unwrap();
    assert_eq!(out.frames, 3);
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(
        fs::File::open(&path).unwrap(),
    ))
    .unwrap();
    let frames = decoder.into_frames().collect_frames().unwrap();
    let delays: Vec<u32> = frames
        .iter()
        .map(|f| {
            let (n, d) = f.delay().numer_denom_ms();
            n / d
        })
        .collect();
    // Black for 1 s, red for 1 s, red and green until the end (last sample 4 s, + 1 s).
    assert_eq!(delays, [1000, 1000, 3000]);
    let px = |i: usize, x, y| {
        let p = frames[i].buffer().get_pixel(x, y).0;
        [p[0], p[1], p[2]]
    };
    // Pure colours survive the 256-colour quantization.
    assert_eq!(
        (px(0, 10, 10), px(1, 10, 10), px(2, 42, 26)),
        ([0, 0, 0], RED, GREEN)
    );
}

#[test]
fn mp4_through_ffmpeg() {
    let Ok(ffmpeg) = render::find_ffmpeg() else {
        eprintln!("ffmpeg not installed: only the error paths are tested");
        return errors_without_ffmpeg();
    };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("session.mp4");
    let out = render::mp4(replay(), &path, Duration::from_millis(500), &ffmpeg).unwrap();
    // Ticks 0, 0.5, …, 4.0: the whole length at 2 frames per second.
    assert_eq!(out.frames, 9);
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(probe.status.success(), "{probe:?}");
    assert_eq!(
        String::from_utf8(probe.stdout).unwrap().trim(),
        "h264,64,48,9"
    );
    // The last video frame, decoded back: red and green where they were (H.264 is lossy).
    let raw = Command::new(&ffmpeg)
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert!(raw.status.success(), "{raw:?}");
    assert_eq!(raw.stdout.len(), 9 * 64 * 48 * 3);
    let last = &raw.stdout[8 * 64 * 48 * 3..];
    let at = |x: usize, y: usize| &last[(y * 64 + x) * 3..][..3];
    let near = |got: &[u8], want: [u8; 3]| got.iter().zip(want).all(|(g, w)| g.abs_diff(w) < 48);
    assert!(near(at(12, 12), RED), "{:?}", at(12, 12));
    assert!(near(at(44, 28), GREEN), "{:?}", at(44, 28));
    assert!(near(at(30, 40), [0, 0, 0]), "{:?}", at(30, 40));

    // A failing ffmpeg is reported with its status, not as success.
    let err = render::mp4(
        replay(),
        &path,
        Duration::from_secs(1),
        Path::new("/bin/false"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Ffmpeg { .. }), "{err:?}");
    errors_without_ffmpeg();
}

fn errors_without_ffmpeg() {
    let tmp = tempfile::tempdir().unwrap();
    let err = render::mp4(
        replay(),
        &tmp.path().join("x.mp4"),
        Duration::from_secs(1),
        Path::new("/nonexistent/ffmpeg"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::FfmpegNotFound), "{err:?}");
    assert!(err.to_string().contains("apt-get install ffmpeg"));
}

#[test]
fn a_still_shows_the_screen_as_of_an_offset_or_the_last_one() {
    use fumidai_recorder::rdp::still;
    let rgb = |png: &[u8], x, y| {
        image::load_from_memory(png)
            .unwrap()
            .to_rgb8()
            .get_pixel(x, y)
            .0
    };
    let last = still::at(Cursor::new(recording(true)), None)
        .unwrap()
        .unwrap();
    assert_eq!(last.shown, Duration::from_millis(1700));
    assert_eq!(
        (rgb(&last.png, 10, 10), rgb(&last.png, 42, 26)),
        (RED, GREEN)
    );
    let early = still::at(Cursor::new(recording(true)), Some(Duration::from_secs(1)))
        .unwrap()
        .unwrap();
    assert_eq!(early.shown, Duration::from_millis(500));
    assert_eq!(
        (rgb(&early.png, 10, 10), rgb(&early.png, 42, 26)),
        (RED, [0, 0, 0])
    );
    // Before the first state there is no screen.
    let empty = Recording::new().bytes;
    assert_eq!(still::at(Cursor::new(empty), None).unwrap(), None);
}
