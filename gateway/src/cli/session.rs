//! `fumidai session list|kill`: maintenance sessions, and ending a live one from any shell
//! (R-10.2-REVIEW). The list marks sessions under an emergency plan and whether that plan
//! still awaits its approval afterwards (事後承認, R-10.1-APPROVE), so an operator watching
//! sees an emergency access at a glance. A kill is a request in the store with its
//! `session.killed` audit record (who and why); the `fumidai serve` holding the session —
//! this machine's, or on PostgreSQL any node's — ends it within about a second with reason
//! `killed`.

use policy::limits::EndReason;
use std::time::Duration;

use anyhow::bail;
use policy::ids::SessionId;
use policy::jst;
use policy::limits::KillReason;
use policy::plan::emergency::Approval;
use serde::Serialize;
use store::{ConnectionRecord, KillRequest, SessionRecord};

use fumidai_core::ops::session_kill::{self, KillRequested};
use fumidai_core::ops::session_list::{self, Listed};
use fumidai_core::ops::{OpError, Person};

use super::context::Context;
use super::output::Output;

/// How long `session kill` waits for the gateway to end the session.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// How often it looks meanwhile.
const KILL_POLL: Duration = Duration::from_millis(200);

/// `fumidai session …`
#[derive(Debug, clap::Subcommand)]
pub enum SessionCommand {
    /// List sessions, newest first, with how each ended.
    List {
        /// Only sessions not ended yet; the text also lists logged-in connections without
        /// a session ("logged in, no channel").
        #[arg(long)]
        live: bool,
        /// With `--json`: add the logged-in connections without a session, as objects with
        /// `"state": "logged_in_no_channel"` (issue 12). Without it the JSON stays a list
        /// of sessions.
        #[arg(long)]
        with_connections: bool,
    },
    /// End a live session now; the engineer is told, the target disconnected.
    Kill {
        /// The session's ID, as `session list` shows it.
        id: SessionId,
        /// Why, for the audit trail and the report.
        #[arg(long, default_value = "killed by operator")]
        reason: KillReason,
        /// Who kills it: an operator or manager account, authenticated now (password and
        /// code are asked).
        #[arg(long = "as", value_name = "LOGIN")]
        by: policy::ids::Login,
        /// Also withdraw the engineer from the session's plan: they can't come back under
        /// it (issue 12; audited as `plan.engineer_blocked`).
        #[arg(long)]
        block: bool,
    },
}

/// What `session kill` did.
#[derive(Debug, Serialize)]
struct Killed {
    /// The request as recorded.
    request: KillRequest,
    /// The session as it stands after waiting: ended with reason `killed` normally.
    session: SessionRecord,
}

/// Runs `fumidai session …`.
pub(crate) async fn run(ctx: &Context, cmd: SessionCommand, out: Output) -> anyhow::Result<()> {
    match cmd {
        SessionCommand::List {
            live,
            with_connections,
        } => {
            let (listed, connections) = session_list::list(ctx.store.as_ref(), live).await?;
            if with_connections {
                let all = ListedAll {
                    sessions: &listed,
                    connections: &connections,
                };
                return out.print(&all, |a| text(a.sessions, a.connections));
            }
            out.print(&listed, |ls| text(ls, &connections))
        }
        SessionCommand::Kill {
            id,
            reason,
            block,
            by,
        } => {
            let person =
                super::person::authenticate(ctx, &by, policy::authority::Action::KillSession)
                    .await?;
            kill(ctx, id, &reason, block, &person, out).await
        }
    }
}

