//! Replay of synthetic RDP recordings: bitmaps in every encoding the proxy lets through
//! land at known places with exact pixels; virtual channels, informational PDUs, errors
//! and resizes do not stop the replay; sampling gives the screen at each interval.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "integration tests: any failure must fail the test loudly"
)]

mod common;

use std::time::Duration;

use common::rdp::*;
use fumidai_recorder::rdp::replay::{Replay, ReplayStats};
use ironrdp_pdu::rdp::finalization_messages::SynchronizePdu;
use ironrdp_pdu::rdp::headers::ShareDataPdu;
use ironrdp_pdu::rdp::server_error_info::{
    ErrorInfo, ProtocolIndependentCode, ServerSetErrorInfoPdu,
};

const BLACK: [u8; 3] = [0, 0, 0];
const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

fn replay(rec: Recording) -> Replay<std::io::Cursor<Vec<u8>>> {
    Replay::open(std::io::Cursor::new(rec.bytes)).unwrap()
}

/// Every pixel of the rectangle at (`left`, `top`) is what `want` says.
fn assert_rect(
    r: &Replay<std::io::Cursor<Vec<u8>>>,
    (left, top, width, height): (u16, u16, u16, u16),
    want: &[[u8; 3]],
    what: &str,
) {
    let frame = r.frame().expect("an image");
    for y in 0..height {
        for x in 0..width {
            let i = usize::from(y * width + x);
            assert_eq!(
                frame.pixel(left + x, top + y),
                Some(want[i]),
                "{what}: pixel ({}, {})",
                left + x,
                top + y
            );
        }
    }
}

fn gradient(width: u16, height: u16) -> Vec<[u8; 3]> {
    pixels(width, height, |x, y| {
        [
            (x * 40 + 7) as u8,
            (y * 60 + 3) as u8,
            (x * y * 9 + 100) as u8,
        ]
    })
}

fn saturated(width: u16, height: u16) -> Vec<[u8; 3]> {
    let palette = [RED, GREEN, BLUE, WHITE, BLACK, [255, 255, 0]];
    pixels(width, height, |x, y| palette[usize::from(x + 2 * y) % 6])
}

#[test]
fn bitmaps_of_every_encoding_land_at_known_places() {
    let raw32 = gradient(4, 2);
    let raw24 = gradient(3, 3); // 9-byte rows: padded to 12
    let raw16 = saturated(5, 2);
    let rle = pixels(4, 2, |x, y| match (y, x < 3) {
        (0, true) => RED,
        (0, false) => GREEN,
        _ => BLUE,
    });
    let plane = gradient(6, 3);
    let (d32, d24, d16) = (
        uncompressed(&raw32, 4, 32),
        uncompressed(&raw24, 3, 24),
        uncompressed(&raw16, 5, 16),
    );
    let (drle, dplane) = (rle16(&rle, 4), planar(&plane, 6, 3));
    let rec = Recording::new()
        .state(0, &state(64, 48))
        .server(
            10,
            &fast_path_bitmap(vec![
                bitmap(10, 20, 4, 2, 32, false, &d32),
                bitmap(0, 0, 3, 3, 24, false, &d24),
            ]),
        )
        .server(
            20,
            &fast_path_bitmap(vec![bitmap(50, 40, 5, 2, 16, false, &d16)]),
        )
        .server(
            30,
            &fast_path_bitmap(vec![bitmap(30, 5, 4, 2, 16, true, &drle)]),
        )
        .server(
            40,
            &fast_path_bitmap(vec![bitmap(20, 30, 6, 3, 32, true, &dplane)]),
        );
    let mut r = replay(rec);
    assert_eq!(r.header().engineer, "alice");
    let mut offsets = Vec::new();
    while let Some(t) = r.next_frame().unwrap() {
        offsets.push(t.as_millis());
    }
    assert_eq!(
        offsets,
        [0, 10, 20, 30, 40],
        "the state (new image), then each bitmap"
    );
    assert_rect(&r, (10, 20, 4, 2), &raw32, "32 bpp uncompressed");
    assert_rect(&r, (0, 0, 3, 3), &raw24, "24 bpp uncompressed, padded rows");
    assert_rect(&r, (50, 40, 5, 2), &raw16, "16 bpp uncompressed");
    assert_rect(&r, (30, 5, 4, 2), &rle, "16 bpp interleaved RLE");
    assert_rect(&r, (20, 30, 6, 3), &plane, "RDP6 planar");
    let frame = r.frame().unwrap();
    assert_eq!((frame.width(), frame.height()), (64, 48));
    assert_eq!(frame.pixel(63, 47), Some(BLACK), "untouched");
    assert_eq!(frame.pixel(64, 0), None);
    let rgb = frame.to_rgb();
    assert_eq!(rgb.len(), 64 * 48 * 3);
    assert_eq!(&rgb[(20 * 64 + 10) * 3..][..3], &raw32[0]);
    assert_eq!(frame.to_image().get_pixel(10, 20).0, raw32[0]);
    let stats = r.stats();
    assert_eq!(
        (stats.image_changes, stats.undecodable),
        (4, 0),
        "{stats:?}"
    );
}

