//! Uploads scanned by clamd as they stream through the SFTP bridge (R-10-6): one scan per
//! upload (by the inspector's file serial), fed before the bytes go to the target; its
//! verdict decides whether the file is renamed into place or removed.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use fumidai_core::clamd::{Scan, Scanner, Verdict};

/// One upload's virus scan: streaming, or failed (why, kept for the verdict).
pub(super) enum ScanSlot {
    Streaming(Scan),
    Failed(String),
}

/// Streams an upload's next bytes to clamd, starting its scan on the first. A failure is
/// kept and becomes the verdict: the upload is refused at its close (R-10-6, fail closed).
pub(super) async fn scan_feed(
    scanner: Option<&Scanner>,
    scans: &mut HashMap<u64, ScanSlot>,
    file: u64,
    data: &[u8],
) {
    let Some(scanner) = scanner else {
        return;
    };
    if let Entry::Vacant(vacant) = scans.entry(file) {
        vacant.insert(match scanner.start().await {
            Ok(scan) => ScanSlot::Streaming(scan),
            Err(e) => ScanSlot::Failed(format!("no verdict: {e}")),
        });
    }
    if let Some(slot) = scans.get_mut(&file)
        && let ScanSlot::Streaming(scan) = slot
        && let Err(e) = scan.feed(data).await
    {
        *slot = ScanSlot::Failed(format!("no verdict: {e}"));
    }
}

/// The verdict on an upload being closed: `Err` with the signature found or why there is
/// no verdict. An upload with no bytes was never streamed and is clean.
pub(super) async fn scan_verdict(
    scans: &mut HashMap<u64, ScanSlot>,
    file: u64,
) -> Result<(), String> {
    match scans.remove(&file) {
        None => Ok(()),
        Some(ScanSlot::Failed(why)) => Err(why),
        Some(ScanSlot::Streaming(scan)) => match scan.finish().await {
            Ok(Verdict::Clean) => Ok(()),
            Ok(Verdict::Infected { signature }) => Err(format!("virus found: {signature}")),
            Err(e) => Err(format!("no verdict: {e}")),
        },
    }
}
