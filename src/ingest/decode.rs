//! An ingest input's byte-order mark, read and acted on before any format sees a byte.
//!
//! Windows tools mark their text: Notepad and PowerShell 5.1's `-Encoding UTF8` start a file
//! with a UTF-8 BOM, and `-Encoding Unicode` / `BigEndianUnicode` (`Out-File`'s default)
//! write UTF-16 with a BOM. Without this, a UTF-8 BOM is glued to line 1 (a JSONL record or
//! a syslog timestamp no longer parses) and UTF-16 is not text at all. Input without a BOM
//! passes through untouched: every format here is UTF-8 (or 8-bit syslog) by default.

use std::io::{BufRead, ErrorKind, Read, Result};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16_LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16_BE_BOM: &[u8] = b"\xFE\xFF";
/// How much UTF-16 is read at a time (its UTF-8 is at most 1.5 times larger).
const CHUNK: usize = 64 * 1024;

/// `input` with its BOM removed and UTF-16 turned into UTF-8. Line breaks keep their
/// positions, so line numbers mean the same before and after.
pub struct Decoded<R> {
    inner: R,
    sniffed: bool,
    /// Bytes read while looking for a BOM that turned out to be text.
    head: Vec<u8>,
    head_at: usize,
    utf16: Option<Utf16>,
}

/// The state of a UTF-16 stream between reads: a code unit can be split across reads, and a
/// surrogate pair across units.
struct Utf16 {
    big_endian: bool,
    out: Vec<u8>,
    out_at: usize,
    odd_byte: Option<u8>,
    high_surrogate: Option<u16>,
}

impl<R: BufRead> Decoded<R> {
    pub fn new(inner: R) -> Self {
        Decoded {
            inner,
            sniffed: false,
            head: Vec::new(),
            head_at: 0,
            utf16: None,
        }
    }

    /// Look at the first bytes. Usually one `fill_buf` holds them and nothing is copied; a
    /// reader that hands out fewer than three bytes at a time is read into `head`.
    fn sniff(&mut self) -> Result<()> {
        let mut head = Vec::new();
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if head.is_empty() && buf.len() >= UTF8_BOM.len() {
                let bom = bom_length(buf);
                let utf16 = utf16_order(buf);
                self.inner.consume(bom);
                self.start(utf16, Vec::new());
                return Ok(());
            }
            if buf.is_empty() {
                break;
            }
            let take = (UTF8_BOM.len() - head.len()).min(buf.len());
            head.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
            if head.len() >= UTF8_BOM.len() {
                break;
            }
        }
        let bom = bom_length(&head);
        let utf16 = utf16_order(&head);
        head.drain(..bom);
        self.start(utf16, head);
        Ok(())
    }

    fn start(&mut self, utf16: Option<bool>, head: Vec<u8>) {
        self.sniffed = true;
        match utf16 {
            Some(big_endian) => {
                let mut state = Utf16 {
                    big_endian,
                    out: Vec::new(),
                    out_at: 0,
                    odd_byte: None,
                    high_surrogate: None,
                };
                state.decode(&head);
                self.utf16 = Some(state);
            }
            None => self.head = head,
        }
    }
}

fn bom_length(start: &[u8]) -> usize {
    if start.starts_with(UTF8_BOM) {
        UTF8_BOM.len()
    } else if start.starts_with(UTF16_LE_BOM) || start.starts_with(UTF16_BE_BOM) {
        2
    } else {
        0
    }
}

/// `Some(big_endian)` when the input starts with a UTF-16 BOM.
fn utf16_order(start: &[u8]) -> Option<bool> {
    if start.starts_with(UTF16_LE_BOM) {
        Some(false)
    } else if start.starts_with(UTF16_BE_BOM) {
        Some(true)
    } else {
        None
    }
}

impl Utf16 {
    /// Append the UTF-8 of `bytes`; a trailing odd byte or high surrogate waits for the next.
    fn decode(&mut self, bytes: &[u8]) {
        let mut bytes = bytes.iter().copied();
        loop {
            let (first, second) = match self.odd_byte.take() {
                Some(first) => match bytes.next() {
                    Some(second) => (first, second),
                    None => {
                        self.odd_byte = Some(first);
                        return;
                    }
                },
                None => match (bytes.next(), bytes.next()) {
                    (Some(a), Some(b)) => (a, b),
                    (Some(a), None) => {
                        self.odd_byte = Some(a);
                        return;
                    }
                    _ => return,
                },
            };
            let unit = if self.big_endian {
                u16::from_be_bytes([first, second])
            } else {
                u16::from_le_bytes([first, second])
            };
            self.unit(unit);
        }
    }

