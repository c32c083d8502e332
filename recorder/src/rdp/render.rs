//! Pictures and videos of a replayed RDP session: PNG frames, an animated GIF, and MP4 by
//! piping raw RGB frames into `ffmpeg`.
//!
//! All three sample the replay at a fixed interval ([`Replay::sample_every`]):
//!
//! - [`png_series`]: one PNG per interval in which the screen changed (an unchanged
//!   interval would repeat the previous file), plus the last frame when no interval after
//!   the last change shows it, each named by its offset in the recording:
//!   `000012.000.png` (seconds.milliseconds), `000153.271-last.png`.
//! - [`gif`]: one GIF frame per change, held for as long as the screen stayed the same
//!   (256 colours per frame: for a quick look, not for reading small text).
//! - [`mp4`]: a constant-rate H.264 video (1 / interval frames per second, the session's
//!   full length) through `ffmpeg -f rawvideo -pix_fmt rgb24`; [`find_ffmpeg`] says
//!   clearly when it is not installed.
//!
//! Videos keep the size of their first frame: after a resize, frames are cropped or padded
//! with black at the right and bottom.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, ImageEncoder as _, RgbaImage};

use super::replay::{Frame, Replay, ReplayStats, Sample};
use crate::error::{Error, Result};

/// What a rendering produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Pictures written (PNG files, GIF frames, video frames).
    pub frames: u64,
    /// The replay's counts, to report a recording that did not decode well.
    pub stats: ReplayStats,
}

/// Writes one frame as a PNG file.
pub fn png(frame: &Frame<'_>, path: &Path) -> Result<()> {
    let file = File::create(path).map_err(|e| output(path, e))?;
    let mut w = BufWriter::new(file);
    image::codecs::png::PngEncoder::new(&mut w)
        .write_image(
            &frame.to_rgb(),
            u32::from(frame.width()),
            u32::from(frame.height()),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| image_error("PNG", e))?;
    w.flush().map_err(|e| output(path, e))
}

/// One frame as PNG bytes (a live view sends them to the console).
pub fn png_bytes(frame: &Frame<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            &frame.to_rgb(),
            u32::from(frame.width()),
            u32::from(frame.height()),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| image_error("PNG", e))?;
    Ok(out)
}

/// A PNG in `dir` (created if missing) for every `every` in which the screen changed, and
/// one of the last frame unless a later interval's already shows it.
pub fn png_series<R: Read>(replay: Replay<R>, dir: &Path, every: Duration) -> Result<Rendered> {
    fs::create_dir_all(dir).map_err(|e| output(dir, e))?;
    let mut frames = 0;
    // The latest interval sampled: when it is at or after the last change, it already
    // shows the last frame.
    let mut last_tick = None;
    let stats = replay.sample_every(every, |s| {
        if s.last && last_tick.is_some_and(|t| t >= s.offset) {
            return Ok(());
        }
        if !s.last {
            last_tick = Some(s.offset);
        }
        if !s.changed && !s.last {
            return Ok(());
        }
        let suffix = if s.last { "-last" } else { "" };
        let name = format!("{}{suffix}.png", offset_name(s.offset));
        png(&s.frame, &dir.join(name))?;
        frames += 1;
        Ok(())
    })?;
    Ok(Rendered { frames, stats })
}

/// An animated GIF of the session sampled every `every` (at least 20 ms, what viewers
/// honour), looping.
pub fn gif<R: Read>(replay: Replay<R>, path: &Path, every: Duration) -> Result<Rendered> {
    let every = every.max(Duration::from_millis(20));
    let file = File::create(path).map_err(|e| output(path, e))?;
    let mut w = BufWriter::new(file);
    let mut encoder = GifEncoder::new_with_speed(&mut w, 10);
    encoder
        .set_repeat(Repeat::Infinite)
        .map_err(|e| image_error("GIF", e))?;
    let mut video = Video::default();
    // The frame shown since `since`, written once the next change says for how long.
    let mut held: Option<(RgbaImage, Duration)> = None;
    let mut frames = 0;
    let mut put = |image: RgbaImage, since: Duration, until: Duration| {
        let ms = u32::try_from(until.saturating_sub(since).as_millis()).unwrap_or(u32::MAX);
        let delay = Delay::from_numer_denom_ms(ms.max(20), 1);
        frames += 1;
        encoder
            .encode_frame(image::Frame::from_parts(image, 0, 0, delay))
            .map_err(|e| image_error("GIF", e))
    };
    let stats = replay.sample_every(every, |s| {
        let Some(offset) = video.take(s) else {
            return Ok(());
        };
        if !s.changed && !s.last {
            return Ok(());
        }
        let image = video.rgba(&s.frame);
        if let Some((previous, since)) = held.replace((image, offset)) {
            put(previous, since, offset)?;
        }
        Ok(())
    })?;
    if let Some((image, since)) = held {
        // The last picture stays up to the end of the recording (its last sample).
        let until = video.last.unwrap_or(since).max(since) + every;
        put(image, since, until)?;
    }
    // Dropping the encoder writes the trailer into `w`; flushing `w` reports any error.
    drop(encoder);
    w.flush().map_err(|e| output(path, e))?;
    Ok(Rendered { frames, stats })
}

