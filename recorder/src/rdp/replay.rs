//! Replay: the screen the engineer saw, rebuilt from a recording's server frames.
//!
//! [`Decoder`] is the pure part: fed one record at a time, it drives IronRDP's
//! [`ActiveStage`] (the same decoder a client uses) into an image, and says whether the
//! image changed. [`Replay`] reads a file through it, frame by frame, and
//! [`Replay::sample_every`] turns the result into the evenly spaced frames that PNG
//! series, GIFs and videos need ([`super::render`]).
//!
//! What the decoder does with each server frame:
//!
//! - **fast-path output** (graphics, pointer): into the stage.
//! - **slow-path on the I/O channel**: a Demand Active (re)activates the stage with its
//!   share ID and desktop size (a resize gives a new, black image); a Deactivate All is
//!   counted; Update and Pointer data PDUs go into the stage; every other share data PDU
//!   (Synchronize, Control, Font Map, Save Session Info, Set Error Info, …) is informational
//!   and skipped, so an error report does not stop the replay as it would stop a client.
//! - **slow-path on any other MCS channel** (rdpdr, cliprdr, rdpsnd, drdynvc, the message
//!   channel): skipped. IronRDP's stage would stop with "unexpected channel received".
//! - **connection-phase frames** (MCS Connect Response, Attach User Confirm, Channel Join
//!   Confirm, licensing) and anything before the first [`RdpState`]: skipped.
//!
//! A frame the stage rejects is counted ([`ReplayStats::undecodable`], with the first
//! error) and the replay goes on with the next: a reviewer is better served by the rest of
//! the session than by nothing. Decodable: uncompressed, interleaved RLE and RDP 6.0
//! planar bitmaps, RemoteFX surface bits. Not decoded: GDI drawing orders, NSCodec, the
//! graphics pipeline (the proxy negotiates them away). The mouse pointer is not drawn, as
//! in an X screenshot of the client's window.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::time::Duration;

use ironrdp_graphics::image_processing::PixelFormat;
use ironrdp_pdu::Action;
use ironrdp_pdu::mcs::decode_send_data_indication;
use ironrdp_pdu::rdp::capability_sets::CapabilitySet;
use ironrdp_pdu::rdp::headers::{ShareControlPdu, ShareDataPdu, decode_share_control};
use ironrdp_session::image::DecodedImage;
use ironrdp_session::{ActiveStage, ActiveStageBuilder, ActiveStageOutput};
use ironrdp_svc::StaticChannelSet;
use serde::Serialize;

use super::format::{Event, RdpHeader, RdpReader, RdpState, Record};
use crate::error::{Error, Result};

/// Largest desktop side replayed (RDP's own limit); larger states are refused.
pub const MAX_SIDE: u16 = 8192;

/// What a replay went through, for a summary line and for noticing a recording that did
/// not decode well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    /// Server frames read.
    pub server_frames: u64,
    /// Client (input) frames read; not drawn.
    pub client_frames: u64,
    /// State records read.
    pub states: u64,
    /// Demand Active PDUs (activations and reactivations, e.g. resizes).
    pub activations: u64,
    /// Deactivate All PDUs.
    pub deactivations: u64,
    /// Server frames that changed the image.
    pub image_changes: u64,
    /// Frames on static virtual channels and other non-I/O channels, skipped.
    pub virtual_channel_frames: u64,
    /// Connection-phase and other frames that are not share data, skipped.
    pub connection_frames: u64,
    /// Share data PDUs that draw nothing (synchronize, control, error info, …), skipped.
    pub informational_pdus: u64,
    /// Server frames before the first state, which cannot be decoded.
    pub before_state: u64,
    /// Server frames the decoder rejected.
    pub undecodable: u64,
    /// The first rejection, for the reviewer.
    pub first_error: Option<String>,
    /// Offset of the last record: the recording's length.
    pub end: Duration,
}

/// The decoder state machine: records in, image out. Pure (no I/O).
pub struct Decoder {
    /// The decoder state in force.
    state: Option<RdpState>,
    stage: Option<ActiveStage>,
    /// `None` until a state with a non-zero desktop size arrives.
    image: Option<DecodedImage>,
    stats: ReplayStats,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("state", &self.state)
            .field("image", &self.frame().map(|f| (f.width(), f.height())))
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder that has seen nothing.
    pub fn new() -> Self {
        Self {
            state: None,
            stage: None,
            image: None,
            stats: ReplayStats::default(),
        }
    }

    /// Applies one record; returns whether the image changed (drawn, resized).
    pub fn apply(&mut self, record: &Record) -> bool {
        self.stats.end = self.stats.end.max(record.offset);
        match &record.event {
            Event::State(state) => {
                self.stats.states += 1;
                self.set_state(state.clone())
            }
            Event::Server(frame) => {
                self.stats.server_frames += 1;
                self.server(frame)
            }
            Event::Client(_) => {
                self.stats.client_frames += 1;
                false
            }
        }
    }

