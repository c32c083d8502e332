//! Table tests: the frames a stock client sends pass; the ones a patched client sends to
//! slip input past the recording (issue 11, reproduction 9) are violations.

use std::borrow::Cow;

use ironrdp_core::encode_vec;
use ironrdp_pdu::input::fast_path::{FastPathInput, FastPathInputEvent, KeyboardFlags};
use ironrdp_pdu::input::scan_code::ScanCodePdu;
use ironrdp_pdu::input::{InputEvent, InputEventPdu};
use ironrdp_pdu::mcs::{ChannelJoinRequest, SendDataRequest};
use ironrdp_pdu::rdp::client_info::CompressionType;
use ironrdp_pdu::rdp::finalization_messages::SynchronizePdu;
use ironrdp_pdu::rdp::headers::{
    CompressionFlags, ShareControlHeader, ShareControlPdu, ShareDataHeader, ShareDataPdu,
    StreamPriority,
};
use ironrdp_pdu::x224::X224;

use super::*;

const IO: u16 = 1003;

fn channels() -> Channels {
    Channels {
        io: IO,
        kept: vec![("cliprdr".to_owned(), 1004)],
        withheld: vec![65535],
    }
}

fn share_data(pdu: ShareDataPdu) -> Vec<u8> {
    let header = ShareControlHeader {
        share_control_pdu: ShareControlPdu::Data(ShareDataHeader {
            share_data_pdu: pdu,
            stream_priority: StreamPriority::Medium,
            compression_flags: CompressionFlags::empty(),
            compression_type: CompressionType::K8,
        }),
        pdu_source: 1007,
        share_id: 0x1_03EA,
    };
    encode_vec(&header).unwrap()
}

/// A slow-path Input PDU typing one key (scancode 0x1e, `a`).
fn input_pdu() -> Vec<u8> {
    share_data(ShareDataPdu::Input(InputEventPdu(vec![
        InputEvent::ScanCode(ScanCodePdu {
            flags: ironrdp_pdu::input::scan_code::KeyboardFlags::empty(),
            key_code: 0x1e,
        }),
    ])))
}

fn on_channel(channel: u16, user_data: Vec<u8>) -> Vec<u8> {
    encode_vec(&X224(SendDataRequest {
        initiator_id: 1007,
        channel_id: channel,
        user_data: Cow::Owned(user_data),
    }))
    .unwrap()
}

fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn fix_total_length(pdu: &mut [u8]) {
    let len = u16::try_from(pdu.len()).unwrap();
    set_u16(pdu, 0, len);
}

/// Offset of `numEvents` in an Input PDU (Share Control 6 + Share Data 12).
const NUM_EVENTS: usize = 18;

fn judged(user_data: Vec<u8>) -> ClientFrame {
    slow_path(&on_channel(IO, user_data), Some(&channels()), Phase::Active)
}

fn kind(frame: &ClientFrame) -> Option<ViolationKind> {
    match frame {
        ClientFrame::Violation(v) => Some(v.kind),
        _ => None,
    }
}

#[test]
fn a_stock_slow_path_input_pdu_is_input() {
    assert_eq!(judged(input_pdu()), ClientFrame::Input);
}

#[test]
fn slow_path_input_a_patched_client_sends_is_a_violation() {
    // Share Control header version 0 (xrdp ignores the version bits).
    let mut version0 = input_pdu();
    set_u16(&mut version0, 2, 0x0007);
    // A valid input message with an event of unknown type appended (counted).
    let mut unknown = input_pdu();
    unknown[NUM_EVENTS] = 2;
    unknown.extend([0, 0, 0, 0, 0x77, 0x77, 0, 0, 0x1e, 0, 0, 0]);
    fix_total_length(&mut unknown);
    // The same event appended but not counted: trailing bytes inside the declared length.
    let mut trailing = input_pdu();
    trailing.extend([0, 0, 0, 0, 0x04, 0, 0, 0, 0x1e, 0, 0, 0]);
    fix_total_length(&mut trailing);
    // Trailing bytes past the declared length.
    let mut past = input_pdu();
    past.extend([0x41, 0x41]);
    // Declared longer than it is.
    let mut short = input_pdu();
    let len = u16::try_from(short.len() + 12).unwrap();
    set_u16(&mut short, 0, len);
    // Flagged compressed.
    let mut compressed = input_pdu();
    compressed[15] = 0x20;
    // A known event count that the body does not hold.
    let mut missing = input_pdu();
    missing[NUM_EVENTS] = 2;
    for (name, pdu) in [
        ("version 0", version0),
        ("unknown event", unknown),
        ("trailing event", trailing),
        ("past the length", past),
        ("declared longer", short),
        ("compressed", compressed),
        ("missing event", missing),
    ] {
        assert_eq!(
            kind(&judged(pdu)),
            Some(ViolationKind::SlowPathInput),
            "{name}"
        );
    }
}