/// What a real session also carries: connection-phase PDUs, virtual channel traffic,
/// share data that draws nothing, an error report, a slow-path bitmap. None stops the
/// replay (IronRDP's stage alone would stop at the first rdpdr PDU).
#[test]
fn other_channels_and_informational_pdus_do_not_stop_the_replay() {
    let px = gradient(2, 2);
    let data = uncompressed(&px, 2, 32);
    let late = saturated(3, 1);
    let late_data = uncompressed(&late, 3, 24);
    let error_info = share_data(ShareDataPdu::ServerSetErrorInfo(ServerSetErrorInfoPdu(
        ErrorInfo::ProtocolIndependentCode(ProtocolIndependentCode::IdleTimeout),
    )));
    let rec = Recording::new()
        .server(0, &[3, 0, 0, 11, 2, 0xf0, 0x80, 0x2e, 0, 0, 7]) // before any state
        .state(1, &state(32, 32))
        .server(2, &[3, 0, 0, 11, 2, 0xf0, 0x80, 0x2e, 0, 0, 7]) // Attach User Confirm
        .server(3, &demand_active(SHARE_ID, 32, 32))
        .server(
            4,
            &share_data(ShareDataPdu::Synchronize(SynchronizePdu {
                target_user_id: 1007,
            })),
        )
        .server(
            5,
            &slow_path(RDPDR_CHANNEL, b"rDAI\x01\x00\x00\x00junk".to_vec()),
        )
        .server(6, &slow_path(1009, vec![0x10, 0x02, 0, 0])) // drdynvc, not in the state
        .server(
            7,
            &slow_path_bitmap(vec![bitmap(1, 1, 2, 2, 32, false, &data)]),
        )
        .server(8, &error_info)
        .client(9, b"\x04\x04\x00\x1e")
        .server(
            10,
            &fast_path_bitmap(vec![bitmap(5, 9, 3, 1, 24, false, &late_data)]),
        );
    let mut r = replay(rec);
    let last = r.run_to_end().unwrap();
    assert_eq!(last, Some(Duration::from_millis(10)));
    assert_rect(&r, (1, 1, 2, 2), &px, "slow-path bitmap");
    assert_rect(&r, (5, 9, 3, 1), &late, "after the error report");
    let stats = r.stats().clone();
    assert_eq!(
        stats,
        ReplayStats {
            server_frames: 9,
            client_frames: 1,
            states: 1,
            activations: 1,
            deactivations: 0,
            image_changes: 2,
            virtual_channel_frames: 2,
            connection_frames: 1,
            informational_pdus: 2,
            before_state: 1,
            undecodable: 0,
            first_error: None,
            end: Duration::from_millis(10),
        }
    );
}

/// Deactivate All, then a Demand Active with another size: a new (black) image of that
/// size, drawn into by what follows; the proxy's state record repeating it changes nothing.
#[test]
fn reactivation_resizes_the_image() {
    let px = saturated(2, 2);
    let data = uncompressed(&px, 2, 32);
    let rec = Recording::new()
        .state(0, &state(64, 48))
        .server(
            10,
            &fast_path_bitmap(vec![bitmap(10, 20, 2, 2, 32, false, &data)]),
        )
        .server(20, &deactivate_all())
        .server(21, &demand_active(SHARE_ID + 1, 100, 80))
        .state(22, &{
            let mut s = state(100, 80);
            s.share_id = SHARE_ID + 1;
            s
        })
        .server(
            30,
            &fast_path_bitmap(vec![bitmap(98, 78, 2, 2, 32, false, &data)]),
        );
    let mut r = replay(rec);
    let mut offsets = Vec::new();
    while let Some(t) = r.next_frame().unwrap() {
        offsets.push(t.as_millis());
        let f = r.frame().unwrap();
        offsets.push(u128::from(f.width()));
    }
    assert_eq!(offsets, [0, 64, 10, 64, 21, 100, 30, 100]);
    let frame = r.frame().unwrap();
    assert_eq!(frame.pixel(10, 20), Some(BLACK), "the old screen is gone");
    assert_rect(&r, (98, 78, 2, 2), &px, "drawn at the new size");
    let stats = r.stats();
    assert_eq!(
        (stats.activations, stats.deactivations, stats.states),
        (1, 1, 2)
    );

    // A state alone (the proxy saw the resize) resizes too.
    let rec = Recording::new()
        .state(0, &state(64, 48))
        .state(5, &state(16, 8))
        .server(
            6,
            &fast_path_bitmap(vec![bitmap(14, 6, 2, 2, 32, false, &data)]),
        );
    let mut r = replay(rec);
    r.run_to_end().unwrap();
    assert_rect(&r, (14, 6, 2, 2), &px, "after a state resize");
}

