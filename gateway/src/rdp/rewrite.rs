//! The rewrites between the vendor's client and the target that are not optional
//! (notes/rdp-findings.md), as pure functions of one frame:
//!
//! - MCS Connect Initial: the protocol the *target* selected, no graphics pipeline, no
//!   server redirection support, and only the static channels the plan allows
//!   (R-10.2-TERM: drive `rdpdr` and clipboard `cliprdr` only when the plan allows
//!   transfers both ways; sound and the rest never).
//! - MCS Connect Response: the protocols the *client* asked for, echoed back as the client
//!   expects (a downgrade check in some clients).
//! - Client Info: the target's credential or nothing, never the vendor's (the vendor's
//!   client puts its gateway user and password there even under NLA); no alternate shell,
//!   working directory or RemoteApp (the target starts its desktop); no bulk compression;
//!   no auto-reconnect cookie.
//! - Confirm Active: no drawing orders and only codecs the replay decodes, so the
//!   recording stays decodable.
//! - Server frames: Demand Active (share ID, desktop size) and Attach User Confirm are
//!   read for the recording's decoder state; server redirection ends the session;
//!   auto-reconnect cookies are withheld.

use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::gcc::{
    ChannelDef, ClientEarlyCapabilityFlags, ConferenceCreateRequest, ConferenceCreateResponse,
    RedirectionFlags,
};
use ironrdp_pdu::mcs::{self, McsMessage, SendDataIndication, SendDataRequest};
use ironrdp_pdu::nego::SecurityProtocol;
use ironrdp_pdu::rdp::ClientInfoPdu;
use ironrdp_pdu::rdp::capability_sets::{
    CapabilitySet, CodecProperty, Order, OrderFlags, OrderSupportExFlags,
};
use ironrdp_pdu::rdp::client_info::{ClientInfoFlags, Credentials, ExtendedClientOptionalInfo};
use ironrdp_pdu::rdp::headers::{ShareControlHeader, ShareControlPdu, ShareDataPdu};
use ironrdp_pdu::rdp::session_info::InfoData;
use ironrdp_pdu::x224::{X224, X224Data};
use std::borrow::Cow;

/// A frame that could not be read or written back.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct RewriteError {
    what: &'static str,
    detail: String,
}

fn err(what: &'static str) -> impl FnOnce(ironrdp_core::DecodeError) -> RewriteError {
    move |e| RewriteError {
        what,
        detail: e.to_string(),
    }
}

fn enc_err(what: &'static str) -> impl FnOnce(ironrdp_core::EncodeError) -> RewriteError {
    move |e| RewriteError {
        what,
        detail: e.to_string(),
    }
}

/// Which static virtual channels the plan allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelAllowance {
    /// File system redirection (`rdpdr`): the engineer's drives on the target.
    pub drive: bool,
    /// Clipboard redirection (`cliprdr`): copy and paste both ways.
    pub clipboard: bool,
}

impl ChannelAllowance {
    /// From a plan: both channels carry data both ways, so both need upload *and*
    /// download allowed. Drive redirection stays withheld whatever the plan says until
    /// its file I/O is judged, recorded and scanned like an SFTP transfer (issue 11): a
    /// drive carries nothing but files. The clipboard is kept, its file contents withheld
    /// ([`super::clipboard`]).
    pub fn from_plan(allow: &policy::plan::Allowances) -> Self {
        let both_ways = allow.upload && allow.download;
        Self {
            drive: false,
            clipboard: both_ways,
        }
    }

    fn allows(self, name: &str) -> bool {
        match name {
            "rdpdr" => self.drive,
            "cliprdr" => self.clipboard,
            _ => false,
        }
    }
}

/// What the Connect Initial said, after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectInitialFacts {
    /// Static channels passed to the target, in order (their IDs come back in the same
    /// order in the Connect Response).
    pub kept: Vec<String>,
    /// Static channels the client asked for and the target never saw.
    pub dropped: Vec<String>,
    /// Every channel the client asked for, in its order, and whether it was kept: the
    /// client must see an ID for each (it joins them all), so dropped ones get IDs the
    /// gateway answers itself.
    pub requested: Vec<(String, bool)>,
    /// The desktop size the client asked for.
    pub desktop: (u16, u16),
}