#[test]
fn other_share_pdus_pass_when_they_decode_and_end_the_session_when_not() {
    let sync = share_data(ShareDataPdu::Synchronize(SynchronizePdu {
        target_user_id: 1002,
    }));
    assert_eq!(judged(sync.clone()), ClientFrame::Share);
    let mut version0 = sync;
    set_u16(&mut version0, 2, 0x0007);
    assert_eq!(kind(&judged(version0)), Some(ViolationKind::SharePdu));
    assert_eq!(kind(&judged(vec![1])), Some(ViolationKind::SharePdu));
}

#[test]
fn licensing_passes_before_activation_only_and_client_info_once() {
    // SEC_LICENSE_PKT, then a licensing preamble (error alert, as clients answer).
    let license = vec![0x80, 0x00, 0x00, 0x00, 0xff, 0x03, 0x10, 0x00];
    let frame = on_channel(IO, license);
    assert_eq!(
        slow_path(&frame, Some(&channels()), Phase::Licensing),
        ClientFrame::Share
    );
    assert!(kind(&slow_path(&frame, Some(&channels()), Phase::Active)).is_some());
    let info = on_channel(IO, vec![0x40, 0x00, 0x00, 0x00, 0, 0]);
    assert_eq!(
        kind(&slow_path(&info, Some(&channels()), Phase::Licensing)),
        Some(ViolationKind::ClientInfoAgain)
    );
}

#[test]
fn channels_are_told_apart_and_unknown_ones_refused() {
    let data = vec![1, 2, 3];
    let judge = |channel| {
        slow_path(
            &on_channel(channel, data.clone()),
            Some(&channels()),
            Phase::Active,
        )
    };
    assert_eq!(
        judge(1004),
        ClientFrame::Channel {
            name: "cliprdr".to_owned(),
            id: 1004
        }
    );
    assert_eq!(judge(65535), ClientFrame::Withheld(65535));
    // The user channel, a message channel, anything else.
    for channel in [1007, 1005, 1] {
        assert_eq!(kind(&judge(channel)), Some(ViolationKind::UnknownChannel));
    }
    // Before the Connect Response: no channel is known.
    assert_eq!(
        kind(&slow_path(
            &on_channel(IO, input_pdu()),
            None,
            Phase::Active
        )),
        Some(ViolationKind::UnknownChannel)
    );
}

#[test]
fn mcs_control_passes_and_garbage_does_not() {
    let join = encode_vec(&X224(ChannelJoinRequest {
        initiator_id: 1007,
        channel_id: 1004,
    }))
    .unwrap();
    assert_eq!(
        slow_path(&join, Some(&channels()), Phase::Active),
        ClientFrame::Control
    );
    // X.224 Disconnect Request.
    let dr = [3, 0, 0, 11, 6, 0x80, 0, 0, 0, 0, 0];
    assert_eq!(
        slow_path(&dr, Some(&channels()), Phase::Active),
        ClientFrame::Control
    );
    let garbage = [3, 0, 0, 9, 2, 0xf0, 0x80, 0xff, 0xff];
    assert_eq!(
        kind(&slow_path(&garbage, Some(&channels()), Phase::Active)),
        Some(ViolationKind::Mcs)
    );
}

#[test]
fn fast_path_input_must_decode_completely() {
    let stock = encode_vec(
        &FastPathInput::new(vec![FastPathInputEvent::KeyboardEvent(
            KeyboardFlags::empty(),
            0x1e,
        )])
        .unwrap(),
    )
    .unwrap();
    assert_eq!(fast_path(&stock), ClientFrame::Input);
    // One more byte inside the declared length.
    let mut trailing = stock.clone();
    trailing.push(0x1e);
    trailing[1] += 1;
    // An event code IronRDP does not know (7).
    let mut unknown = stock.clone();
    unknown[2] = 7 << 5;
    // Encrypted.
    let mut encrypted = stock.clone();
    encrypted[0] |= 0x80;
    for (name, frame) in [
        ("trailing", trailing),
        ("unknown event", unknown),
        ("encrypted", encrypted),
        ("short", vec![0x04, 0x02]),
        ("tiny length", vec![0x04, 0x01, 0, 0]),
    ] {
        assert_eq!(
            kind(&fast_path(&frame)),
            Some(ViolationKind::FastPathInput),
            "{name}"
        );
    }
}
