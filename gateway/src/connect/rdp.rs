//! `fumidai connect rdp`, the vendor side for RDP: log in (password + TOTP) over SSH to
//! obtain a single-use RDP credential for the target, open a local listener tunnelled to
//! the gateway over mutual TLS with ALPN `rdp`, and start the stock RDP client with that
//! credential and the gateway's certificate pinned — or print what a client needs.
//!
//! The gateway's identity is established by the mutual TLS (our CA pinned), so the SSH
//! host key inside it is not checked again; the RDP client pins the gateway's TLS
//! certificate by its SHA-256, read from the same TLS connection.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::sync::Arc;

use policy::target::CertFingerprint;
use russh::ChannelMsg;
use russh::client::{self, KeyboardInteractiveAuthResponse};
use serde::{Deserialize, Serialize};

use super::{ConnectSettings, dial};

/// The credential as the gateway's `rdp-ticket` prints it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct IssuedCredential {
    /// NTLM user name (`fdt-…`).
    pub user: String,
    /// NTLM password: single use, valid for a couple of minutes.
    pub password: String,
    /// The target it opens.
    pub target: String,
    /// The plan it was issued under.
    pub plan_id: String,
    /// When it can no longer start a connection.
    pub expires_at: String,
}

/// Why no credential was obtained.
#[derive(Debug, thiserror::Error)]
pub enum RdpConnectError {
    /// Reaching the gateway failed.
    #[error(transparent)]
    Connect(#[from] super::Error),
    /// SSH inside the tunnel failed.
    #[error("login channel: {0}")]
    Ssh(#[from] russh::Error),
    /// The password or code was refused.
    #[error("login refused: wrong password or verification code, or the account is locked")]
    LoginRefused,
    /// Admission refused (the gateway's message, Japanese and English).
    #[error("{0}")]
    Refused(String),
    /// A prompt could not be answered.
    #[error("cannot read the answer: {0}")]
    Prompt(#[from] std::io::Error),
    /// The gateway's answer was not a credential.
    #[error("unexpected answer from the gateway: {0}")]
    Answer(String),
}

/// Accepts the gateway's SSH host key: the mutual TLS around it has authenticated the
/// gateway already.
struct InsideTls;

impl client::Handler for InsideTls {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Answers the gateway's prompts: on a terminal without echo for secrets, else one line of
/// standard input per prompt (for scripts and tests).
pub trait Prompter: Send {
    /// The answer to `prompt`.
    fn answer(&mut self, prompt: &str, echo: bool) -> std::io::Result<String>;
}

/// The terminal, or standard input lines.
#[derive(Debug, Default)]
pub struct StdinPrompter;

impl Prompter for StdinPrompter {
    fn answer(&mut self, prompt: &str, echo: bool) -> std::io::Result<String> {
        let stdin = std::io::stdin();
        let mut stderr = std::io::stderr();
        let terminal = stdin.is_terminal();
        if terminal {
            write!(stderr, "{prompt}")?;
            stderr.flush()?;
        }
        let hidden = terminal && !echo;
        let restore = if hidden { hide_input(&stdin) } else { None };
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if let Some(restore) = restore {
            restore_input(&stdin, restore);
            writeln!(stderr)?;
        }
        read?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

fn hide_input(stdin: &std::io::Stdin) -> Option<rustix::termios::Termios> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let saved = tcgetattr(stdin).ok()?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(stdin, OptionalActions::Now, &quiet).ok()?;
    Some(saved)
}

fn restore_input(stdin: &std::io::Stdin, saved: rustix::termios::Termios) {
    let _ = rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &saved);
}

/// Logs in as `login` for `target` and runs `rdp-ticket`. Returns the credential and the
/// gateway certificate's fingerprint (the RDP client pins it).
pub async fn obtain_credential(
    settings: &ConnectSettings,
    login: &str,
    target: &str,
    emergency: Option<&str>,
    prompter: &mut dyn Prompter,
) -> Result<(IssuedCredential, CertFingerprint), RdpConnectError> {
    let mut config = (*settings.client_config).clone();
    config.alpn_protocols = vec![fumidai_pki::tls::ALPN_SSH.to_vec()];
    let tls = dial(settings, Arc::new(config)).await?;
    let fingerprint = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| CertFingerprint::of_der(c.as_ref()))
        .ok_or_else(|| RdpConnectError::Answer("no gateway certificate".to_owned()))?;
    let mut handle =
        client::connect_stream(Arc::new(client::Config::default()), tls, InsideTls).await?;
    let user = match emergency {
        Some(_) => format!("{login}:{target}:emergency"),
        None => format!("{login}:{target}"),
    };
    let mut reply = handle
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    loop {
        match reply {
            KeyboardInteractiveAuthResponse::Success => break,
            KeyboardInteractiveAuthResponse::Failure { .. } => {
                return Err(RdpConnectError::LoginRefused);
            }
            KeyboardInteractiveAuthResponse::InfoRequest {
                instructions,
                prompts,
                ..
            } => {
                if !instructions.is_empty() && std::io::stdin().is_terminal() {
                    eprintln!("{instructions}");
                }
                let mut answers = Vec::with_capacity(prompts.len());
                for prompt in prompts {
                    let is_reason = prompt.prompt.to_lowercase().contains("reason")
                        || prompt.prompt.contains("理由");
                    let answer = match (is_reason, emergency) {
                        (true, Some(reason)) => reason.to_owned(),
                        _ => prompter.answer(&prompt.prompt, prompt.echo)?,
                    };
                    answers.push(answer);
                }
                reply = handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await?;
            }
        }
    }
    let mut channel = handle.channel_open_session().await?;
    channel.exec(true, "rdp-ticket").await?;
    let (mut out, mut err, mut status) = (Vec::new(), Vec::new(), None);
    while let Some(message) = channel.wait().await {
        match message {
            ChannelMsg::Data { data } => out.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => err.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
            _ => {}
        }
    }
    let _ = handle
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    if status != Some(0) {
        let message = String::from_utf8_lossy(&err).replace('\r', "");
        return Err(RdpConnectError::Refused(message.trim().to_owned()));
    }
    let credential: IssuedCredential =
        serde_json::from_slice(&out).map_err(|e| RdpConnectError::Answer(e.to_string()))?;
    Ok((credential, fingerprint))
}