/// Rewrites the client's MCS Connect Initial (see the module documentation).
pub fn connect_initial(
    frame: &[u8],
    target_protocol: SecurityProtocol,
    allowance: ChannelAllowance,
) -> Result<(Vec<u8>, ConnectInitialFacts), RewriteError> {
    let data = decode::<X224<X224Data<'_>>>(frame)
        .map_err(err("connect initial"))?
        .0;
    let mut initial =
        decode::<mcs::ConnectInitial>(data.data.as_ref()).map_err(err("connect initial"))?;
    let mut gcc = initial.conference_create_request.gcc_blocks().clone();
    gcc.core.optional_data.server_selected_protocol = Some(target_protocol);
    if let Some(flags) = gcc.core.optional_data.early_capability_flags.as_mut() {
        flags.remove(ClientEarlyCapabilityFlags::SUPPORT_DYN_VC_GFX_PROTOCOL);
    }
    // No message channel (auto-detect, multitransport): every channel the client may send
    // on is then the I/O channel or a static channel the relay knows.
    gcc.message_channel = None;
    gcc.multi_transport_channel = None;
    if let Some(cluster) = gcc.cluster.as_mut() {
        cluster
            .flags
            .remove(RedirectionFlags::REDIRECTION_SUPPORTED);
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut requested = Vec::new();
    if let Some(network) = gcc.network.as_mut() {
        let channels: Vec<ChannelDef> = std::mem::take(&mut network.channels);
        for channel in channels {
            let name = channel.name.as_str().unwrap_or("?").to_owned();
            let keep = allowance.allows(&name);
            requested.push((name.clone(), keep));
            if keep {
                kept.push(name);
                network.channels.push(channel);
            } else {
                dropped.push(name);
            }
        }
    }
    let desktop = (gcc.core.desktop_width, gcc.core.desktop_height);
    initial.conference_create_request =
        ConferenceCreateRequest::new(gcc).map_err(err("connect initial"))?;
    let body = encode_vec(&initial).map_err(enc_err("connect initial"))?;
    let frame = encode_vec(&X224(X224Data {
        data: Cow::Owned(body),
    }))
    .map_err(enc_err("connect initial"))?;
    Ok((
        frame,
        ConnectInitialFacts {
            kept,
            dropped,
            requested,
            desktop,
        },
    ))
}

/// What the Connect Response said, after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectResponseFacts {
    /// The I/O channel.
    pub io_channel: u16,
    /// The static channels the target serves: name and ID.
    pub channels: Vec<(String, u16)>,
    /// IDs given to the client for channels the target never saw; the gateway confirms
    /// their joins itself and discards what is sent on them.
    pub withheld: Vec<u16>,
}

/// Rewrites the target's MCS Connect Response: the protocols the client asked for are
/// echoed, and every channel the client asked for gets an ID (the target's for those kept,
/// unused ones for those dropped), in the client's order.
pub fn connect_response(
    frame: &[u8],
    client_requested: SecurityProtocol,
    requested: &[(String, bool)],
) -> Result<(Vec<u8>, ConnectResponseFacts), RewriteError> {
    let data = decode::<X224<X224Data<'_>>>(frame)
        .map_err(err("connect response"))?
        .0;
    let mut response =
        decode::<mcs::ConnectResponse>(data.data.as_ref()).map_err(err("connect response"))?;
    let user_id =
        conference_user_id(&response.conference_create_response).ok_or_else(|| RewriteError {
            what: "connect response",
            detail: "no user ID".to_owned(),
        })?;
    let mut gcc = response.conference_create_response.gcc_blocks().clone();
    gcc.core.optional_data.client_requested_protocols = Some(client_requested);
    let assigned = assign_channel_ids(requested, &gcc.network.channel_ids);
    let (ids, channels, withheld) = (assigned.ids, assigned.channels, assigned.withheld);
    gcc.network.channel_ids = ids;
    let facts = ConnectResponseFacts {
        io_channel: gcc.network.io_channel,
        channels,
        withheld,
    };
    response.conference_create_response =
        ConferenceCreateResponse::new(user_id, gcc).map_err(err("connect response"))?;
    let body = encode_vec(&response).map_err(enc_err("connect response"))?;
    let frame = encode_vec(&X224(X224Data {
        data: Cow::Owned(body),
    }))
    .map_err(enc_err("connect response"))?;
    Ok((frame, facts))
}

