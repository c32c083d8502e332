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