    /// The image now, if the desktop size is known.
    pub fn frame(&self) -> Option<Frame<'_>> {
        self.image.as_ref().map(|image| Frame { image })
    }

    /// What was seen so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    fn set_state(&mut self, state: RdpState) -> bool {
        if state.desktop_width > MAX_SIDE || state.desktop_height > MAX_SIDE {
            self.reject(format!(
                "desktop size {}x{} exceeds {MAX_SIDE}",
                state.desktop_width, state.desktop_height
            ));
            return false;
        }
        let same_ids = self.state.as_ref().is_some_and(|old| {
            (old.io_channel_id, old.user_channel_id, old.share_id)
                == (state.io_channel_id, state.user_channel_id, state.share_id)
        });
        if !same_ids || self.stage.is_none() {
            self.stage = Some(
                ActiveStageBuilder {
                    static_channels: StaticChannelSet::new(),
                    user_channel_id: state.user_channel_id,
                    io_channel_id: state.io_channel_id,
                    message_channel_id: None,
                    share_id: state.share_id,
                    compression_type: None,
                    enable_server_pointer: false,
                    pointer_software_rendering: false,
                }
                .build(),
            );
        }
        let size = (state.desktop_width, state.desktop_height);
        let resized = self.frame().map(|f| (f.width(), f.height())) != Some(size);
        self.state = Some(state);
        if resized {
            self.image = (size.0 > 0 && size.1 > 0)
                .then(|| DecodedImage::new(PixelFormat::RgbA32, size.0, size.1));
        }
        resized && self.image.is_some()
    }

    fn server(&mut self, frame: &[u8]) -> bool {
        let Some(io_channel) = self.state.as_ref().map(|s| s.io_channel_id) else {
            self.stats.before_state += 1;
            return false;
        };
        let Some(&first) = frame.first() else {
            self.stats.connection_frames += 1;
            return false;
        };
        // Fast-path: action 0 in the low two bits; TPKT starts with version 3.
        if first & 0x03 == 0 {
            return self.process(Action::FastPath, frame);
        }
        let Ok(ctx) = decode_send_data_indication(frame) else {
            self.stats.connection_frames += 1;
            return false;
        };
        if ctx.channel_id != io_channel {
            self.stats.virtual_channel_frames += 1;
            return false;
        }
        let Ok(share) = decode_share_control(ctx) else {
            // Licensing and other PDUs with a basic security header.
            self.stats.connection_frames += 1;
            return false;
        };
        match share.pdu {
            ShareControlPdu::ServerDemandActive(demand) => {
                self.stats.activations += 1;
                let size = demand.pdu.capability_sets.iter().find_map(|c| match c {
                    CapabilitySet::Bitmap(b) => Some((b.desktop_width, b.desktop_height)),
                    _ => None,
                });
                let Some(mut state) = self.state.clone() else {
                    return false;
                };
                state.share_id = share.share_id;
                if let Some((width, height)) = size {
                    state.desktop_width = width;
                    state.desktop_height = height;
                }
                self.set_state(state)
            }
            ShareControlPdu::ServerDeactivateAll(_) => {
                self.stats.deactivations += 1;
                false
            }
            ShareControlPdu::Data(data) => match data.share_data_pdu {
                ShareDataPdu::Update(_)
                | ShareDataPdu::Pointer(_)
                | ShareDataPdu::Compressed { .. } => self.process(Action::X224, frame),
                _ => {
                    self.stats.informational_pdus += 1;
                    false
                }
            },
            ShareControlPdu::ClientConfirmActive(_) | ShareControlPdu::ServerRedirect(_) => {
                self.stats.informational_pdus += 1;
                false
            }
        }
    }

    /// Runs a frame through the stage; true if it drew.
    fn process(&mut self, action: Action, frame: &[u8]) -> bool {
        let (Some(stage), Some(image)) = (self.stage.as_mut(), self.image.as_mut()) else {
            self.stats.before_state += 1;
            return false;
        };
        match stage.process(image, action, frame, None) {
            Ok(outputs) => {
                let drew = outputs
                    .iter()
                    .any(|o| matches!(o, ActiveStageOutput::GraphicsUpdate(_)));
                if drew {
                    self.stats.image_changes += 1;
                }
                drew
            }
            Err(e) => {
                self.reject(e.to_string());
                false
            }
        }
    }

    fn reject(&mut self, error: String) {
        self.stats.undecodable += 1;
        self.stats.first_error.get_or_insert(error);
    }
}

/// A view of the decoded image.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    image: &'a DecodedImage,
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width(), self.height())
    }
}