/// Channel IDs as the client must see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignedChannels {
    /// One ID per requested channel, in the client's order.
    pub ids: Vec<u16>,
    /// The kept channels and the target's IDs for them.
    pub channels: Vec<(String, u16)>,
    /// The IDs invented for dropped channels.
    pub withheld: Vec<u16>,
}

/// Gives every requested channel an ID: the target's IDs (which belong to the kept
/// channels only, in order) for kept ones, and IDs from the top of the ID space down for
/// dropped ones — the target assigns the I/O, static and user channels from the bottom
/// (1003, 1004…), and the user channel is only known later.
pub fn assign_channel_ids(requested: &[(String, bool)], target_ids: &[u16]) -> AssignedChannels {
    let mut target_ids = target_ids.iter().copied();
    let mut next_free = u16::MAX;
    let mut assigned = AssignedChannels {
        ids: Vec::new(),
        channels: Vec::new(),
        withheld: Vec::new(),
    };
    for (name, kept) in requested {
        let target_id = if *kept { target_ids.next() } else { None };
        let id = match target_id {
            Some(id) => {
                assigned.channels.push((name.clone(), id));
                id
            }
            None => {
                let id = next_free;
                next_free = next_free.saturating_sub(1);
                assigned.withheld.push(id);
                id
            }
        };
        assigned.ids.push(id);
    }
    assigned
}

/// The conference's user ID. IronRDP decodes it but offers no accessor (only `new`),
/// so it is read back from the `Debug` form, which prints every field.
fn conference_user_id(response: &ConferenceCreateResponse) -> Option<u16> {
    let text = format!("{response:?}");
    let rest = text.split_once("user_id: ")?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A client's MCS Channel Join Request: (initiator, channel).
pub fn channel_join_request(frame: &[u8]) -> Option<(u16, u16)> {
    match decode::<X224<McsMessage<'_>>>(frame).ok()?.0 {
        McsMessage::ChannelJoinRequest(request) => Some((request.initiator_id, request.channel_id)),
        _ => None,
    }
}

/// The Channel Join Confirm the gateway sends itself for a withheld channel.
pub fn channel_join_confirm(initiator: u16, channel: u16) -> Result<Vec<u8>, RewriteError> {
    let confirm = mcs::ChannelJoinConfirm {
        result: 0,
        initiator_id: initiator,
        requested_channel_id: channel,
        channel_id: channel,
    };
    encode_vec(&X224(confirm)).map_err(enc_err("channel join confirm"))
}

/// The channel a client's MCS Send Data Request is on.
pub fn send_data_channel(frame: &[u8]) -> Option<u16> {
    decode::<X224<SendDataRequest<'_>>>(frame)
        .ok()
        .map(|X224(request)| request.channel_id)
}

/// The credential the target gets in Client Info.
#[derive(Debug, Clone)]
pub struct TargetLogon {
    /// User name, without a domain.
    pub user: String,
    /// Domain, when the login was `DOMAIN\user` or `user@domain`.
    pub domain: Option<String>,
    /// Password.
    pub password: String,
}

impl TargetLogon {
    /// Splits a stored login (`user`, `DOMAIN\user` or `user@domain`).
    pub fn new(login: &str, password: String) -> Self {
        let (user, domain) = if let Some((domain, user)) = login.split_once('\\') {
            (user, Some(domain))
        } else if let Some((user, domain)) = login.split_once('@') {
            (user, Some(domain))
        } else {
            (login, None)
        };
        Self {
            user: user.to_owned(),
            domain: domain.map(str::to_owned),
            password,
        }
    }
}

/// Whether a slow-path client frame is the Client Info PDU: an MCS Send Data Request whose
/// basic security header has `SEC_INFO_PKT`. Decided from the flag, not from a successful
/// parse, so that a Client Info fumidai can't parse is refused instead of forwarded.
pub fn is_client_info(frame: &[u8]) -> bool {
    const SEC_INFO_PKT: u16 = 0x0040;
    let Ok(X224(request)) = decode::<X224<SendDataRequest<'_>>>(frame) else {
        return false;
    };
    match request.user_data.get(..2) {
        Some(&[low, high]) => u16::from_le_bytes([low, high]) & SEC_INFO_PKT != 0,
        _ => false,
    }
}

