//! Client Info: the target's credential in, the client's alternate shell, working
//! directory, RemoteApp, compression and auto-reconnect cookie out.

use super::*;

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