impl Frame<'_> {
    /// Width in pixels.
    pub fn width(&self) -> u16 {
        self.image.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u16 {
        self.image.height()
    }

    /// The pixel at (`x`, `y`) as RGB, `None` outside the image.
    pub fn pixel(&self, x: u16, y: u16) -> Option<[u8; 3]> {
        if x >= self.width() || y >= self.height() {
            return None;
        }
        let at = (usize::from(y) * usize::from(self.width()) + usize::from(x)) * 4;
        match self.image.data().get(at..at + 3)? {
            [r, g, b] => Some([*r, *g, *b]),
            _ => None,
        }
    }

    /// Appends the image as packed RGB rows, top to bottom (what an X screenshot and
    /// `ffmpeg -pix_fmt rgb24` hold).
    pub fn write_rgb(&self, out: &mut Vec<u8>) {
        out.reserve(self.image.data().len() / 4 * 3);
        for px in self.image.data().chunks_exact(4) {
            out.extend(px.iter().take(3));
        }
    }

    /// The image as packed RGB.
    pub fn to_rgb(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_rgb(&mut out);
        out
    }

    /// The image for the `image` crate's encoders.
    pub fn to_image(&self) -> image::RgbImage {
        let (w, h) = (u32::from(self.width()), u32::from(self.height()));
        // `to_rgb` yields exactly w × h × 3 bytes, so this is always `Some`.
        image::RgbImage::from_raw(w, h, self.to_rgb()).unwrap_or_else(|| image::RgbImage::new(w, h))
    }
}

/// One sample of [`Replay::sample_every`].
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Where in the recording: a multiple of the interval, or the last change's offset.
    pub offset: Duration,
    /// The image at that offset.
    pub frame: Frame<'a>,
    /// Whether the image changed since the previous sample (always true for the first).
    pub changed: bool,
    /// The final sample: the image after the last change.
    pub last: bool,
}

/// A recording being replayed, frame by frame.
#[derive(Debug)]
pub struct Replay<R> {
    records: RdpReader<R>,
    header: RdpHeader,
    decoder: Decoder,
}

impl Replay<BufReader<File>> {
    /// Opens a recording file.
    pub fn open_file(path: &Path) -> Result<Self> {
        Self::open(BufReader::new(File::open(path).map_err(Error::read)?))
    }
}

impl<R: Read> Replay<R> {
    /// Reads the header; nothing is decoded yet.
    pub fn open(reader: R) -> Result<Self> {
        let (header, records) = RdpReader::open(reader)?;
        Ok(Self {
            records,
            header,
            decoder: Decoder::new(),
        })
    }

    /// The recording's header.
    pub fn header(&self) -> &RdpHeader {
        &self.header
    }

    /// Applies records up to and including the next one that changes the image, and
    /// returns its offset; `None` at the end of the recording.
    pub fn next_frame(&mut self) -> Result<Option<Duration>> {
        for record in self.records.by_ref() {
            let record = record?;
            if self.decoder.apply(&record) {
                return Ok(Some(record.offset));
            }
        }
        Ok(None)
    }

    /// The image as of the last record applied.
    pub fn frame(&self) -> Option<Frame<'_>> {
        self.decoder.frame()
    }

    /// What was seen so far.
    pub fn stats(&self) -> &ReplayStats {
        self.decoder.stats()
    }

    /// Whether the file ended inside a record (a crash, or a live session).
    pub fn truncated(&self) -> bool {
        self.records.truncated()
    }

    /// Plays to the end; returns the offset of the last change (then [`frame`](Self::frame)
    /// is the last frame), `None` if nothing was ever drawn.
    pub fn run_to_end(&mut self) -> Result<Option<Duration>> {
        let mut last = None;
        while let Some(offset) = self.next_frame()? {
            last = Some(offset);
        }
        Ok(last)
    }

    /// Calls `f` with the image as it was at 0, `every`, 2 × `every`, … up to the end of the
    /// recording (each sample shows every record up to its offset), then once more with
    /// the last change ([`Sample::last`]). Offsets before the first state have no image and
    /// no sample. `every` is at least a millisecond.
    pub fn sample_every(
        mut self,
        every: Duration,
        mut f: impl FnMut(&Sample<'_>) -> Result<()>,
    ) -> Result<ReplayStats> {
        let every = every.max(Duration::from_millis(1));
        let mut tick = Duration::ZERO;
        // Changed since the previous sample.
        let mut dirty = true;
        let mut last_change = None;
        let mut emit = |decoder: &Decoder, offset: Duration, dirty: &mut bool, last: bool| {
            let Some(frame) = decoder.frame() else {
                return Ok(());
            };
            let sample = Sample {
                offset,
                frame,
                changed: *dirty,
                last,
            };
            *dirty = false;
            f(&sample)
        };
        for record in self.records.by_ref() {
            let record = record?;
            while record.offset > tick {
                emit(&self.decoder, tick, &mut dirty, false)?;
                tick += every;
            }
            if self.decoder.apply(&record) {
                dirty = true;
                last_change = Some(record.offset);
            }
        }
        while tick <= self.decoder.stats().end {
            emit(&self.decoder, tick, &mut dirty, false)?;
            tick += every;
        }
        if let Some(offset) = last_change {
            // Whether it differs from the last tick's sample is beside the point here.
            let mut always = true;
            emit(&self.decoder, offset, &mut always, true)?;
        }
        Ok(self.decoder.stats().clone())
    }
}
