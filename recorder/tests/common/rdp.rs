//! Synthetic RDP recordings built with IronRDP's own encoders: the frames a server and a
//! client would send, at known places with known pixels. Shared by the RDP tests and the
//! replay benchmark (`benches/rdp_replay.rs` includes this file).
#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test fixtures: each user takes a subset; failures must be loud"
)]

use std::borrow::Cow;
use std::time::Duration;

use chrono::DateTime;
use fumidai_recorder::rdp::format::{RecordKind, state_payload, write_preamble, write_record};
use fumidai_recorder::rdp::{RdpHeader, RdpState};
use ironrdp_graphics::rdp6::{BitmapStreamEncoder, RgbChannels};
use ironrdp_pdu::bitmap::{BitmapData, BitmapUpdateData, Compression};
use ironrdp_pdu::encode_vec;
use ironrdp_pdu::fast_path::{
    EncryptionFlags, FastPathHeader, FastPathUpdate, FastPathUpdatePdu, Fragmentation, UpdateCode,
};
use ironrdp_pdu::geometry::InclusiveRectangle;
use ironrdp_pdu::input::fast_path::{FastPathInput, FastPathInputEvent};
use ironrdp_pdu::input::{InputEvent, InputEventPdu};
use ironrdp_pdu::mcs::SendDataIndication;
use ironrdp_pdu::rdp::capability_sets::{
    Bitmap, BitmapDrawingFlags, CapabilitySet, DemandActive, ServerDemandActive,
};
use ironrdp_pdu::rdp::client_info::CompressionType;
use ironrdp_pdu::rdp::headers::{
    CompressionFlags, ServerDeactivateAll, ShareControlHeader, ShareControlPdu, ShareDataHeader,
    ShareDataPdu, StreamPriority,
};
use ironrdp_pdu::x224::X224;
use uuid::Uuid;

pub const IO_CHANNEL: u16 = 1003;
pub const USER_CHANNEL: u16 = 1007;
pub const RDPDR_CHANNEL: u16 = 1004;
pub const SHARE_ID: u32 = 0x0001_03ea;

pub fn header() -> RdpHeader {
    RdpHeader {
        session_id: Uuid::from_u128(0x5d),
        engineer: "alice".into(),
        target: "ct-console".into(),
        plan_id: "7".into(),
        started_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        gateway_version: "0.1.0".into(),
        may_resume: None,
    }
}

pub fn state(width: u16, height: u16) -> RdpState {
    RdpState {
        io_channel_id: IO_CHANNEL,
        user_channel_id: USER_CHANNEL,
        share_id: SHARE_ID,
        desktop_width: width,
        desktop_height: height,
        static_channels: vec![("rdpdr".into(), RDPDR_CHANNEL)],
    }
}

/// A recording assembled in memory.
pub struct Recording {
    pub bytes: Vec<u8>,
}

impl Recording {
    pub fn new() -> Self {
        let mut bytes = Vec::new();
        write_preamble(&mut bytes, &header()).unwrap();
        Self { bytes }
    }

    pub fn state(self, ms: u64, state: &RdpState) -> Self {
        let payload = state_payload(state).unwrap();
        self.record(ms, RecordKind::State, &payload)
    }

    pub fn server(self, ms: u64, frame: &[u8]) -> Self {
        self.record(ms, RecordKind::Server, frame)
    }

    pub fn client(self, ms: u64, frame: &[u8]) -> Self {
        self.record(ms, RecordKind::Client, frame)
    }

    pub fn record(mut self, ms: u64, kind: RecordKind, payload: &[u8]) -> Self {
        write_record(&mut self.bytes, Duration::from_millis(ms), kind, payload).unwrap();
        self
    }
}

/// Pixels of a `width` × `height` rectangle, top row first, from `color(x, y)`.
pub fn pixels(width: u16, height: u16, color: impl Fn(u16, u16) -> [u8; 3]) -> Vec<[u8; 3]> {
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| color(x, y))
        .collect()
}