    fn unit(&mut self, unit: u16) {
        let ch = match (self.high_surrogate.take(), unit) {
            (Some(high), 0xDC00..=0xDFFF) => {
                let code =
                    0x10000 + ((u32::from(high) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
                char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            (high, 0xD800..=0xDBFF) => {
                if high.is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                self.high_surrogate = Some(unit);
                return;
            }
            (high, _) => {
                if high.is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
        };
        self.push(ch);
    }

    fn push(&mut self, ch: char) {
        let mut utf8 = [0u8; 4];
        self.out
            .extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
    }

    /// Decode the next chunk of `inner` into `out`; `out` stays empty only at the end.
    fn refill(&mut self, inner: &mut impl BufRead) -> Result<()> {
        self.out.clear();
        self.out_at = 0;
        while self.out.is_empty() {
            let buf = match inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                // A cut-off last unit or an unpaired surrogate is shown, not dropped.
                if self.odd_byte.take().is_some() || self.high_surrogate.take().is_some() {
                    self.push(char::REPLACEMENT_CHARACTER);
                }
                return Ok(());
            }
            let take = buf.len().min(CHUNK);
            let chunk = buf[..take].to_vec();
            inner.consume(take);
            self.decode(&chunk);
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Decoded<R> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Decoded<R> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        if !self.sniffed {
            self.sniff()?;
        }
        if self.head_at < self.head.len() {
            return Ok(&self.head[self.head_at..]);
        }
        match &mut self.utf16 {
            None => self.inner.fill_buf(),
            Some(state) => {
                if state.out_at >= state.out.len() {
                    state.refill(&mut self.inner)?;
                }
                Ok(&state.out[state.out_at..])
            }
        }
    }

    fn consume(&mut self, amount: usize) {
        if self.head_at < self.head.len() {
            self.head_at = (self.head_at + amount).min(self.head.len());
            return;
        }
        match &mut self.utf16 {
            None => self.inner.consume(amount),
            Some(state) => state.out_at = (state.out_at + amount).min(state.out.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read, the worst a pipe can do.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn decoded(bytes: &[u8]) -> Vec<u8> {
        let mut whole = Vec::new();
        if let Err(e) = Decoded::new(bytes).read_to_end(&mut whole) {
            panic!("{e}");
        }
        let mut trickled = Vec::new();
        let slow = std::io::BufReader::with_capacity(1, Trickle(bytes));
        if let Err(e) = Decoded::new(slow).read_to_end(&mut trickled) {
            panic!("{e}");
        }
        assert_eq!(whole, trickled, "{bytes:?}");
        whole
    }

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let mut out = if big_endian {
            UTF16_BE_BOM.to_vec()
        } else {
            UTF16_LE_BOM.to_vec()
        };
        for unit in text.encode_utf16() {
            out.extend(if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    #[test]
    fn boms_are_dropped_and_utf16_becomes_utf8() {
        let text = "#TYPE x\r\n\"Subject\"\r\n\"Résumé 📎\"\r\n";
        assert_eq!(decoded(text.as_bytes()), text.as_bytes());
        let mut marked = UTF8_BOM.to_vec();
        marked.extend_from_slice(text.as_bytes());
        assert_eq!(decoded(&marked), text.as_bytes());
        assert_eq!(decoded(&utf16(text, false)), text.as_bytes());
        assert_eq!(decoded(&utf16(text, true)), text.as_bytes());
        for short in [&b""[..], b"a", b"ab", b"\xEF\xBB", b"\xEF\xBB\xBF"] {
            let want: &[u8] = if short == UTF8_BOM { b"" } else { short };
            assert_eq!(decoded(short), want, "{short:?}");
        }
    }

    #[test]
    fn broken_utf16_is_replaced_not_dropped() {
        // An unpaired high surrogate, then a lone low one, then a cut-off last unit.
        let mut bytes = UTF16_LE_BOM.to_vec();
        bytes.extend([0x3D, 0xD8, b'a', 0, 0x00, 0xDC, b'b']);
        assert_eq!(
            String::from_utf8_lossy(&decoded(&bytes)),
            "\u{fffd}a\u{fffd}\u{fffd}"
        );
    }
}
