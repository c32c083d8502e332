//! Forwarding one admitted RDP session between the vendor's client and the target, frame
//! by frame, with the rewrites of [`super::rewrite`] applied and every frame recorded
//! (client frames raw, the Client Info without its password). Every client frame is
//! judged ([`super::client_frames`]) before it is forwarded. Ends when either side closes,
//! a rule is broken (server redirection, a Client Info that can't be rewritten, a client
//! frame that doesn't decode), the recording fails, or the live registry decides the end
//! (idle, window end, maximum length, kill).

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ironrdp_pdu::Action;
use ironrdp_pdu::nego::SecurityProtocol;
use policy::limits::EndReason;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tracing::{info, warn};

use super::frames::FrameReader;
use recorder::rdp::RdpState;

use super::client_frames::{self, Channels, ClientFrame, Phase, Violation};
use super::clipboard::{self, Clipboard, Side};
use super::recording::{RecordingFailed, SessionRecording};
use super::rewrite::{self, ChannelAllowance, ClientInfoRequest, ServerEvent, TargetLogon};
use fumidai_core::live::{Activity, EndSignal};

mod clip_edge;
pub use clip_edge::ClipboardEdge;
use clip_edge::{Wire, Write};

/// What the relay needs besides the two streams.
pub struct RelaySetup {
    /// What the target selected (written into the Connect Initial).
    pub target_protocol: SecurityProtocol,
    /// What the client asked for (echoed in the Connect Response).
    pub client_protocols: SecurityProtocol,
    /// Static channels the plan allows.
    pub allowance: ChannelAllowance,
    /// The credential Client Info carries to the target.
    pub logon: TargetLogon,
    /// Where frames are recorded.
    pub recording: Arc<SessionRecording>,
    /// Marked on every input frame (idle time-out on input).
    pub activity: Activity,
    /// Decided by the live registry.
    pub end: EndSignal,
    /// What the session's owner puts on record (audit) as the relay goes.
    pub events: tokio::sync::mpsc::Sender<RelayEvent>,
    /// Files over the clipboard: their rules, the scanner and the audit trail.
    pub clipboard: ClipboardEdge,
}

/// Something the relay saw that goes on record while the session runs.
#[derive(Debug, Clone)]
pub enum RelayEvent {
    /// The client's Client Info asked for a program (alternate shell, working directory,
    /// RemoteApp); it was blanked.
    ClientInfoRewritten(ClientInfoRequest),
}