/// Rows bottom-up, as RDP bitmaps are stored.
fn bottom_up<T: Clone>(px: &[T], width: u16) -> Vec<T> {
    px.chunks(usize::from(width))
        .rev()
        .flatten()
        .cloned()
        .collect()
}

/// The bitmap data of an uncompressed bitmap at `bpp` (32: BGRX, 24: BGR, 16: RGB565),
/// rows bottom-up and padded to 4 bytes.
pub fn uncompressed(px: &[[u8; 3]], width: u16, bpp: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for row in bottom_up(px, width).chunks(usize::from(width)) {
        let start = out.len();
        for &[r, g, b] in row {
            match bpp {
                32 => out.extend([b, g, r, 0]),
                24 => out.extend([b, g, r]),
                16 => out.extend(rgb565([r, g, b]).to_le_bytes()),
                _ => panic!("unsupported bpp {bpp}"),
            }
        }
        while (out.len() - start) % 4 != 0 {
            out.push(0);
        }
    }
    out
}

pub fn rgb565([r, g, b]: [u8; 3]) -> u16 {
    (u16::from(r) >> 3) << 11 | (u16::from(g) >> 2) << 5 | u16::from(b) >> 3
}

/// An interleaved RLE 16 bpp stream made only of color runs, one per bottom-up row run of
/// equal pixels (MS-RDPBCGR 2.2.9.1.1.3.1.2.4: REGULAR_COLOR_RUN, code 0x3).
pub fn rle16(px: &[[u8; 3]], width: u16) -> Vec<u8> {
    let mut out = Vec::new();
    for row in bottom_up(px, width).chunks(usize::from(width)) {
        let mut i = 0;
        while i < row.len() {
            let run = row[i..]
                .iter()
                .take_while(|p| **p == row[i])
                .take(31)
                .count();
            out.push(0x60 | run as u8);
            out.extend(rgb565(row[i]).to_le_bytes());
            i += run;
        }
    }
    out
}

/// An RDP 6.0 planar (bitmap stream) 32 bpp encoding with RLE.
pub fn planar(px: &[[u8; 3]], width: u16, height: u16) -> Vec<u8> {
    let rgb: Vec<u8> = bottom_up(px, width).into_iter().flatten().collect();
    let mut dst = vec![0u8; rgb.len() * 2 + 64];
    let n = BitmapStreamEncoder::new(usize::from(width), usize::from(height))
        .encode_bitmap::<RgbChannels>(&rgb, &mut dst, true)
        .unwrap();
    dst.truncate(n);
    dst
}

/// One bitmap rectangle at (`left`, `top`).
pub fn bitmap(
    left: u16,
    top: u16,
    width: u16,
    height: u16,
    bpp: u16,
    compressed: bool,
    data: &[u8],
) -> BitmapData<'_> {
    BitmapData {
        rectangle: InclusiveRectangle {
            left,
            top,
            right: left + width - 1,
            bottom: top + height - 1,
        },
        width,
        height,
        bits_per_pixel: bpp,
        compression_flags: if compressed {
            Compression::BITMAP_COMPRESSION | Compression::NO_BITMAP_COMPRESSION_HDR
        } else {
            Compression::empty()
        },
        compressed_data_header: None,
        bitmap_data: data,
    }
}

/// A fast-path output frame with one bitmap update.
pub fn fast_path_bitmap(rectangles: Vec<BitmapData<'_>>) -> Vec<u8> {
    let update = encode_vec(&FastPathUpdate::Bitmap(BitmapUpdateData { rectangles })).unwrap();
    let pdu = FastPathUpdatePdu {
        fragmentation: Fragmentation::Single,
        update_code: UpdateCode::Bitmap,
        compression_flags: None,
        compression_type: None,
        data: &update,
    };
    let body = encode_vec(&pdu).unwrap();
    let mut frame = encode_vec(&FastPathHeader::new(EncryptionFlags::empty(), body.len())).unwrap();
    frame.extend(body);
    frame
}

