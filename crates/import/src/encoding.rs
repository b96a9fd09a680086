//! Text encodings of uploaded files. The encoding is decided once from the first bytes (a BOM
//! wins; then valid UTF-8; then chardetng's guess, which names Latin-1 files `windows-1252` as
//! the WHATWG Encoding Standard does), and the rest of the stream is transcoded to UTF-8 chunk by
//! chunk, so memory stays bounded whatever the file size.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Encoding, UTF_8};

/// What was decided about a file's encoding.
#[derive(Clone, Copy, Debug)]
pub struct Detected {
    pub encoding: &'static Encoding,
    /// Bytes of byte-order mark at the start of the file (skipped while reading).
    pub bom_len: usize,
}

/// Decides the encoding of a file from its first bytes. `sample` may end in the middle of a
/// multi-byte character; that is not held against UTF-8.
pub fn detect(sample: &[u8]) -> Detected {
    if let Some((encoding, bom_len)) = Encoding::for_bom(sample) {
        return Detected { encoding, bom_len };
    }
    if is_utf8_prefix(sample) {
        return Detected {
            encoding: UTF_8,
            bom_len: 0,
        };
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(sample, false);
    Detected {
        encoding: detector.guess(None, true),
        bom_len: 0,
    }
}

/// An encoding named by its WHATWG label (`utf-8`, `latin1`, `windows-1252`, `utf-16le`, …).
pub fn by_label(label: &str) -> Option<&'static Encoding> {
    Encoding::for_label(label.trim().as_bytes())
}

fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        // Only an incomplete sequence at the very end is forgiven.
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

/// A reader that yields UTF-8 from `inner`, which is in `detected.encoding`. UTF-8 input is
/// passed through untouched (invalid bytes are then reported per field by the CSV reader rather
/// than silently replaced); anything else goes through an `encoding_rs` decoder into a buffer of
/// fixed size.
pub struct Utf8Reader<R> {
    inner: R,
    decoder: Option<encoding_rs::Decoder>,
    skip: usize,
    raw: Vec<u8>,
    raw_pos: usize,
    raw_len: usize,
    eof: bool,
    decoded: Vec<u8>,
    decoded_pos: usize,
    decoded_len: usize,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> Utf8Reader<R> {
    pub fn new(inner: R, detected: Detected) -> Self {
        let transcode = detected.encoding != UTF_8;
        let size = if transcode { CHUNK } else { 0 };
        Utf8Reader {
            inner,
            decoder: transcode.then(|| detected.encoding.new_decoder_without_bom_handling()),
            skip: detected.bom_len,
            raw: vec![0; size],
            raw_pos: 0,
            raw_len: 0,
            eof: false,
            // Room for the worst case: three bytes of UTF-8 per input byte, plus slack.
            decoded: vec![0; size * 3 + 16],
            decoded_pos: 0,
            decoded_len: 0,
        }
    }

    fn skip_bom(&mut self) -> io::Result<()> {
        while self.skip > 0 {
            let mut bom = [0u8; 4];
            let n = self.inner.read(&mut bom[..self.skip])?;
            if n == 0 {
                break;
            }
            self.skip -= n;
        }
        Ok(())
    }

    /// Decodes the next chunk into `decoded`; false at the end of the input.
    fn fill(&mut self) -> io::Result<bool> {
        let decoder = self.decoder.as_mut().expect("only called when transcoding");
        loop {
            if self.eof && self.raw_pos == self.raw_len {
                // Flush whatever the decoder holds (an incomplete sequence becomes U+FFFD).
                let (_, _, written, _) = decoder.decode_to_utf8(&[], &mut self.decoded, true);
                self.decoded_pos = 0;
                self.decoded_len = written;
                return Ok(written > 0);
            }
            if self.raw_pos == self.raw_len {
                self.raw_pos = 0;
                self.raw_len = self.inner.read(&mut self.raw)?;
                self.eof = self.raw_len == 0;
                continue;
            }
            let input = &self.raw[self.raw_pos..self.raw_len];
            let (result, read, written, _) =
                decoder.decode_to_utf8(input, &mut self.decoded, false);
            debug_assert!(matches!(result, CoderResult::InputEmpty) || written > 0);
            self.raw_pos += read;
            if written > 0 {
                self.decoded_pos = 0;
                self.decoded_len = written;
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for Utf8Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.skip_bom()?;
        if self.decoder.is_none() {
            return self.inner.read(out);
        }
        if self.decoded_pos == self.decoded_len && !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.decoded_len - self.decoded_pos);
        out[..n].copy_from_slice(&self.decoded[self.decoded_pos..self.decoded_pos + n]);
        self.decoded_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (String, &'static str) {
        let detected = detect(bytes);
        let mut text = String::new();
        Utf8Reader::new(bytes, detected)
            .read_to_string(&mut text)
            .unwrap();
        (text, detected.encoding.name())
    }

    #[test]
    fn utf8_bom_is_skipped() {
        let (text, name) = decode_all(b"\xEF\xBB\xBFa,b\n1,2\n");
        assert_eq!(name, "UTF-8");
        assert_eq!(text, "a,b\n1,2\n");
    }

    #[test]
    fn utf16le_with_bom_is_transcoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "név,ár\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let (text, name) = decode_all(&bytes);
        assert_eq!(name, "UTF-16LE");
        assert_eq!(text, "név,ár\n");
    }

    #[test]
    fn latin1_is_detected_and_transcoded() {
        let bytes = b"nom,ville\nFran\xE7ois,Orl\xE9ans\nJos\xE9,M\xE1laga\n";
        let (text, name) = decode_all(bytes);
        assert_eq!(name, "windows-1252");
        assert_eq!(text, "nom,ville\nFrançois,Orléans\nJosé,Málaga\n");
    }

    #[test]
    fn a_sample_cut_inside_a_character_is_still_utf8() {
        let bytes = "prix,€".as_bytes();
        assert_eq!(detect(&bytes[..bytes.len() - 1]).encoding, UTF_8);
    }

    #[test]
    fn transcoding_survives_tiny_reads_and_chunk_boundaries() {
        let line = "é".repeat(50_000);
        let bytes: Vec<u8> = line.chars().map(|_| 0xE9).collect();
        let detected = Detected {
            encoding: encoding_rs::WINDOWS_1252,
            bom_len: 0,
        };
        let mut reader = Utf8Reader::new(bytes.as_slice(), detected);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8(out).unwrap(), line);
    }

    #[test]
    fn labels_name_encodings() {
        assert_eq!(by_label("latin1").unwrap().name(), "windows-1252");
        assert_eq!(by_label(" UTF-8 ").unwrap(), UTF_8);
        assert!(by_label("klingon").is_none());
    }
}