/// Records the kill (`ops::session_kill`), then waits for the gateway holding the
/// session or connection to end it.
async fn kill(
    ctx: &Context,
    id: SessionId,
    reason: &KillReason,
    block: bool,
    person: &Person,
    out: Output,
) -> anyhow::Result<()> {
    let requested = match session_kill::request(&*ctx.store, person, &id, reason, block).await {
        Ok(requested) => requested,
        Err(error @ OpError::NotFound { .. }) => {
            bail!("{error} (`fumidai session list --live`)")
        }
        Err(error) => return Err(error.into()),
    };
    match requested {
        KillRequested::Session { request, .. } => {
            let session = wait_for_end(ctx, &id).await?;
            if session.ended_at.is_none() {
                // The request stays recorded and pending: a gateway that holds the session
                // executes it when it next looks.
                bail!(
                    "kill of session {id} recorded, but no running gateway ended it within {}s: \
                     is `fumidai serve` running? (a gateway that stopped abruptly leaves its \
                     sessions listed as live) / 終了要求を記録しましたが、セッションはまだ終了していません",
                    KILL_WAIT.as_secs()
                );
            }
            out.print(&Killed { request, session }, |k| {
                format!(
                    "session {} ended ({}) / セッションを終了しました",
                    k.session.id,
                    k.session.end_reason.map_or("unknown", EndReason::as_str),
                )
            })
        }
        KillRequested::Connection(request) => {
            wait_for_close(ctx, &id).await?;
            out.print(&request, |r| {
                format!(
                    "connection {} of {} closed (logged in, no channel) / ログイン済み（チャネルなし）の接続を切断しました",
                    r.id, r.engineer
                )
            })
        }
    }
}

/// Issue 12: a logged-in connection without a session closes once the gateway holding it
/// reads the request (within about a second) and disconnects it.
async fn wait_for_close(ctx: &Context, id: &SessionId) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + KILL_WAIT;
    loop {
        let open = ctx.store.connections().await?.iter().any(|c| c.id == *id);
        if !open {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "kill of connection {id} recorded, but no running gateway closed it within {}s \
                 / 終了要求を記録しましたが、接続はまだ切断されていません",
                KILL_WAIT.as_secs()
            );
        }
        tokio::time::sleep(KILL_POLL).await;
    }
}

/// Sessions and logins without a session, for `--json --with-connections`.
#[derive(Debug, Serialize)]
struct ListedAll<'a> {
    /// The sessions.
    sessions: &'a [Listed],
    /// The logged-in connections without a session.
    connections: &'a [ConnectionRecord],
}

/// The text listing: sessions, then logins without a session.
fn text(sessions: &[Listed], connections: &[ConnectionRecord]) -> String {
    let mut out: String = sessions.iter().map(|l| format!("{}\n", line(l))).collect();
    for c in connections {
        let killing = if c.kill_requested_at.is_some() {
            " (kill requested / 終了要求済み)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{}\t{}\tlogged in, no channel / ログイン済み（チャネルなし）\tsince {}\tfrom {}{killing}\n",
            c.id,
            c.engineer,
            jst::format(c.logged_in_at),
            c.client_addr,
        ));
    }
    out
}

/// The session once it has ended, or as it stands after [`KILL_WAIT`].
async fn wait_for_end(ctx: &Context, id: &SessionId) -> anyhow::Result<SessionRecord> {
    let deadline = tokio::time::Instant::now() + KILL_WAIT;
    loop {
        let Some(session) = ctx.store.session(id).await? else {
            bail!("session {id} vanished from the store");
        };
        if session.ended_at.is_some() || tokio::time::Instant::now() >= deadline {
            return Ok(session);
        }
        tokio::time::sleep(KILL_POLL).await;
    }
}

/// `ID  engineer → target  plan ID [EMERGENCY …]  started  live | ended (reason)`, times in
/// JST. An emergency is in capitals, in both languages, with its approval state.
fn line(l: &Listed) -> String {
    let s = &l.session;
    let emergency = match l.emergency_approval {
        Some(Approval::Pending) => " [EMERGENCY 緊急: 事後承認待ち / approval pending]",
        Some(Approval::Approved) => " [EMERGENCY 緊急: 事後承認済み / approved afterwards]",
        None => "",
    };
    let state = match (&s.ended_at, &s.end_reason) {
        (Some(ended), reason) => format!(
            "ended {} ({})",
            jst::format(*ended),
            reason.map_or("unknown", EndReason::as_str)
        ),
        (None, _) => "live".to_owned(),
    };
    format!(
        "{}\t{} → {}\tplan {}{emergency}\tstarted {}\t{}",
        s.id,
        s.engineer,
        s.target,
        s.plan,
        jst::format(s.started_at),
        state
    )
}
