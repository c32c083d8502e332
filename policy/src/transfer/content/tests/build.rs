//! Real archives built byte by byte, so each test shows exactly what it feeds the judge.

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// How a ZIP entry's data is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Stored,
    Deflated,
    /// bzip2 (method 12), which the judge doesn't open.
    Bzip2,
}

/// One ZIP entry.
#[derive(Clone)]
pub(super) struct ZipEntry {
    pub name: String,
    pub data: Vec<u8>,
    pub method: Method,
    /// Sizes and CRC in a data descriptor after the data (flag bit 3).
    pub descriptor: bool,
    /// Flag bit 0 (the data is left as is: the judge must not read it anyway).
    pub encrypted: bool,
    /// A different name in the central directory than in the local header.
    pub central_name: Option<String>,
}

impl ZipEntry {
    pub(super) fn new(name: &str, data: &[u8], method: Method) -> Self {
        ZipEntry {
            name: name.to_owned(),
            data: data.to_vec(),
            method,
            descriptor: false,
            encrypted: false,
            central_name: None,
        }
    }
}

pub(super) fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn crc(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// A ZIP archive: local headers and data, central directory, end record.
pub(super) fn zip(entries: &[ZipEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = out.len() as u32;
        let (method, stored) = match entry.method {
            Method::Stored => (0u16, entry.data.clone()),
            Method::Deflated => (8, deflate(&entry.data)),
            Method::Bzip2 => (12, entry.data.clone()),
        };
        let flags = u16::from(entry.encrypted) | if entry.descriptor { 8 } else { 0 };
        let (crc, csize, usize_) = (
            crc(&entry.data),
            stored.len() as u32,
            entry.data.len() as u32,
        );
        let header_sizes = if entry.descriptor {
            (0, 0, 0)
        } else {
            (crc, csize, usize_)
        };
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&20u16.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0x21, 0]);
        out.extend_from_slice(&header_sizes.0.to_le_bytes());
        out.extend_from_slice(&header_sizes.1.to_le_bytes());
        out.extend_from_slice(&header_sizes.2.to_le_bytes());
        out.extend_from_slice(&(entry.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&stored);
        if entry.descriptor {
            out.extend_from_slice(b"PK\x07\x08");
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&csize.to_le_bytes());
            out.extend_from_slice(&usize_.to_le_bytes());
        }
        let name = entry.central_name.as_deref().unwrap_or(&entry.name);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        central.extend_from_slice(&flags.to_le_bytes());
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&[0, 0, 0x21, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&csize.to_le_bytes());
        central.extend_from_slice(&usize_.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Which tar header layout.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum TarStyle {
    /// Pre-POSIX: no magic, only the checksum says it is a tar.
    V7,
    Ustar,
}

/// One tar header block.
pub(super) fn tar_header(name: &str, size: usize, typeflag: u8, style: TarStyle) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    let put = |h: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        h[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(&mut h, 0, &name.as_bytes()[..name.len().min(100)]);
    put(&mut h, 100, b"0000644\0");
    put(&mut h, 108, b"0001750\0");
    put(&mut h, 116, b"0001750\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"14707111145\0");
    h[156] = typeflag;
    if style == TarStyle::Ustar {
        put(&mut h, 257, b"ustar\x0000");
        put(&mut h, 265, b"root");
        put(&mut h, 297, b"root");
    }
    put(&mut h, 148, b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

/// A tar of regular files (`(name, data)`), ended by two zero blocks.
pub(super) fn tar(files: &[(&str, &[u8])], style: TarStyle) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        out.extend(tar_header(name, data.len(), b'0', style));
        tar_data(&mut out, data);
    }
    out.extend([0u8; 1024]);
    out
}

/// An entry's data, padded to the block.
pub(super) fn tar_data(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// A gzip stream of `data`, with `fname` in its header when given.
pub(super) fn gzip(data: &[u8], fname: Option<&str>) -> Vec<u8> {
    let mut builder = flate2::GzBuilder::new();
    if let Some(fname) = fname {
        builder = builder.filename(fname);
    }
    let mut encoder = builder.write(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A small ELF program's first bytes and some more.
pub(super) fn elf() -> Vec<u8> {
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend((0..1500u32).map(|i| (i * 7 % 251) as u8));
    elf
}

/// A text file long enough to fill a head.
pub(super) fn text(what: &str) -> Vec<u8> {
    what.repeat(1 + 2000 / what.len().max(1)).into_bytes()
}
