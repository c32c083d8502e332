//! A patched RDP client, built as a small relay between a stock `xfreerdp` and
//! `fumidai connect rdp`'s tunnel (issue 11, reproduction 9): it forwards the stock
//! client's frames unchanged and, when told, sends slow-path input of its own into the
//! same session, the way a patched client would: a valid Input PDU, one whose Share
//! Control header says version 0, or a valid one with an event of unknown type appended.
//! xrdp reads all three as keystrokes.
//!
//! # How it sits in the middle
//!
//! RDP's TLS runs from the client to the gateway, and CredSSP covers the server
//! certificate's public key, so a relay reads client frames only if it looks like the
//! gateway to the client: it answers xfreerdp's TLS with the gateway's own certificate and
//! key (from the test's data directory) and opens its own TLS to the tunnel. CredSSP
//! messages pass unchanged and verify at both ends, which see the same public key. (A
//! vendor has no gateway key; they patch their client instead, which sends the same bytes
//! from inside its own TLS.)
//!
//! # Framing
//!
//! Client bytes are cut into frames by their first byte: TPKT (`0x03`), DER (`0x30`,
//! CredSSP), fast-path otherwise. The MCS initiator, the I/O channel, the share ID and
//! the PDU source for the injected frames are copied from the client's own first Share
//! Data PDU (its Synchronize).
//!
//! # The clipboard channel
//!
//! It also sends cliprdr PDUs (MS-RDPECLIP) of its own on the `cliprdr` static channel
//! ([`PatchedClient::send_clipboard`]), each in one MCS Send Data Request whose
//! CHANNEL_PDU_HEADER says first and last chunk. The channel's ID is learnt as the client
//! learns it: the names in the client's MCS Connect Initial (CS_NET) and, in the same order,
//! the IDs in the Connect Response that comes back (SC_NET). The gateway's frames are cut
//! the same way as the client's, and the user data of every Send Data Indication on that
//! channel is kept for the test ([`PatchedClient::clipboard_received`]).
//!
//! # What it does not do
//!
//! It does not change what the gateway sends: that is forwarded frame by frame.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::tools::wait_for;

/// What the injected Input PDU looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    /// A valid slow-path Input PDU, as a stock client could send it.
    Valid,
    /// The Share Control header's version bits 0 instead of 1 (xrdp ignores them).
    ShareControlVersion0,
    /// A valid Input PDU with one more event, of unknown type `0x7777`, counted and
    /// appended (xrdp skips it after acting on the others).
    UnknownEventAppended,
}

/// A running relay for one connection.
pub struct PatchedClient {
    addr: SocketAddr,
    inject: mpsc::UnboundedSender<Vec<u8>>,
    io: Arc<Mutex<Option<IoChannel>>>,
    clip: Arc<Mutex<ClipChannel>>,
    /// Dropped to stop the relay.
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The cliprdr channel, as the connection's MCS exchange named it, and what the gateway
/// sent the client on it.
#[derive(Debug, Default)]
struct ClipChannel {
    /// The static channels the client asked for, in its order.
    names: Option<Vec<String>>,
    /// The cliprdr channel's ID, once the Connect Response gave it.
    id: Option<u16>,
    /// The user data (CHANNEL_PDU_HEADER and chunk) of each Send Data Indication on it.
    received: Vec<Vec<u8>>,
}

/// Where the client's share PDUs go, as its first Share Data PDU said.
#[derive(Clone, Copy, Debug)]
struct IoChannel {
    /// MCS initiator and channel ID, as encoded (PER).
    mcs: [u8; 4],
    pdu_source: u16,
    share_id: u32,
    stream_id: u8,
}

impl PatchedClient {
    /// Listens on a loopback port for one client and relays it to `tunnel`, presenting
    /// the certificate and key in `cert_pem` and `key_pem` (the gateway's).
    pub fn start(tunnel: SocketAddr, cert_pem: &Path, key_pem: &Path) -> Self {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
            .expect("read the gateway certificate")
            .collect::<Result<_, _>>()
            .expect("parse the gateway certificate");
        let key = PrivateKeyDer::from_pem_file(key_pem).expect("read the gateway key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("the gateway's certificate and key");
        let client = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .expect("TLS versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("relay address");
        let (inject, injected) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let io = Arc::new(Mutex::new(None));
        let learnt = Arc::clone(&io);
        let clip = Arc::new(Mutex::new(ClipChannel::default()));
        let clip_learnt = Arc::clone(&clip);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("relay runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("relay listener");
                let relay = Relay {
                    tunnel,
                    server: TlsAcceptor::from(Arc::new(server)),
                    client: TlsConnector::from(Arc::new(client)),
                    injected,
                    io: learnt,
                    clip: clip_learnt,
                };
                tokio::select! {
                    _ = stopped => {}
                    ended = relay.run(listener) => {
                        if let Err(error) = ended {
                            eprintln!("patched client relay: {error}");
                        }
                    }
                }
            });
        });
        Self {
            addr,
            inject,
            io,
            clip,
            _stop: stop,
        }
    }