/// What the client's Client Info asked of the target that fumidai does not pass on, for
/// the record (never its password).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfoRequest {
    /// The user name the client put there (the single-use name, under NLA).
    pub client_user: String,
    /// The program to start instead of the desktop (`/shell:` in FreeRDP, "alternate
    /// shell" in a `.rdp` file). On Windows it is a whole command line, run with the
    /// injected credential; xrdp runs it as the target account.
    pub alternate_shell: String,
    /// The working directory for it.
    pub work_dir: String,
    /// Whether the client asked for RemoteApp (RAIL), where the alternate shell names the
    /// application.
    pub remote_app: bool,
}

impl ClientInfoRequest {
    /// Whether the client asked for anything but the plain desktop.
    pub fn asks_for_a_program(&self) -> bool {
        !self.alternate_shell.is_empty() || !self.work_dir.is_empty() || self.remote_app
    }
}

/// A Client Info after [`client_info`].
#[derive(Debug, Clone)]
pub struct RewrittenClientInfo {
    /// What the target gets.
    pub frame: Vec<u8>,
    /// What the recording gets: the same, with the password left out.
    pub recorded: Vec<u8>,
    /// What the client had asked for.
    pub requested: ClientInfoRequest,
}

/// Replaces Client Info's credentials with the target's (autologon), blanks the alternate
/// shell and working directory and clears RemoteApp (the target starts its desktop, never
/// a program the client names: issue 11), clears bulk compression and drops any
/// auto-reconnect cookie.
pub fn client_info(frame: &[u8], logon: &TargetLogon) -> Result<RewrittenClientInfo, RewriteError> {
    let request = decode::<X224<SendDataRequest<'_>>>(frame)
        .map_err(err("client info"))?
        .0;
    let mut pdu =
        decode::<ClientInfoPdu>(request.user_data.as_ref()).map_err(err("client info"))?;
    let info = &mut pdu.client_info;
    let requested = ClientInfoRequest {
        client_user: info.credentials.username.clone(),
        alternate_shell: std::mem::take(&mut info.alternate_shell),
        work_dir: std::mem::take(&mut info.work_dir),
        remote_app: info.flags.contains(ClientInfoFlags::RAIL),
    };
    info.password_cookie = None;
    info.flags.insert(ClientInfoFlags::AUTOLOGON);
    info.flags.remove(
        ClientInfoFlags::COMPRESSION
            | ClientInfoFlags::PASSWORD_IS_SC_PIN
            | ClientInfoFlags::USING_SAVED_CREDS
            | ClientInfoFlags::RAIL
            | ClientInfoFlags::HIDEF_RAIL_SUPPORTED,
    );
    let optional = &info.extra_info.optional_data;
    if optional.reconnect_cookie().is_some() || optional.auto_reconnect().is_some() {
        info.extra_info.optional_data = without_reconnect_cookie(optional);
    }
    let mut encode_with = |password: &str| {
        pdu.client_info.credentials = Credentials {
            username: logon.user.clone(),
            password: password.to_owned(),
            domain: logon.domain.clone(),
        };
        let user_data = encode_vec(&pdu).map_err(enc_err("client info"))?;
        let rewritten = SendDataRequest {
            initiator_id: request.initiator_id,
            channel_id: request.channel_id,
            user_data: Cow::Owned(user_data),
        };
        encode_vec(&X224(rewritten)).map_err(enc_err("client info"))
    };
    let recorded = encode_with("")?;
    let frame = encode_with(&logon.password)?;
    Ok(RewrittenClientInfo {
        frame,
        recorded,
        requested,
    })
}

/// `text` with control characters (and other non-printing ones) written as `\u{…}`, for
/// logs, audit details and reports that a terminal may show.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn without_reconnect_cookie(optional: &ExtendedClientOptionalInfo) -> ExtendedClientOptionalInfo {
    let builder = ExtendedClientOptionalInfo::builder();
    let Some(timezone) = optional.timezone() else {
        return builder.build();
    };
    let builder = builder.timezone(timezone.clone());
    let Some(session_id) = optional.session_id() else {
        return builder.build();
    };
    let builder = builder.session_id(session_id);
    match optional.performance_flags() {
        Some(flags) => builder.performance_flags(flags).build(),
        None => builder.build(),
    }
}