/// `ffmpeg` as found on `PATH`, or [`Error::FfmpegNotFound`].
pub fn find_ffmpeg() -> Result<PathBuf> {
    find_in_path("ffmpeg", std::env::var_os("PATH")).ok_or(Error::FfmpegNotFound)
}

/// An MP4 (H.264) video of the session at one frame per `every` (at least 10 ms), encoded by
/// the `ffmpeg` at `ffmpeg` from raw RGB frames on its standard input.
pub fn mp4<R: Read>(
    replay: Replay<R>,
    path: &Path,
    every: Duration,
    ffmpeg: &Path,
) -> Result<Rendered> {
    let every = every.max(Duration::from_millis(10));
    let mut video = Video::default();
    let mut child: Option<Ffmpeg> = None;
    let mut frames = 0;
    let result = replay.sample_every(every, |s| {
        if video.take(s).is_none() {
            return Ok(());
        }
        let (w, h) = video.size.unwrap_or_default();
        let ff = match child.as_mut() {
            Some(ff) => ff,
            None => child.insert(Ffmpeg::spawn(ffmpeg, path, (w, h), every)?),
        };
        video.write_rgb(&s.frame, &mut ff.buf);
        frames += 1;
        ff.write_buf()
    });
    let stats = match (result, child) {
        (Ok(stats), Some(ff)) => {
            ff.finish()?;
            stats
        }
        (Ok(stats), None) => stats, // nothing to show: no video
        (Err(e), Some(ff)) => return Err(ff.explain(e)),
        (Err(e), None) => return Err(e),
    };
    Ok(Rendered { frames, stats })
}

/// `SSSSSS.mmm`: an offset as a sortable file name.
fn offset_name(offset: Duration) -> String {
    format!("{:06}.{:03}", offset.as_secs(), offset.subsec_millis())
}

/// The frames of a video: all of the first frame's size, in time order.
#[derive(Debug, Default)]
struct Video {
    size: Option<(u16, u16)>,
    /// Offset of the last frame taken.
    last: Option<Duration>,
}

impl Video {
    /// Whether the sample belongs in the video, and at which offset. The final sample
    /// ([`Sample::last`]) comes after the ticks and is taken only if later than them.
    fn take(&mut self, s: &Sample<'_>) -> Option<Duration> {
        if s.last && self.last.is_some_and(|t| t >= s.offset) {
            return None;
        }
        self.size.get_or_insert((s.frame.width(), s.frame.height()));
        self.last = Some(s.offset);
        Some(s.offset)
    }

    /// The frame as packed RGB at the video's size.
    fn write_rgb(&self, frame: &Frame<'_>, out: &mut Vec<u8>) {
        let (w, h) = self.size.unwrap_or((frame.width(), frame.height()));
        if (w, h) == (frame.width(), frame.height()) {
            return frame.write_rgb(out);
        }
        for y in 0..h {
            for x in 0..w {
                out.extend(frame.pixel(x, y).unwrap_or_default());
            }
        }
    }

    fn rgba(&self, frame: &Frame<'_>) -> RgbaImage {
        let mut rgb = Vec::new();
        self.write_rgb(frame, &mut rgb);
        let (w, h) = self.size.unwrap_or((frame.width(), frame.height()));
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| p.iter().copied().chain([u8::MAX]))
            .collect();
        RgbaImage::from_raw(u32::from(w), u32::from(h), rgba)
            .unwrap_or_else(|| RgbaImage::new(u32::from(w), u32::from(h)))
    }
}