    /// Where xfreerdp connects instead of the tunnel.
    pub fn address(&self) -> SocketAddr {
        self.addr
    }

    /// Types `text` (lower-case letters, digits, ` /.-`, `\n` for Enter) in one slow-path
    /// Input PDU shaped as `injection`, once the client's share is known; returns the
    /// frame as sent.
    pub fn type_text(&self, text: &str, injection: Injection) -> Vec<u8> {
        let io = wait_for(
            "the client's first share data PDU",
            Duration::from_secs(20),
            || *self.io.lock().unwrap_or_else(PoisonError::into_inner),
        );
        let frame = input_frame(&io, &key_events(text), injection);
        self.inject
            .send(frame.clone())
            .expect("the relay is still running");
        frame
    }

    /// Sends `pdu` (a whole cliprdr PDU: CLIPRDR_HEADER and body) on the cliprdr channel in
    /// one chunk, once the channel and the client's share are known; returns the frame as
    /// sent.
    pub fn send_clipboard(&self, pdu: &[u8]) -> Vec<u8> {
        let io = wait_for(
            "the client's first share data PDU",
            Duration::from_secs(20),
            || *self.io.lock().unwrap_or_else(PoisonError::into_inner),
        );
        let channel = wait_for("the cliprdr channel's ID", Duration::from_secs(20), || {
            self.clip.lock().unwrap_or_else(PoisonError::into_inner).id
        });
        let frame = channel_frame(&io, channel, pdu);
        self.inject
            .send(frame.clone())
            .expect("the relay is still running");
        frame
    }

    /// What the gateway has sent the client on the cliprdr channel so far: each Send Data
    /// Indication's user data (CHANNEL_PDU_HEADER, then the chunk).
    pub fn clipboard_received(&self) -> Vec<Vec<u8>> {
        self.clip
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
            .clone()
    }
}

/// cliprdr PDUs (MS-RDPECLIP 2.2) as a patched client would send them.
pub mod cliprdr {
    /// CB_FORMAT_LIST.
    pub const FORMAT_LIST: u16 = 0x0002;
    /// CB_FORMAT_DATA_RESPONSE.
    pub const FORMAT_DATA_RESPONSE: u16 = 0x0005;
    /// CB_FILECONTENTS_REQUEST.
    pub const FILE_CONTENTS_REQUEST: u16 = 0x0008;
    /// CB_FILECONTENTS_RESPONSE.
    pub const FILE_CONTENTS_RESPONSE: u16 = 0x0009;
    /// CB_RESPONSE_OK.
    pub const RESPONSE_OK: u16 = 0x0001;
    /// CB_RESPONSE_FAIL.
    pub const RESPONSE_FAIL: u16 = 0x0002;

    /// A whole PDU: CLIPRDR_HEADER (type, flags, length) and `body`.
    pub fn pdu(msg_type: u16, msg_flags: u16, body: &[u8]) -> Vec<u8> {
        let mut pdu = Vec::with_capacity(8 + body.len());
        pdu.extend(msg_type.to_le_bytes());
        pdu.extend(msg_flags.to_le_bytes());
        pdu.extend(u32::try_from(body.len()).expect("fits").to_le_bytes());
        pdu.extend(body);
        pdu
    }

    /// A File Contents Response (2.2.5.4) for `stream` carrying `data`.
    pub fn file_contents_response(stream: u32, data: &[u8]) -> Vec<u8> {
        let mut body = stream.to_le_bytes().to_vec();
        body.extend(data);
        pdu(FILE_CONTENTS_RESPONSE, RESPONSE_OK, &body)
    }

    /// The message type of a received chunk (CHANNEL_PDU_HEADER, then CLIPRDR_HEADER),
    /// when it is a first chunk.
    pub fn msg_type(chunk: &[u8]) -> Option<u16> {
        let flags = u32::from_le_bytes(chunk.get(4..8)?.try_into().ok()?);
        if flags & 0x01 == 0 {
            return None;
        }
        Some(u16::from_le_bytes(chunk.get(8..10)?.try_into().ok()?))
    }
}

