//! One picture of a replayed RDP session, as a PNG in memory: the screen as of an offset,
//! or the last one. The console's frame player asks for these (issue 15).

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use image::ImageEncoder as _;

use super::format::RdpReader;
use super::replay::Decoder;
use crate::error::{Error, Result};

/// A picture and the offset of the last change it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Still {
    /// PNG bytes.
    pub png: Vec<u8>,
    /// The offset of the last record that changed the image, since the recording started.
    pub shown: Duration,
}

/// [`at`] of the recording file at `path`.
pub fn at_file(path: &std::path::Path, at: Option<Duration>) -> Result<Option<Still>> {
    let file = std::fs::File::open(path).map_err(Error::read)?;
    self::at(std::io::BufReader::new(file), at)
}

/// The screen as of `at` (every record up to it applied), or after the last record when
/// `at` is `None`; `None` if nothing was drawn by then. Decodes from the start: the cost
/// grows with `at`.
pub fn at(reader: impl Read, until: Option<Duration>) -> Result<Option<Still>> {
    let (_, records) = RdpReader::open(reader)?;
    let mut decoder = Decoder::new();
    let mut shown = Duration::ZERO;
    for record in records {
        let record = record?;
        if until.is_some_and(|until| record.offset > until) {
            break;
        }
        if decoder.apply(&record) {
            shown = record.offset;
        }
    }
    let Some(frame) = decoder.frame() else {
        return Ok(None);
    };
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            &frame.to_rgb(),
            u32::from(frame.width()),
            u32::from(frame.height()),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::Image {
            what: "PNG",
            source: Arc::new(e),
        })?;
    Ok(Some(Still { png, shown }))
}