/// A running `ffmpeg` reading raw frames.
struct Ffmpeg {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    /// Its standard error, collected by a thread (so a chatty ffmpeg never blocks).
    stderr: Option<std::thread::JoinHandle<String>>,
    /// One frame, reused.
    buf: Vec<u8>,
}

impl Ffmpeg {
    fn spawn(ffmpeg: &Path, out: &Path, (w, h): (u16, u16), every: Duration) -> Result<Self> {
        // A relative name starting with `-` would read as an option.
        let out = if out.is_relative() && out.to_string_lossy().starts_with('-') {
            Path::new(".").join(out)
        } else {
            out.to_owned()
        };
        let rate = format!("1000000/{}", every.as_micros().max(1));
        let mut child = Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
            .args(["-s", &format!("{w}x{h}"), "-r", &rate, "-i", "-"])
            // yuv420p (what players take) needs even sides.
            .args(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"])
            .args([
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            ])
            .args(["-movflags", "+faststart"])
            .arg(&out)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => Error::FfmpegNotFound,
                _ => Error::Ffmpeg {
                    detail: format!("cannot start {}: {e}", ffmpeg.display()),
                },
            })?;
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = err.read_to_string(&mut text);
                text
            })
        });
        Ok(Self {
            stdin: child.stdin.take(),
            child,
            stderr,
            buf: Vec::new(),
        })
    }

    fn write_buf(&mut self) -> Result<()> {
        let r = match self.stdin.as_mut() {
            Some(stdin) => stdin.write_all(&self.buf),
            None => Err(io::Error::from(io::ErrorKind::BrokenPipe)),
        };
        self.buf.clear();
        r.map_err(|e| Error::Ffmpeg {
            detail: format!("writing frames failed: {e}"),
        })
    }

    /// Closes its input and waits; its exit status and error output explain a failure.
    fn finish(mut self) -> Result<()> {
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|e| Error::Ffmpeg {
            detail: format!("waiting for ffmpeg failed: {e}"),
        })?;
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(Error::Ffmpeg {
                detail: format!("{status}: {}", tail(&stderr)),
            })
        }
    }

    /// An error while feeding it, with what it said (it usually exited first).
    fn explain(self, e: Error) -> Error {
        match self.finish() {
            Err(ff) => ff,
            Ok(()) => e,
        }
    }
}

/// The last lines of a tool's error output, for a one-line message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .skip(lines.len().saturating_sub(3))
        .copied()
        .collect::<Vec<_>>()
        .join(" / ")
}

/// An executable `name` in the directories of `path` (a `PATH` value).
fn find_in_path(name: &str, path: Option<OsString>) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::env::split_paths(&path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn output(path: &Path, source: io::Error) -> Error {
    Error::Output {
        path: path.to_owned(),
        source: Arc::new(source),
    }
}

fn image_error(what: &'static str, source: image::ImageError) -> Error {
    Error::Image {
        what,
        source: Arc::new(source),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn names_and_path_search() {
        assert_eq!(offset_name(Duration::ZERO), "000000.000");
        assert_eq!(
            offset_name(Duration::from_micros(153_271_999)),
            "000153.271"
        );
        let tmp = tempfile::tempdir().unwrap();
        let bin = tmp.path().join("bin");
        fs::create_dir(&bin).unwrap();
        fs::write(bin.join("ffmpeg"), "").unwrap();
        let path = std::env::join_paths([tmp.path(), &bin]).unwrap();
        assert_eq!(
            find_in_path("ffmpeg", Some(path.clone())),
            None,
            "not executable"
        );
        fs::set_permissions(bin.join("ffmpeg"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in_path("ffmpeg", Some(path)), Some(bin.join("ffmpeg")));
        assert_eq!(find_in_path("ffmpeg", None), None);
        assert_eq!(find_in_path("ffmpeg", Some(OsString::new())), None);
        assert_eq!(tail("a\n\nb\nc\nd\n"), "b / c / d");
        assert_eq!(
            Error::FfmpegNotFound.to_string(),
            "ffmpeg was not found on PATH; install it (Debian: apt-get install ffmpeg) for MP4 output"
        );
    }
}