/// Rewrites a Confirm Active (slow path, I/O channel) so that the target sends neither
/// drawing orders nor codecs the replay can't decode. Other frames: `None`.
pub fn confirm_active(frame: &[u8]) -> Option<Vec<u8>> {
    let request = decode::<X224<SendDataRequest<'_>>>(frame).ok()?.0;
    let mut header = decode::<ShareControlHeader>(request.user_data.as_ref()).ok()?;
    let ShareControlPdu::ClientConfirmActive(confirm) = &mut header.share_control_pdu else {
        return None;
    };
    for set in &mut confirm.pdu.capability_sets {
        match set {
            CapabilitySet::Order(order) => {
                *order = Order::new(
                    OrderFlags::NEGOTIATE_ORDER_SUPPORT | OrderFlags::ZERO_BOUNDS_DELTAS_SUPPORT,
                    OrderSupportExFlags::empty(),
                    0,
                    0,
                );
            }
            CapabilitySet::BitmapCodecs(codecs) => codecs.0.retain(|c| {
                matches!(
                    c.property,
                    CodecProperty::RemoteFx(_) | CodecProperty::ImageRemoteFx(_)
                )
            }),
            _ => {}
        }
    }
    let user_data = encode_vec(&header).ok()?;
    let rewritten = SendDataRequest {
        initiator_id: request.initiator_id,
        channel_id: request.channel_id,
        user_data: Cow::Owned(user_data),
    };
    encode_vec(&X224(rewritten)).ok()
}

/// What a slow-path server frame means to the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// MCS Attach User Confirm: the user channel.
    AttachUserConfirm {
        /// The user channel ID.
        user_channel: u16,
    },
    /// Demand Active: a (re)activation with its share ID and desktop size.
    DemandActive {
        /// Share ID.
        share_id: u32,
        /// The server's channel (`pdu_source`), for PDUs the gateway sends itself.
        server_channel: u16,
        /// Desktop width and height.
        desktop: (u16, u16),
    },
    /// Deactivate All (a resize or reconnection follows).
    DeactivateAll,
    /// Server Redirection: refused (the session ends).
    Redirection,
    /// Save Session Info carrying an auto-reconnect cookie: withheld from the client.
    AutoReconnectCookie,
    /// Anything else: forwarded untouched.
    Other,
}

/// Classifies a slow-path frame from the target.
pub fn server_event(frame: &[u8], io_channel: Option<u16>) -> ServerEvent {
    let Ok(X224(message)) = decode::<X224<McsMessage<'_>>>(frame) else {
        return ServerEvent::Other;
    };
    match message {
        McsMessage::AttachUserConfirm(confirm) => ServerEvent::AttachUserConfirm {
            user_channel: confirm.initiator_id,
        },
        McsMessage::SendDataIndication(SendDataIndication {
            channel_id,
            user_data,
            ..
        }) if Some(channel_id) == io_channel => share_event(&user_data),
        _ => ServerEvent::Other,
    }
}

fn share_event(user_data: &[u8]) -> ServerEvent {
    let Ok(header) = decode::<ShareControlHeader>(user_data) else {
        // Redirection PDUs are framed differently on some servers; look for the type.
        return ServerEvent::Other;
    };
    match header.share_control_pdu {
        ShareControlPdu::ServerDemandActive(demand) => {
            let desktop = demand
                .pdu
                .capability_sets
                .iter()
                .find_map(|set| match set {
                    CapabilitySet::Bitmap(bitmap) => {
                        Some((bitmap.desktop_width, bitmap.desktop_height))
                    }
                    _ => None,
                })
                .unwrap_or((0, 0));
            ServerEvent::DemandActive {
                share_id: header.share_id,
                server_channel: header.pdu_source,
                desktop,
            }
        }
        ShareControlPdu::ServerDeactivateAll(_) => ServerEvent::DeactivateAll,
        ShareControlPdu::ServerRedirect(_) => ServerEvent::Redirection,
        ShareControlPdu::Data(data) => match data.share_data_pdu {
            ShareDataPdu::SaveSessionInfo(info) => match info.info_data {
                InfoData::LogonExtended(extended) if extended.auto_reconnect.is_some() => {
                    ServerEvent::AutoReconnectCookie
                }
                _ => ServerEvent::Other,
            },
            _ => ServerEvent::Other,
        },
        ShareControlPdu::ClientConfirmActive(_) => ServerEvent::Other,
    }
}

