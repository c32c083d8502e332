//! Turning a byte stream cut into arbitrary chunks into asciicast text, losslessly.
//!
//! asciicast stores output as JSON strings, i.e. Unicode text, while a terminal stream is
//! bytes cut wherever the network cut them. [`Utf8Stream`] therefore:
//!
//! - carries an incomplete multi-byte sequence at the end of a chunk (at most 3 bytes) over
//!   to the next chunk, so a character split across two SSH packets is one character in the
//!   cast, never two U+FFFD;
//! - replaces truly invalid bytes with U+FFFD exactly as `String::from_utf8_lossy` would on
//!   the whole stream (one U+FFFD per maximal invalid subpart), so `asciinema play` shows
//!   what a UTF-8 terminal shows;
//! - reports, for every piece that needed a replacement, the exact raw bytes and their
//!   stream offset. The writer stores those in the side file as a `CastRaw` record, so the
//!   exact stream can be rebuilt from cast + side file ([`super::reassemble`]).
//!
//! Invariant the reassembler relies on: a piece without `raw` has exactly `text.len()` raw
//! bytes (valid UTF-8 is copied verbatim), so offsets can be recomputed from the cast alone.

use std::str;

/// Incremental, lossless UTF-8 decoder for one stream.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    /// Bytes of an incomplete sequence at the end of the last chunk.
    carry: Vec<u8>,
    /// Stream offset of the first byte not yet part of an emitted piece.
    offset: u64,
}

/// One decoded piece of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Piece {
    /// The text to put in the cast (may be empty when everything was carried).
    pub text: String,
    /// Stream offset of the piece's first raw byte.
    pub offset: u64,
    /// The exact raw bytes of the piece, present only when `text` contains replacements.
    pub raw: Option<Vec<u8>>,
}

impl Utf8Stream {
    /// A decoder at stream offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes the next chunk. A trailing incomplete sequence is held back.
    pub fn push(&mut self, bytes: &[u8]) -> Piece {
        let joined;
        let input: &[u8] = if self.carry.is_empty() {
            bytes
        } else {
            joined = [self.carry.as_slice(), bytes].concat();
            &joined
        };
        let (text, lossy, used) = decode(input);
        let (done, rest) = input.split_at_checked(used).unwrap_or((input, &[]));
        let piece = Piece {
            text,
            offset: self.offset,
            raw: lossy.then(|| done.to_vec()),
        };
        self.offset += done.len() as u64;
        self.carry = rest.to_vec();
        piece
    }

    /// Ends the stream: a sequence still incomplete is invalid, and comes out as U+FFFD
    /// with its raw bytes.
    pub fn finish(&mut self) -> Piece {
        let rest = std::mem::take(&mut self.carry);
        let offset = self.offset;
        self.offset += rest.len() as u64;
        if rest.is_empty() {
            return Piece {
                offset,
                ..Piece::default()
            };
        }
        Piece {
            text: String::from_utf8_lossy(&rest).into_owned(),
            offset,
            raw: Some(rest),
        }
    }

    /// Bytes received so far, including any carried bytes.
    pub fn received(&self) -> u64 {
        self.offset + self.carry.len() as u64
    }
}

