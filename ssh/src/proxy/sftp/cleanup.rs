//! Removing what a staged upload left on the target when its channel ended early (the
//! engineer hung up mid-file, a protocol violation closed it): the temporary file is
//! removed over a new SFTP channel on the session's own connection, so a refused or
//! unfinished upload leaves nothing (§7 ②, R-10-6).

use bytes::{BufMut, Bytes, BytesMut};
use russh::ChannelMsg;

use super::wire::{Fields, Framer, kind, path_request};
use crate::proxy::target::TargetConnection;

/// Removes `paths` on the target. `Err` names what could not be removed.
pub async fn remove_temp_files(
    connection: &TargetConnection,
    paths: &[String],
) -> Result<(), String> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut channel = connection
        .channel_open_session()
        .await
        .map_err(|e| format!("no channel for the clean-up: {e}"))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| format!("no sftp for the clean-up: {e}"))?;
    let mut init = BytesMut::with_capacity(9);
    init.put_u32(5);
    init.put_u8(kind::INIT);
    init.put_u32(3);
    let mut requests = vec![init.freeze()];
    requests.extend(
        paths
            .iter()
            .zip(1u32..)
            .map(|(path, id)| path_request(kind::REMOVE, id, path)),
    );
    for request in requests {
        channel
            .data(request.as_ref())
            .await
            .map_err(|e| format!("clean-up request not sent: {e}"))?;
    }
    // The version, then one status per removal.
    let mut framer = Framer::new();
    let mut answered = 0;
    let mut failed = Vec::new();
    while answered <= paths.len() {
        let Some(msg) = channel.wait().await else {
            break;
        };
        let ChannelMsg::Data { data } = msg else {
            continue;
        };
        framer.push(&data);
        while let Some(packet) = framer.next_packet().map_err(|e| e.to_string())? {
            answered += 1;
            if let Some(path) = failed_removal(&packet, paths) {
                failed.push(path);
            }
        }
    }
    let _ = channel.eof().await;
    let _ = channel.close().await;
    if answered <= paths.len() {
        return Err(format!(
            "the target answered {answered} of {} clean-up requests",
            paths.len() + 1
        ));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not removed: {}", failed.join(", ")))
    }
}

/// The path a `STATUS` reply says could not be removed (a missing file is removed enough:
/// the rename happened after all).
fn failed_removal(packet: &Bytes, paths: &[String]) -> Option<String> {
    const NO_SUCH_FILE: u32 = 2;
    let mut f = Fields::of(packet).ok()?;
    if f.kind() != kind::STATUS {
        return None;
    }
    let id = f.u32().ok()?;
    let code = f.u32().ok()?;
    if code == super::wire::status::OK || code == NO_SUCH_FILE {
        return None;
    }
    let index = usize::try_from(id).ok()?.checked_sub(1)?;
    paths.get(index).cloned()
}