struct Relay {
    tunnel: SocketAddr,
    server: TlsAcceptor,
    client: TlsConnector,
    injected: mpsc::UnboundedReceiver<Vec<u8>>,
    io: Arc<Mutex<Option<IoChannel>>>,
    clip: Arc<Mutex<ClipChannel>>,
}

impl Relay {
    async fn run(mut self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let (mut client, _) = listener.accept().await?;
        let mut upstream = tokio::net::TcpStream::connect(self.tunnel).await?;
        // X.224 Connection Request and Confirm, in the clear.
        let mut from_client = Frames::default();
        let request = from_client.next(&mut client).await?.ok_or_else(eof)?;
        upstream.write_all(&request).await?;
        let confirm = Frames::default()
            .next(&mut upstream)
            .await?
            .ok_or_else(eof)?;
        client.write_all(&confirm).await?;
        let client = self.server.accept(client).await?;
        let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
        let upstream = self.client.connect(name, upstream).await?;
        let (mut client_rx, mut client_tx) = tokio::io::split(client);
        let (mut upstream_rx, mut upstream_tx) = tokio::io::split(upstream);
        let clip = Arc::clone(&self.clip);
        let down = async move {
            let mut frames = Frames::default();
            while let Some(frame) = frames.next(&mut upstream_rx).await? {
                learn_from_gateway(&clip, &frame);
                client_tx.write_all(&frame).await?;
            }
            client_tx.shutdown().await
        };
        let up = async {
            let mut frames = Frames::default();
            loop {
                tokio::select! {
                    frame = frames.next(&mut client_rx) => {
                        let Some(frame) = frame? else { return upstream_tx.shutdown().await };
                        self.learn(&frame);
                        upstream_tx.write_all(&frame).await?;
                    }
                    Some(frame) = self.injected.recv() => upstream_tx.write_all(&frame).await?,
                }
            }
        };
        tokio::select! {
            ended = down => ended,
            ended = up => ended,
        }
    }

    /// Keeps the addressing of the client's first Share Data PDU on its I/O channel, and
    /// the channel names of its Connect Initial.
    fn learn(&self, frame: &[u8]) {
        if mcs_type(frame) == Some([0x7f, 0x65]) {
            let mut clip = self.clip.lock().unwrap_or_else(PoisonError::into_inner);
            clip.names = clip.names.take().or_else(|| channel_names(frame));
            return;
        }
        let mut io = self.io.lock().unwrap_or_else(PoisonError::into_inner);
        if io.is_some() {
            return;
        }
        // TPKT, X.224 Data, MCS Send Data Request.
        if frame.get(..1) != Some(&[0x03]) || frame.get(5..8) != Some(&[0xf0, 0x80, 0x64]) {
            return;
        }
        let Some(mcs) = frame.get(8..12).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return;
        };
        let Some(&length) = frame.get(13) else { return };
        let start = if length & 0x80 == 0 { 14 } else { 15 };
        let Some(share) = frame.get(start..) else {
            return;
        };
        let u16_at = |at: usize| {
            share
                .get(at..at + 2)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_le_bytes)
        };
        // Share Control, type Data, version 1.
        if u16_at(2) != Some(0x0017) {
            return;
        }
        let share_id = share
            .get(6..10)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes);
        let (Some(pdu_source), Some(share_id), Some(&stream_id)) =
            (u16_at(4), share_id, share.get(11))
        else {
            return;
        };
        *io = Some(IoChannel {
            mcs,
            pdu_source,
            share_id,
            stream_id,
        });
    }
}

/// Learns the cliprdr channel's ID from the Connect Response, and keeps what comes on that
/// channel.
fn learn_from_gateway(clip: &Mutex<ClipChannel>, frame: &[u8]) {
    let mut clip = clip.lock().unwrap_or_else(PoisonError::into_inner);
    match mcs_type(frame) {
        Some([0x7f, 0x66]) if clip.id.is_none() => {
            let ids = channel_ids(frame).unwrap_or_default();
            let at = clip
                .names
                .as_ref()
                .and_then(|names| names.iter().position(|n| n == "cliprdr"));
            clip.id = at.and_then(|at| ids.get(at).copied());
        }
        Some([0x68, _]) => {
            // Send Data Indication: initiator, channel, priority, PER length, data.
            let channel = frame
                .get(10..12)
                .and_then(|b| b.try_into().ok())
                .map(u16::from_be_bytes);
            if channel.is_none() || channel != clip.id {
                return;
            }
            let Some(&length) = frame.get(13) else { return };
            let start = if length & 0x80 == 0 { 14 } else { 15 };
            if let Some(data) = frame.get(start..) {
                clip.received.push(data.to_vec());
            }
        }
        _ => {}
    }
}