/// A TPKT/X.224 MCS Send Data Indication on `channel`.
pub fn slow_path(channel: u16, user_data: Vec<u8>) -> Vec<u8> {
    encode_vec(&X224(SendDataIndication {
        initiator_id: 1002,
        channel_id: channel,
        user_data: Cow::Owned(user_data),
    }))
    .unwrap()
}

fn share_control(pdu: ShareControlPdu, share_id: u32) -> Vec<u8> {
    encode_vec(&ShareControlHeader {
        share_control_pdu: pdu,
        pdu_source: 1002,
        share_id,
    })
    .unwrap()
}

/// A share data PDU on the I/O channel.
pub fn share_data(pdu: ShareDataPdu) -> Vec<u8> {
    slow_path(
        IO_CHANNEL,
        share_control(
            ShareControlPdu::Data(ShareDataHeader {
                share_data_pdu: pdu,
                stream_priority: StreamPriority::Medium,
                compression_flags: CompressionFlags::empty(),
                compression_type: CompressionType::K8,
            }),
            SHARE_ID,
        ),
    )
}

/// A slow-path bitmap update (Update share data PDU).
pub fn slow_path_bitmap(rectangles: Vec<BitmapData<'_>>) -> Vec<u8> {
    slow_path_update(&encode_vec(&BitmapUpdateData { rectangles }).unwrap())
}

/// A share data PDU of type Update (2) around `body`, built by hand: IronRDP does not
/// encode Update PDUs (MS-RDPBCGR 2.2.8.1.1.1.1 and 2.2.8.1.1.1.2).
pub fn slow_path_update(body: &[u8]) -> Vec<u8> {
    let mut user_data = Vec::new();
    user_data.extend(u16::try_from(18 + body.len()).unwrap().to_le_bytes()); // totalLength
    user_data.extend(0x0017u16.to_le_bytes()); // PDUTYPE_DATAPDU | TS_PROTOCOL_VERSION
    user_data.extend(1002u16.to_le_bytes()); // pduSource
    user_data.extend(SHARE_ID.to_le_bytes());
    user_data.extend([0, 2]); // pad1, streamId (medium)
    user_data.extend(u16::try_from(body.len()).unwrap().to_le_bytes()); // uncompressedLength
    user_data.extend([2, 0, 0, 0]); // pduType2 Update, compressedType, compressedLength
    user_data.extend(body);
    slow_path(IO_CHANNEL, user_data)
}

pub fn demand_active(share_id: u32, width: u16, height: u16) -> Vec<u8> {
    let pdu = ShareControlPdu::ServerDemandActive(ServerDemandActive {
        pdu: DemandActive {
            source_descriptor: "RDP".into(),
            capability_sets: vec![CapabilitySet::Bitmap(Bitmap {
                pref_bits_per_pix: 32,
                desktop_width: width,
                desktop_height: height,
                desktop_resize_flag: true,
                drawing_flags: BitmapDrawingFlags::empty(),
            })],
        },
    });
    slow_path(IO_CHANNEL, share_control(pdu, share_id))
}

pub fn deactivate_all() -> Vec<u8> {
    slow_path(
        IO_CHANNEL,
        share_control(
            ShareControlPdu::ServerDeactivateAll(ServerDeactivateAll),
            SHARE_ID,
        ),
    )
}

/// A fast-path input frame.
pub fn fast_path_input(events: Vec<FastPathInputEvent>) -> Vec<u8> {
    encode_vec(&FastPathInput::new(events).unwrap()).unwrap()
}

/// A slow-path input PDU as the client sends it: MCS Send Data Request on the I/O channel.
pub fn slow_path_input(events: Vec<InputEvent>) -> Vec<u8> {
    let mut buf = ironrdp_pdu::write_buf::WriteBuf::new();
    ironrdp_pdu::rdp::headers::encode_share_data(
        USER_CHANNEL,
        IO_CHANNEL,
        SHARE_ID,
        ShareDataPdu::Input(InputEventPdu(events)),
        &mut buf,
    )
    .unwrap();
    buf.into_inner()
}