/// Whether a slow-path client frame carries input (keyboard, mouse) on the I/O channel.
pub fn is_slow_path_input(frame: &[u8], io_channel: u16) -> bool {
    let Ok(X224(request)) = decode::<X224<SendDataRequest<'_>>>(frame) else {
        return false;
    };
    if request.channel_id != io_channel {
        return false;
    }
    matches!(
        decode::<ShareControlHeader>(request.user_data.as_ref()).map(|h| h.share_control_pdu),
        Ok(ShareControlPdu::Data(data)) if matches!(data.share_data_pdu, ShareDataPdu::Input(_))
    )
}

/// What the vendor's client is told when fumidai ends the session: a Set Error Info PDU
/// (the client names the reason: FreeRDP logs it, mstsc shows it in a dialog) and an MCS
/// Disconnect Provider Ultimatum. `share` is the activation's share ID and the server's
/// channel (`pdu_source` of its Demand Active).
pub fn farewell(
    reason: policy::limits::EndReason,
    io_channel: u16,
    share: (u32, u16),
) -> Result<Vec<u8>, RewriteError> {
    use ironrdp_pdu::rdp::client_info::CompressionType;
    use ironrdp_pdu::rdp::headers::{CompressionFlags, ShareDataHeader, StreamPriority};
    use ironrdp_pdu::rdp::server_error_info::{
        ErrorInfo, ProtocolIndependentCode, ServerSetErrorInfoPdu,
    };
    use policy::limits::EndReason;
    let code = match reason {
        EndReason::Idle => ProtocolIndependentCode::IdleTimeout,
        EndReason::WindowEnd | EndReason::MaxLength => ProtocolIndependentCode::LogonTimeout,
        EndReason::Killed
        | EndReason::Normal
        | EndReason::Error
        | EndReason::Revoked
        | EndReason::Disabled
        | EndReason::Rejected
        | EndReason::Withdrawn => ProtocolIndependentCode::RpcInitiatedDisconnect,
    };
    let (share_id, server_channel) = share;
    let header = ShareControlHeader {
        share_control_pdu: ShareControlPdu::Data(ShareDataHeader {
            share_data_pdu: ShareDataPdu::ServerSetErrorInfo(ServerSetErrorInfoPdu(
                ErrorInfo::ProtocolIndependentCode(code),
            )),
            stream_priority: StreamPriority::Medium,
            compression_flags: CompressionFlags::empty(),
            compression_type: CompressionType::K8,
        }),
        pdu_source: server_channel,
        share_id,
    };
    let user_data = encode_vec(&header).map_err(enc_err("error info"))?;
    let indication = SendDataIndication {
        initiator_id: server_channel,
        channel_id: io_channel,
        user_data: Cow::Owned(user_data),
    };
    let mut bytes = encode_vec(&X224(indication)).map_err(enc_err("error info"))?;
    let ultimatum =
        mcs::DisconnectProviderUltimatum::from_reason(mcs::DisconnectReason::ProviderInitiated);
    bytes.extend(encode_vec(&X224(ultimatum)).map_err(enc_err("disconnect"))?);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_channels_get_the_targets_ids_in_order_and_dropped_ones_invented_ids() {
        let requested: Vec<(String, bool)> = [
            ("rdpdr", true),
            ("rdpsnd", false),
            ("cliprdr", true),
            ("drdynvc", false),
        ]
        .iter()
        .map(|(n, k)| ((*n).to_owned(), *k))
        .collect();
        let assigned = assign_channel_ids(&requested, &[1004, 1005]);
        assert_eq!(assigned.ids, [1004, 65535, 1005, 65534]);
        assert_eq!(
            assigned.channels,
            [("rdpdr".to_owned(), 1004), ("cliprdr".to_owned(), 1005)]
        );
        assert_eq!(assigned.withheld, [65535, 65534]);
    }

    #[test]
    fn with_nothing_kept_every_channel_is_withheld() {
        let requested = vec![("cliprdr".to_owned(), false)];
        let assigned = assign_channel_ids(&requested, &[]);
        assert_eq!(assigned.ids, [65535]);
        assert!(assigned.channels.is_empty());
    }

    #[test]
    fn only_drive_and_clipboard_can_be_allowed() {
        let all = ChannelAllowance {
            drive: true,
            clipboard: true,
        };
        for name in ["rdpsnd", "drdynvc", "rail", "encomsp", "?"] {
            assert!(!all.allows(name), "{name}");
        }
        assert!(all.allows("rdpdr") && all.allows("cliprdr"));
        assert!(!ChannelAllowance::default().allows("cliprdr"));
    }

    #[test]
    fn a_plan_allows_the_two_way_channels_only_with_upload_and_download() {
        let mut allow = policy::plan::Allowances::default();
        assert_eq!(
            ChannelAllowance::from_plan(&allow),
            ChannelAllowance::default()
        );
        allow.download = true;
        assert_eq!(
            ChannelAllowance::from_plan(&allow),
            ChannelAllowance::default()
        );
        allow.upload = true;
        assert!(ChannelAllowance::from_plan(&allow).clipboard);
        // Issue 11: no drive until its files are judged.
        assert!(!ChannelAllowance::from_plan(&allow).drive);
    }

    /// Fail closed: a frame flagged as Client Info that can't be parsed is recognised as
    /// Client Info (so the relay ends the session) and can't be "rewritten" into anything.
    #[test]
    fn an_unparseable_client_info_is_recognised_and_not_rewritten() {
        let request = SendDataRequest {
            initiator_id: 1007,
            channel_id: 1003,
            // SEC_INFO_PKT, then no valid TS_INFO_PACKET.
            user_data: Cow::Owned(vec![0x40, 0x00, 0x00, 0x00, 0xff, 0xff]),
        };
        let frame = encode_vec(&X224(request)).unwrap();
        assert!(is_client_info(&frame));
        let logon = TargetLogon::new("maint", "p".to_owned());
        assert!(client_info(&frame, &logon).is_err());

        let other = SendDataRequest {
            initiator_id: 1007,
            channel_id: 1003,
            user_data: Cow::Owned(vec![0x08, 0x00, 0x00, 0x00]),
        };
        assert!(!is_client_info(&encode_vec(&X224(other)).unwrap()));
    }

    /// A Client Info as FreeRDP sends it with `/shell:` and `/shell-dir:` (and its gateway
    /// credential).
    fn client_info_frame(shell: &str, dir: &str, flags: ClientInfoFlags) -> Vec<u8> {
        use ironrdp_pdu::rdp::client_info::{
            AddressFamily, ClientInfo, CompressionType, ExtendedClientInfo,
        };
        use ironrdp_pdu::rdp::headers::{BasicSecurityHeader, BasicSecurityHeaderFlags};
        let pdu = ClientInfoPdu {
            security_header: BasicSecurityHeader {
                flags: BasicSecurityHeaderFlags::INFO_PKT,
            },
            client_info: ClientInfo {
                credentials: Credentials {
                    username: "fdt-ticket".to_owned(),
                    password: "ticket-password".to_owned(),
                    domain: None,
                },
                password_cookie: None,
                code_page: 0,
                flags: flags | ClientInfoFlags::UNICODE,
                compression_type: CompressionType::K8,
                alternate_shell: shell.to_owned(),
                work_dir: dir.to_owned(),
                extra_info: ExtendedClientInfo {
                    address_family: AddressFamily::INET,
                    address: "127.0.0.1".to_owned(),
                    dir: "C:\\client".to_owned(),
                    optional_data: ExtendedClientOptionalInfo::builder().build(),
                },
            },
        };
        let request = SendDataRequest {
            initiator_id: 1007,
            channel_id: 1003,
            user_data: Cow::Owned(encode_vec(&pdu).unwrap()),
        };
        encode_vec(&X224(request)).unwrap()
    }

    fn decoded_client_info(frame: &[u8]) -> ClientInfoPdu {
        let X224(request) = decode::<X224<SendDataRequest<'_>>>(frame).unwrap();
        decode::<ClientInfoPdu>(request.user_data.as_ref()).unwrap()
    }

    // Issue 11 (9): `/shell:` would make the target start that program as its account.
    #[test]
    fn the_alternate_shell_working_directory_and_remote_app_never_reach_the_target() {
        use ironrdp_pdu::rdp::client_info::ClientInfo;
        let frame = client_info_frame(
            "/bin/sh -c 'touch /tmp/owned'",
            "/tmp",
            ClientInfoFlags::RAIL | ClientInfoFlags::COMPRESSION,
        );
        let logon = TargetLogon::new("HOSP\\maint", "target-secret".to_owned());
        let rewritten = client_info(&frame, &logon).unwrap();
        assert_eq!(
            rewritten.requested,
            ClientInfoRequest {
                client_user: "fdt-ticket".to_owned(),
                alternate_shell: "/bin/sh -c 'touch /tmp/owned'".to_owned(),
                work_dir: "/tmp".to_owned(),
                remote_app: true,
            }
        );
        assert!(rewritten.requested.asks_for_a_program());
        let sent = decoded_client_info(&rewritten.frame).client_info;
        assert_eq!(sent.alternate_shell, "");
        assert_eq!(sent.work_dir, "");
        assert!(!sent.flags.contains(ClientInfoFlags::RAIL));
        assert!(!sent.flags.contains(ClientInfoFlags::COMPRESSION));
        assert!(sent.flags.contains(ClientInfoFlags::AUTOLOGON));
        assert_eq!(sent.credentials.username, "maint");
        assert_eq!(sent.credentials.domain.as_deref(), Some("HOSP"));
        assert_eq!(sent.credentials.password, "target-secret");
        // The recording's copy is the same but for the password.
        let recorded = decoded_client_info(&rewritten.recorded).client_info;
        assert_eq!(recorded.credentials.password, "");
        assert_eq!(
            ClientInfo {
                credentials: sent.credentials.clone(),
                ..recorded
            },
            sent
        );
        let bytes = String::from_utf8_lossy(&rewritten.recorded).to_string();
        assert!(!bytes.contains("target-secret") && !bytes.contains("ticket-password"));
    }

    #[test]
    fn a_plain_client_info_asks_for_no_program() {
        let frame = client_info_frame("", "", ClientInfoFlags::empty());
        let rewritten = client_info(&frame, &TargetLogon::new("maint", "p".to_owned())).unwrap();
        assert!(!rewritten.requested.asks_for_a_program());
    }

    #[test]
    fn control_characters_are_escaped_for_the_record() {
        assert_eq!(escape_controls("xeyes"), "xeyes");
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\r\n\u{202e}"),
            "a\\u{1b}[2Jb\\u{d}\\u{a}\\u{202e}"
        );
        assert_eq!(escape_controls("端末"), "端末");
    }

    #[test]
    fn the_farewell_names_the_reason_and_disconnects() {
        use ironrdp_pdu::rdp::server_error_info::{ErrorInfo, ProtocolIndependentCode};
        use policy::limits::EndReason;
        for (reason, code) in [
            (EndReason::Idle, ProtocolIndependentCode::IdleTimeout),
            (EndReason::WindowEnd, ProtocolIndependentCode::LogonTimeout),
            (EndReason::MaxLength, ProtocolIndependentCode::LogonTimeout),
            (
                EndReason::Killed,
                ProtocolIndependentCode::RpcInitiatedDisconnect,
            ),
        ] {
            let bytes = farewell(reason, 1003, (0x1_03EA, 1002)).unwrap();
            let first = ironrdp_pdu::find_size(&bytes).unwrap().unwrap().length;
            let (info, rest) = bytes.split_at(first);
            let X224(indication) = decode::<X224<SendDataIndication<'_>>>(info).unwrap();
            assert_eq!(indication.channel_id, 1003);
            let header = decode::<ShareControlHeader>(indication.user_data.as_ref()).unwrap();
            assert_eq!(header.share_id, 0x1_03EA);
            let ShareControlPdu::Data(data) = header.share_control_pdu else {
                panic!("not a data PDU");
            };
            let ShareDataPdu::ServerSetErrorInfo(pdu) = data.share_data_pdu else {
                panic!("not error info");
            };
            assert_eq!(
                pdu.0,
                ErrorInfo::ProtocolIndependentCode(code),
                "{reason:?}"
            );
            let X224(ultimatum) = decode::<X224<McsMessage<'_>>>(rest).unwrap();
            assert!(matches!(
                ultimatum,
                McsMessage::DisconnectProviderUltimatum(_)
            ));
        }
    }

    #[test]
    fn target_logins_split_into_user_and_domain() {
        let plain = TargetLogon::new("maint", "p".to_owned());
        assert_eq!((plain.user.as_str(), plain.domain), ("maint", None));
        let down = TargetLogon::new("HOSP\\maint", "p".to_owned());
        assert_eq!(
            (down.user.as_str(), down.domain.as_deref()),
            ("maint", Some("HOSP"))
        );
        let upn = TargetLogon::new("maint@hosp.local", "p".to_owned());
        assert_eq!(
            (upn.user.as_str(), upn.domain.as_deref()),
            ("maint", Some("hosp.local"))
        );
    }
}