/// Decodes `input` lossily up to a trailing incomplete sequence.
/// Returns the text, whether anything was replaced, and how many bytes were consumed.
fn decode(input: &[u8]) -> (String, bool, usize) {
    let mut text = String::with_capacity(input.len());
    let mut lossy = false;
    let mut rest = input;
    loop {
        match str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                return (text, lossy, input.len());
            }
            Err(e) => {
                let (valid, after) = rest
                    .split_at_checked(e.valid_up_to())
                    .unwrap_or((rest, &[]));
                // `valid` is valid UTF-8 by the definition of `valid_up_to`.
                text.push_str(&String::from_utf8_lossy(valid));
                match e.error_len() {
                    None => return (text, lossy, input.len() - after.len()),
                    Some(n) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        lossy = true;
                        rest = after.get(n..).unwrap_or_default();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks`, returns (texts of non-empty pieces, raw records as (offset, bytes)).
    fn run(chunks: &[&[u8]]) -> (Vec<String>, Vec<(u64, Vec<u8>)>) {
        let mut s = Utf8Stream::new();
        let mut texts = Vec::new();
        let mut raws = Vec::new();
        let pieces = chunks.iter().map(|c| s.push(c)).collect::<Vec<_>>();
        for p in pieces.into_iter().chain([s.finish()]) {
            if let Some(raw) = p.raw {
                raws.push((p.offset, raw));
            }
            if !p.text.is_empty() {
                texts.push(p.text);
            }
        }
        (texts, raws)
    }

    #[test]
    fn table() {
        let e_acute: &[u8] = "é".as_bytes(); // c3 a9
        let emoji: &[u8] = "😀".as_bytes(); // f0 9f 98 80
        type Case<'a> = (&'a str, Vec<&'a [u8]>, Vec<&'a str>, Vec<(u64, &'a [u8])>);
        let cases: Vec<Case<'_>> = vec![
            ("ascii", vec![b"ab", b"cd"], vec!["ab", "cd"], vec![]),
            ("empty chunk", vec![b"", b"x"], vec!["x"], vec![]),
            (
                "2-byte split",
                vec![b"caf\xc3", b"\xa9!"],
                vec!["caf", "é!"],
                vec![],
            ),
            (
                "4-byte split in three",
                vec![&emoji[..1], &emoji[1..3], &emoji[3..]],
                vec!["😀"],
                vec![],
            ),
            (
                "split then nothing",
                vec![e_acute, &emoji[..2]],
                vec!["é", "\u{fffd}"],
                vec![(2, &emoji[..2])],
            ),
            (
                "lone continuation",
                vec![b"a\x80b"],
                vec!["a\u{fffd}b"],
                vec![(0, b"a\x80b")],
            ),
            (
                "invalid byte ff",
                vec![b"\xff"],
                vec!["\u{fffd}"],
                vec![(0, b"\xff")],
            ),
            (
                "carry broken by ascii",
                vec![b"x\xe2\x82", b"y"],
                vec!["x", "\u{fffd}y"],
                vec![(1, b"\xe2\x82y")],
            ),
            (
                "overlong and surrogate",
                vec![b"\xc0\xaf|\xed\xa0\x80"],
                vec!["\u{fffd}\u{fffd}|\u{fffd}\u{fffd}\u{fffd}"],
                vec![(0, b"\xc0\xaf|\xed\xa0\x80")],
            ),
            (
                "genuine U+FFFD is not lossy",
                vec!["\u{fffd}".as_bytes()],
                vec!["\u{fffd}"],
                vec![],
            ),
        ];
        for (name, chunks, want_texts, want_raws) in cases {
            let (texts, raws) = run(&chunks);
            assert_eq!(texts, want_texts, "{name}");
            let want_raws: Vec<(u64, Vec<u8>)> = want_raws
                .into_iter()
                .map(|(o, b)| (o, b.to_vec()))
                .collect();
            assert_eq!(raws, want_raws, "{name}");
        }
    }

    /// Whatever the chunking, the text equals `from_utf8_lossy` of the whole stream.
    #[test]
    fn every_split_matches_whole_stream_lossy() {
        let stream: &[u8] = b"a\xc3\xa9\xf0\x9f\x98\x80\xe2\x82\xff\xe2\x82\xac\xc3z\x80";
        let want = String::from_utf8_lossy(stream);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let (texts, _) = run(&[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(texts.concat(), want, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn offsets_count_raw_bytes() {
        let mut s = Utf8Stream::new();
        assert_eq!(s.push(b"ab\xc3").offset, 0);
        assert_eq!(s.received(), 3);
        let p = s.push(b"\xa9\xff");
        assert_eq!(
            (p.offset, p.raw.as_deref()),
            (2, Some(&b"\xc3\xa9\xff"[..]))
        );
        assert_eq!(s.push(b"z").offset, 5);
        assert_eq!(s.received(), 6);
    }
}