/// The first two bytes of the MCS PDU in a TPKT + X.224 Data frame.
fn mcs_type(frame: &[u8]) -> Option<[u8; 2]> {
    if frame.first() != Some(&0x03) || frame.get(5..7) != Some(&[0xf0, 0x80]) {
        return None;
    }
    frame.get(7..9)?.try_into().ok()
}

/// The channel names of the CS_NET block (type 0xC003: header, count, then 12 bytes a
/// channel: name, options) in a Connect Initial, found by its shape.
fn channel_names(frame: &[u8]) -> Option<Vec<String>> {
    (0..frame.len()).find_map(|at| {
        let block = frame.get(at..)?;
        if block.get(..2)? != [0x03, 0xc0] {
            return None;
        }
        let length = usize::from(u16::from_le_bytes(block.get(2..4)?.try_into().ok()?));
        let count = usize::try_from(u32::from_le_bytes(block.get(4..8)?.try_into().ok()?)).ok()?;
        if count > 31 || length != 8 + 12 * count {
            return None;
        }
        (0..count)
            .map(|n| {
                let name = block.get(8 + 12 * n..16 + 12 * n)?;
                let end = name.iter().position(|&b| b == 0).unwrap_or(8);
                Some(String::from_utf8_lossy(name.get(..end)?).into_owned())
            })
            .collect()
    })
}

/// The static channel IDs of the SC_NET block (type 0x0C03: header, I/O channel, count,
/// IDs, padding to 4 bytes) in a Connect Response, found by its shape.
fn channel_ids(frame: &[u8]) -> Option<Vec<u16>> {
    let u16_at = |block: &[u8], at: usize| {
        block
            .get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
    };
    (0..frame.len()).find_map(|at| {
        let block = frame.get(at..)?;
        if block.get(..2)? != [0x03, 0x0c] {
            return None;
        }
        let length = usize::from(u16_at(block, 2)?);
        let count = usize::from(u16_at(block, 6)?);
        if count > 31 || length != 8 + 2 * count + 2 * (count % 2) {
            return None;
        }
        (0..count).map(|n| u16_at(block, 8 + 2 * n)).collect()
    })
}

fn eof() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof)
}

/// Cuts a byte stream into frames; what was read stays buffered if a read is cancelled.
#[derive(Default)]
struct Frames {
    buffer: Vec<u8>,
}

impl Frames {
    async fn next<R: AsyncRead + Unpin>(
        &mut self,
        from: &mut R,
    ) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(len) = frame_length(&self.buffer)
                && self.buffer.len() >= len
            {
                if len == 0 {
                    return Err(std::io::Error::other("a frame of length 0"));
                }
                return Ok(Some(self.buffer.drain(..len).collect()));
            }
            if from.read_buf(&mut self.buffer).await? == 0 {
                return Ok(None);
            }
        }
    }
}

/// The length of the frame at the start of `buffer`, once enough of it is there.
fn frame_length(buffer: &[u8]) -> Option<usize> {
    let first = *buffer.first()?;
    let second = usize::from(*buffer.get(1)?);
    match first {
        0x03 => Some(usize::from(u16::from_be_bytes([
            *buffer.get(2)?,
            *buffer.get(3)?,
        ]))),
        0x30 if second < 0x80 => Some(2 + second),
        0x30 => {
            let count = second & 0x7f;
            let mut length = 0usize;
            for at in 0..count {
                length = (length << 8) | usize::from(*buffer.get(2 + at)?);
            }
            Some(2 + count + length)
        }
        _ if second & 0x80 != 0 => Some(((second & 0x7f) << 8) | usize::from(*buffer.get(2)?)),
        _ => Some(second),
    }
}

/// A slow-path keyboard event (TS_KEYBOARD_EVENT): time, type 4, flags, scancode, pad.
fn scancode_event(code: u16, release: bool) -> [u8; 12] {
    let flags: u16 = if release { 0x8000 } else { 0 };
    let [f0, f1] = flags.to_le_bytes();
    let [c0, c1] = code.to_le_bytes();
    [0, 0, 0, 0, 0x04, 0x00, f0, f1, c0, c1, 0, 0]
}

