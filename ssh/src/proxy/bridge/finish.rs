//! When a bridged channel ends: files still open go on record, staged uploads' temporary
//! files are handed back for removal, and a command's stream transfers go on record.

use super::upstream::Streams;
use super::{SessionTap, TapError};
use crate::proxy::actions::Inspection;
use crate::proxy::exec_streams::ExecStreams;
use crate::proxy::inspection::ChannelInspector;

/// Puts files still open when the channel ended on record; the temporary files of staged
/// uploads it left are returned, for removal.
pub(super) async fn inspection<T: SessionTap>(
    inspection: &Inspection,
    tap: &T,
) -> (Result<(), TapError>, Vec<String>) {
    let leftovers = inspection
        .lock()
        .ok()
        .and_then(|mut slot| slot.as_mut().map(ChannelInspector::finish))
        .unwrap_or_default();
    for record in leftovers.records {
        if let Err(e) = tap.transfer(record).await {
            return (Err(e), leftovers.temp_files);
        }
    }
    (Ok(()), leftovers.temp_files)
}

/// Puts a finished command's stream transfers on record.
pub(super) async fn streams<T: SessionTap>(streams: &Streams, tap: &T) -> Result<(), TapError> {
    let records = streams
        .lock()
        .ok()
        .and_then(|mut slot| slot.as_mut().map(ExecStreams::finish))
        .unwrap_or_default();
    for (record, via) in records {
        tap.stream_transfer(record, via).await?;
    }
    Ok(())
}