/// How a relay ended.
#[derive(Debug)]
pub enum RelayEnd {
    /// The client or the target closed the connection.
    Closed(&'static str),
    /// The live registry decided (idle, window end, maximum length, killed).
    Decided(EndReason),
    /// A rule was broken; the session was cut.
    Refused(Cut),
    /// A client frame fumidai can't judge (issue 11); not forwarded, the session was cut.
    Violation(Violation),
    /// An I/O error, or fumidai could not go on (recording, audit trail, a frame it
    /// builds).
    Failed(RelayFault),
}

/// A rule a peer broke, which cut the session.
#[derive(Debug, thiserror::Error)]
pub enum Cut {
    /// The client's Client Info could not be rewritten with the target's credential
    /// (never forwarded as the client sent it).
    #[error("client info could not be rewritten: {0}")]
    ClientInfo(#[source] rewrite::RewriteError),
    /// The target tried to send the client elsewhere.
    #[error("the target sent a server redirection")]
    ServerRedirection,
}

/// Why a relay failed on fumidai's side or on the wire (fail closed: the session ends).
#[derive(Debug, thiserror::Error)]
pub enum RelayFault {
    /// Reading or writing a side failed (other than the side going away).
    #[error("{side}: {error}")]
    Io {
        /// `client` or `target`.
        side: &'static str,
        /// What failed.
        #[source]
        error: std::io::Error,
    },
    /// The recording failed (R-10-3).
    #[error(transparent)]
    Recording(#[from] RecordingFailed),
    /// A frame fumidai rewrites or answers could not be built or parsed.
    #[error(transparent)]
    Rewrite(#[from] rewrite::RewriteError),
    /// The audit trail could not take a clipboard record (R-10-3).
    #[error("audit trail unavailable: {0}")]
    Audit(#[from] store::Error),
    /// A clipboard frame could not be encoded.
    #[error("clipboard frame: {0}")]
    Encode(#[from] ironrdp_core::EncodeError),
    /// A task panicked while holding the clipboard's state.
    #[error("the clipboard's state is poisoned")]
    Poisoned,
}

impl RelayEnd {
    /// For the log.
    pub fn describe(&self) -> String {
        match self {
            Self::Closed(side) => format!("closed by the {side}"),
            Self::Decided(reason) => format!("ended by fumidai: {reason}"),
            Self::Refused(why) => format!("cut: {why}"),
            Self::Violation(why) => format!("cut on a client frame: {why}"),
            Self::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// A side that went away (EOF without TLS close_notify, reset, broken pipe) closed the
/// session; any other I/O error failed it.
fn ended(side: &'static str, error: std::io::Error) -> RelayEnd {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::UnexpectedEof | K::ConnectionReset | K::BrokenPipe | K::ConnectionAborted => {
            RelayEnd::Closed(side)
        }
        _ => RelayEnd::Failed(RelayFault::Io { side, error }),
    }
}

/// Channel facts both directions need.
#[derive(Debug, Default)]
struct Shared {
    io_channel: OnceLock<u16>,
    /// Every channel the client asked for, and whether the target gets it.
    requested: OnceLock<Vec<(String, bool)>>,
    /// The channels the client may send on (from the Connect Response).
    channels: OnceLock<Channels>,
    /// The current activation's share ID and the server's channel, once activated.
    share: std::sync::Mutex<Option<(u32, u16)>>,
    /// The clipboard channel, both directions (locked only between awaits).
    clip: Option<std::sync::Mutex<Clipboard>>,
    /// The MCS initiators seen on the clipboard channel: the client's, the target's.
    initiators: std::sync::Mutex<(Option<u16>, Option<u16>)>,
}

/// Runs the relay to its end.
#[allow(clippy::too_many_lines)]
pub async fn relay<C, T>(
    client: C,
    mut client_reader: FrameReader,
    target: T,
    mut target_reader: FrameReader,
    setup: RelaySetup,
) -> RelayEnd
where
    C: AsyncRead + AsyncWrite + Unpin,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_rx, client_tx) = tokio::io::split(client);
    // Both directions write to the client: the target's frames, and the gateway's own
    // answers to joins of withheld channels.
    let client_tx = tokio::sync::Mutex::new(client_tx);
    let (mut target_rx, target_tx) = tokio::io::split(target);
    // Both directions write to the target too: the gateway's own clipboard requests and
    // answers.
    let target_tx = tokio::sync::Mutex::new(target_tx);
    let shared = Shared {
        clip: Some(std::sync::Mutex::new(Clipboard::new(
            setup.clipboard.rules.clone(),
        ))),
        ..Shared::default()
    };
    let upstream = async {
        let mut seen_connect_initial = false;
        let mut seen_client_info = false;
        let mut phase = Phase::Licensing;
        loop {
            let frame = match client_reader.read_frame(&mut client_rx).await {
                Ok(Some(frame)) => frame,
                Ok(None) => return RelayEnd::Closed("client"),
                // A client that hangs up without TLS close_notify (the tunnel just closed).
                Err(error) => return ended("client", error),
            };
            let out: Bytes = if !seen_connect_initial {
                seen_connect_initial = true;
                if let Err(error) = setup.recording.client_frame(frame.bytes.clone()).await {
                    return RelayEnd::Failed(error.into());
                }
                match rewrite::connect_initial(&frame.bytes, setup.target_protocol, setup.allowance)
                {
                    Ok((bytes, facts)) => {
                        info!(kept = ?facts.kept, dropped = ?facts.dropped, width = facts.desktop.0, height = facts.desktop.1, "static channels");
                        let _ = shared.requested.set(facts.requested);
                        Bytes::from(bytes)
                    }
                    Err(error) => return RelayEnd::Failed(error.into()),
                }
            } else if frame.action == Action::FastPath {
                // Fast-path from the client is input: recorded raw, forwarded only if it
                // decodes completely (issue 11).
                if let Err(error) = setup.recording.client_frame(frame.bytes.clone()).await {
                    return RelayEnd::Failed(error.into());
                }
                match client_frames::fast_path(&frame.bytes) {
                    ClientFrame::Violation(violation) => return RelayEnd::Violation(violation),
                    _ => setup.activity.touch(),
                }
                frame.bytes
            } else if !seen_client_info && rewrite::is_client_info(&frame.bytes) {
                // Never the vendor's credential: the target's, or the session ends. Never
                // a program the client names: the target's desktop.
                seen_client_info = true;
                match rewrite::client_info(&frame.bytes, &setup.logon) {
                    Ok(rewritten) => {
                        // The recording gets it without the password (the raw frame holds
                        // the single-use one, the rewritten one the target's).
                        if let Err(error) = setup
                            .recording
                            .client_frame(rewritten.recorded.into())
                            .await
                        {
                            return RelayEnd::Failed(error.into());
                        }
                        let requested = &rewritten.requested;
                        info!(
                            client_user = requested.client_user,
                            alternate_shell = rewrite::escape_controls(&requested.alternate_shell),
                            "client info rewritten with the target's credential"
                        );
                        if requested.asks_for_a_program() {
                            warn!("the client asked for a program instead of the desktop; blanked");
                            let _ = setup
                                .events
                                .send(RelayEvent::ClientInfoRewritten(rewritten.requested))
                                .await;
                        }
                        Bytes::from(rewritten.frame)
                    }
                    Err(error) => {
                        return RelayEnd::Refused(Cut::ClientInfo(error));
                    }
                }
            } else {
                // Every other client frame: recorded raw, then judged (issue 11).
                if let Err(error) = setup.recording.client_frame(frame.bytes.clone()).await {
                    return RelayEnd::Failed(error.into());
                }
                let phase_now = if seen_client_info {
                    phase
                } else {
                    Phase::Active
                };
                match client_frames::slow_path(&frame.bytes, shared.channels.get(), phase_now) {
                    ClientFrame::Violation(violation) => return RelayEnd::Violation(violation),
                    ClientFrame::Input => {
                        setup.activity.touch();
                        frame.bytes
                    }
                    ClientFrame::Share => {
                        if let Some(bytes) = rewrite::confirm_active(&frame.bytes) {
                            tracing::debug!("confirm active rewritten");
                            phase = Phase::Active;
                            Bytes::from(bytes)
                        } else {
                            frame.bytes
                        }
                    }
                    ClientFrame::Channel { name, .. } if name == "cliprdr" => {
                        // Files copied to the target: fetched, judged and recorded by the
                        // gateway before any of it goes on (issue 11).
                        let Some((channel, initiator, data)) =
                            clipboard::request_data(&frame.bytes)
                        else {
                            continue;
                        };
                        let on = on_clipboard(
                            Side::Client,
                            &frame.bytes,
                            (channel, initiator, &data),
                            &shared,
                            &setup,
                            (&client_tx, &target_tx),
                        );
                        if let Err(end) = on.await {
                            return end;
                        }
                        continue;
                    }
                    ClientFrame::Channel { .. } => frame.bytes,
                    // Data on a withheld channel (drive, clipboard…) goes nowhere
                    // (R-10.2-TERM).
                    ClientFrame::Withheld(_) => continue,
                    ClientFrame::Control => {
                        if let Some(channels) = shared.channels.get()
                            && let Some((initiator, channel)) =
                                rewrite::channel_join_request(&frame.bytes)
                            && channels.withheld.contains(&channel)
                        {
                            // A channel the plan does not allow: joined for the client's
                            // sake only.
                            tracing::debug!(
                                channel,
                                "join of a withheld channel confirmed by the gateway"
                            );
                            let confirm = match rewrite::channel_join_confirm(initiator, channel) {
                                Ok(confirm) => confirm,
                                Err(error) => return RelayEnd::Failed(error.into()),
                            };
                            if let Err(error) = client_tx.lock().await.write_all(&confirm).await {
                                return ended("client", error);
                            }
                            continue;
                        }
                        frame.bytes
                    }
                }
            };
            if let Err(error) = target_tx.lock().await.write_all(&out).await {
                return ended("target", error);
            }
        }
    };
    let downstream = async {
        let mut state = RdpState {
            io_channel_id: 0,
            user_channel_id: 0,
            share_id: 0,
            desktop_width: 0,
            desktop_height: 0,
            static_channels: Vec::new(),
        };
        let mut seen_connect_response = false;
        loop {
            let frame = match target_reader.read_frame(&mut target_rx).await {
                Ok(Some(frame)) => frame,
                Ok(None) => return RelayEnd::Closed("target"),
                Err(error) => return ended("target", error),
            };
            let mut out = frame.bytes.clone();
            if !seen_connect_response {
                seen_connect_response = true;
                let requested = shared.requested.get().cloned().unwrap_or_default();
                match rewrite::connect_response(&frame.bytes, setup.client_protocols, &requested) {
                    Ok((bytes, facts)) => {
                        let _ = shared.io_channel.set(facts.io_channel);
                        let _ = shared.channels.set(Channels {
                            io: facts.io_channel,
                            kept: facts.channels.clone(),
                            withheld: facts.withheld,
                        });
                        state.io_channel_id = facts.io_channel;
                        state.static_channels = facts.channels;
                        out = Bytes::from(bytes);
                        if let Err(error) = setup.recording.state(&state).await {
                            return RelayEnd::Failed(error.into());
                        }
                    }
                    Err(error) => return RelayEnd::Failed(error.into()),
                }
            } else if frame.action == Action::X224 {
                // Files copied from the target: fetched, judged and recorded by the
                // gateway before any of it goes on (issue 11).
                if let Some(channels) = shared.channels.get()
                    && let Some((channel, initiator, data)) =
                        clipboard::indication_data(&frame.bytes)
                    && channels
                        .kept
                        .iter()
                        .any(|(name, id)| name == "cliprdr" && *id == channel)
                {
                    // On record as the target sent it, forwarded or not.
                    if let Err(error) = setup.recording.server_frame(frame.bytes.clone()).await {
                        return RelayEnd::Failed(error.into());
                    }
                    let on = on_clipboard(
                        Side::Target,
                        &frame.bytes,
                        (channel, initiator, &data),
                        &shared,
                        &setup,
                        (&client_tx, &target_tx),
                    );
                    if let Err(end) = on.await {
                        return end;
                    }
                    continue;
                }
                match rewrite::server_event(&frame.bytes, shared.io_channel.get().copied()) {
                    ServerEvent::AttachUserConfirm { user_channel } => {
                        state.user_channel_id = user_channel;
                        if let Err(error) = setup.recording.state(&state).await {
                            return RelayEnd::Failed(error.into());
                        }
                    }
                    ServerEvent::DemandActive {
                        share_id,
                        server_channel,
                        desktop,
                    } => {
                        if let Ok(mut share) = shared.share.lock() {
                            *share = Some((share_id, server_channel));
                        }
                        state.share_id = share_id;
                        (state.desktop_width, state.desktop_height) = desktop;
                        if let Err(error) = setup.recording.state(&state).await {
                            return RelayEnd::Failed(error.into());
                        }
                    }
                    ServerEvent::Redirection => {
                        return RelayEnd::Refused(Cut::ServerRedirection);
                    }
                    ServerEvent::AutoReconnectCookie => {
                        warn!("auto-reconnect cookie withheld from the client");
                        continue;
                    }
                    ServerEvent::DeactivateAll | ServerEvent::Other => {}
                }
            }
            if let Err(error) = setup.recording.server_frame(out.clone()).await {
                return RelayEnd::Failed(error.into());
            }
            if let Err(error) = client_tx.lock().await.write_all(&out).await {
                return ended("client", error);
            }
        }
    };
    let end = tokio::select! {
        end = upstream => end,
        end = downstream => end,
        reason = setup.end.ended() => RelayEnd::Decided(reason),
    };
    let farewell = match &end {
        RelayEnd::Decided(reason) => Some(*reason),
        RelayEnd::Violation(_) => Some(EndReason::Error),
        _ => None,
    };
    if let Some(reason) = farewell {
        // Tell the client why before the connection goes (best effort, bounded).
        let share = shared.share.lock().ok().and_then(|s| *s);
        if let (Some(io), Some(share)) = (shared.io_channel.get(), share)
            && let Ok(bytes) = rewrite::farewell(reason, *io, share)
        {
            let mut tx = client_tx.lock().await;
            let said = async {
                tx.write_all(&bytes).await?;
                tx.flush().await?;
                tx.shutdown().await
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), said).await;
        }
    }
    end
}

/// One chunk on the clipboard channel from `from`: judged by the shared state machine, its
/// steps run (scan, record), and what they say written, in order. Frames the gateway
/// makes for the client are recorded like the target's.
async fn on_clipboard<CW, TW>(
    from: Side,
    frame: &Bytes,
    (channel, initiator, data): (u16, u16, &[u8]),
    shared: &Shared,
    setup: &RelaySetup,
    (client_tx, target_tx): (&tokio::sync::Mutex<CW>, &tokio::sync::Mutex<TW>),
) -> Result<(), RelayEnd>
where
    CW: AsyncWrite + Unpin,
    TW: AsyncWrite + Unpin,
{
    let poisoned = || RelayEnd::Failed(RelayFault::Poisoned);
    let Some(clip) = &shared.clip else {
        return Ok(());
    };
    let (client, target) = {
        let mut seen = shared.initiators.lock().map_err(|_| poisoned())?;
        match from {
            Side::Client => seen.0 = Some(initiator),
            Side::Target => seen.1 = Some(initiator),
        }
        *seen
    };
    let wire = Wire {
        channel,
        client_initiator: client.or(target).unwrap_or(initiator),
        target_initiator: target.or(client).unwrap_or(initiator),
    };
    let steps = clip.lock().map_err(|_| poisoned())?.chunk(from, data);
    let writes = setup
        .clipboard
        .run(clip, wire, steps)
        .await
        .map_err(RelayEnd::Failed)?;
    for write in writes {
        let (to, bytes, made) = match write {
            Write::Forward => (from.other(), frame.clone(), false),
            Write::Frame { to, bytes } => (to, bytes, true),
        };
        match to {
            Side::Client => {
                if made && let Err(error) = setup.recording.server_frame(bytes.clone()).await {
                    return Err(RelayEnd::Failed(error.into()));
                }
                if let Err(error) = client_tx.lock().await.write_all(&bytes).await {
                    return Err(ended("client", error));
                }
            }
            Side::Target => {
                if let Err(error) = target_tx.lock().await.write_all(&bytes).await {
                    return Err(ended("target", error));
                }
            }
        }
    }
    Ok(())
}