/// Key presses and releases for `text` (US layout, set 1 scancodes).
fn key_events(text: &str) -> Vec<[u8; 12]> {
    text.chars()
        .flat_map(|c| {
            let code = scancode(c).unwrap_or_else(|| panic!("no scancode for {c:?}"));
            [scancode_event(code, false), scancode_event(code, true)]
        })
        .collect()
}

fn scancode(c: char) -> Option<u16> {
    const LETTERS: [u16; 26] = [
        0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32, 0x31, 0x18,
        0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
    ];
    Some(match c {
        'a'..='z' => *LETTERS.get(usize::from(c as u8 - b'a'))?,
        '1'..='9' => u16::from(c as u8 - b'1') + 0x02,
        '0' => 0x0b,
        '-' => 0x0c,
        '.' => 0x34,
        '/' => 0x35,
        ' ' => 0x39,
        '\n' => 0x1c,
        _ => return None,
    })
}

/// A TPKT frame holding one slow-path Input PDU with `events`, shaped as `injection`.
fn input_frame(io: &IoChannel, events: &[[u8; 12]], injection: Injection) -> Vec<u8> {
    let u16_of = |n: usize| u16::try_from(n).expect("fits in 16 bits");
    let mut body = Vec::new();
    let unknown = injection == Injection::UnknownEventAppended;
    body.extend(u16_of(events.len() + usize::from(unknown)).to_le_bytes());
    body.extend([0, 0]);
    for event in events {
        body.extend(event);
    }
    if unknown {
        body.extend([0, 0, 0, 0, 0x77, 0x77, 0, 0, 0x1e, 0, 0, 0]);
    }
    let pdu_type: u16 = match injection {
        Injection::ShareControlVersion0 => 0x0007,
        Injection::Valid | Injection::UnknownEventAppended => 0x0017,
    };
    // Share Control header (6), share ID (4), the rest of the Share Data header (8).
    let mut share = Vec::new();
    share.extend(u16_of(18 + body.len()).to_le_bytes());
    share.extend(pdu_type.to_le_bytes());
    share.extend(io.pdu_source.to_le_bytes());
    share.extend(io.share_id.to_le_bytes());
    share.extend([0, io.stream_id]);
    share.extend(u16_of(body.len()).to_le_bytes());
    share.extend([0x1c, 0, 0, 0]);
    share.extend(body);
    let mut mcs = vec![0x64];
    mcs.extend(io.mcs);
    mcs.push(0x70);
    if share.len() < 0x80 {
        mcs.extend(u8::try_from(share.len()).expect("below 0x80").to_be_bytes());
    } else {
        mcs.extend((u16_of(share.len()) | 0x8000).to_be_bytes());
    }
    mcs.extend(share);
    let mut frame = vec![0x03, 0x00];
    frame.extend(u16_of(7 + mcs.len()).to_be_bytes());
    frame.extend([0x02, 0xf0, 0x80]);
    frame.extend(mcs);
    frame
}

/// A TPKT frame holding `pdu` in one MCS Send Data Request on `channel`, from the
/// client's own initiator, with a CHANNEL_PDU_HEADER saying first and last chunk.
fn channel_frame(io: &IoChannel, channel: u16, pdu: &[u8]) -> Vec<u8> {
    let u16_of = |n: usize| u16::try_from(n).expect("fits in 16 bits");
    let mut data = Vec::new();
    data.extend(u32::try_from(pdu.len()).expect("fits").to_le_bytes());
    data.extend(0x03u32.to_le_bytes());
    data.extend(pdu);
    let mut mcs = vec![0x64];
    mcs.extend(io.mcs.get(..2).expect("initiator"));
    mcs.extend(channel.to_be_bytes());
    mcs.push(0x70);
    if data.len() < 0x80 {
        mcs.extend(u8::try_from(data.len()).expect("below 0x80").to_be_bytes());
    } else {
        mcs.extend((u16_of(data.len()) | 0x8000).to_be_bytes());
    }
    mcs.extend(data);
    let mut frame = vec![0x03, 0x00];
    frame.extend(u16_of(7 + mcs.len()).to_be_bytes());
    frame.extend([0x02, 0xf0, 0x80]);
    frame.extend(mcs);
    frame
}

/// Accepts the tunnel's certificate whatever it is (the relay is a test's own hop; the
/// client it serves pins the certificate).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