/// A frame the decoder rejects is counted and skipped; the next one is drawn.
#[test]
fn undecodable_frames_are_counted_and_skipped() {
    let px = saturated(2, 1);
    let data = uncompressed(&px, 2, 32);
    let bad_planar = [0x20u8, 0xff, 0x00]; // cut short
    let rec = Recording::new()
        .state(0, &state(16, 16))
        .server(1, &[0x00, 0x06, 0x0d, 0x01, 0x00, 0xaa]) // fast-path, unknown update code
        .server(
            2,
            &slow_path_bitmap(vec![bitmap(0, 0, 4, 4, 32, true, &bad_planar)]),
        )
        .server(3, &slow_path_update(&[0x09, 0x00]))
        .server(
            4,
            &fast_path_bitmap(vec![bitmap(3, 4, 2, 1, 32, false, &data)]),
        );
    let mut r = replay(rec);
    assert_eq!(r.run_to_end().unwrap(), Some(Duration::from_millis(4)));
    assert_rect(&r, (3, 4, 2, 1), &px, "after the bad frames");
    let stats = r.stats();
    assert_eq!(stats.undecodable, 2, "{stats:?}");
    assert!(stats.first_error.is_some());

    // An absurd desktop size is refused, not allocated.
    let rec = Recording::new().state(0, &state(60_000, 60_000));
    let mut r = replay(rec);
    assert_eq!(r.run_to_end().unwrap(), None);
    assert!(r.frame().is_none());
    assert_eq!(r.stats().undecodable, 1);
}

/// The screen at 0, 1, 2, … s shows every frame up to that moment; the last change comes
/// once more at the end.
#[test]
fn sampling_every_interval_and_the_last_frame() {
    let one = |c: [u8; 3]| uncompressed(&[c], 1, 32);
    let (red, green, blue) = (one(RED), one(GREEN), one(BLUE));
    let rec = Recording::new()
        .state(0, &state(8, 8))
        .server(
            500,
            &fast_path_bitmap(vec![bitmap(1, 1, 1, 1, 32, false, &red)]),
        )
        .server(
            1700,
            &fast_path_bitmap(vec![bitmap(2, 2, 1, 1, 32, false, &green)]),
        )
        .server(
            3200,
            &fast_path_bitmap(vec![bitmap(3, 3, 1, 1, 32, false, &blue)]),
        )
        .client(4100, b"\x04\x04\x00\x1e");
    let mut samples = Vec::new();
    let stats = replay(rec)
        .sample_every(Duration::from_secs(1), |s| {
            let at = |x| s.frame.pixel(x, x).unwrap();
            samples.push((
                s.offset.as_millis(),
                s.changed,
                s.last,
                [at(1), at(2), at(3)],
            ));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        samples,
        [
            (0, true, false, [BLACK, BLACK, BLACK]),
            (1000, true, false, [RED, BLACK, BLACK]),
            (2000, true, false, [RED, GREEN, BLACK]),
            (3000, false, false, [RED, GREEN, BLACK]),
            (4000, true, false, [RED, GREEN, BLUE]),
            (3200, true, true, [RED, GREEN, BLUE]),
        ]
    );
    assert_eq!(stats.end, Duration::from_millis(4100));
}

/// A recording cut by a crash replays up to the cut.
#[test]
fn a_truncated_recording_replays_up_to_the_cut() {
    let px = saturated(2, 2);
    let data = uncompressed(&px, 2, 32);
    let mut rec = Recording::new()
        .state(0, &state(8, 8))
        .server(
            1,
            &fast_path_bitmap(vec![bitmap(0, 0, 2, 2, 32, false, &data)]),
        )
        .server(
            2,
            &fast_path_bitmap(vec![bitmap(4, 4, 2, 2, 32, false, &data)]),
        );
    rec.bytes.truncate(rec.bytes.len() - 3);
    let mut r = replay(rec);
    assert_eq!(r.run_to_end().unwrap(), Some(Duration::from_millis(1)));
    assert!(r.truncated());
    assert_rect(&r, (0, 0, 2, 2), &px, "before the cut");
    assert_eq!(r.frame().unwrap().pixel(4, 4), Some(BLACK));
}
