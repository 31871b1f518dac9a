//! Reading an ingest input line by line with a bound on a line's length: a log with no line
//! breaks (a binary file, a corrupt rotation) must cost one rejected line, not all memory.

use std::io::{BufRead, ErrorKind};

/// The longest line read whole. A JSON record with ten thousand recipients is under 1 MiB.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// One line of input, without its `\n`.
pub enum InputLine {
    Text(Vec<u8>),
    /// Longer than [`MAX_LINE`]; skipped to its end without being held.
    TooLong,
}

/// The lines of `input`, as `BufRead::split(b'\n')` gives them but bounded.
pub struct Lines<R> {
    input: R,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R) -> Self {
        Lines { input, done: false }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<InputLine>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::new();
        let mut too_long = false;
        let mut any = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if buf.is_empty() {
                self.done = true;
                if !any {
                    return None;
                }
                break;
            }
            any = true;
            let end = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..end.unwrap_or(buf.len())];
            if !too_long {
                if line.len() + chunk.len() > MAX_LINE {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let used = chunk.len() + usize::from(end.is_some());
            self.input.consume(used);
            if end.is_some() {
                break;
            }
        }
        Some(Ok(if too_long {
            InputLine::TooLong
        } else {
            InputLine::Text(line)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(input: &[u8]) -> Vec<Option<Vec<u8>>> {
        Lines::new(input)
            .map(|l| match l {
                Ok(InputLine::Text(t)) => Some(t),
                Ok(InputLine::TooLong) => None,
                Err(e) => panic!("{e}"),
            })
            .collect()
    }

    #[test]
    fn the_same_lines_as_split_and_long_ones_skipped() {
        for input in [&b"a\nbb\n\nc"[..], b"a\n", b"", b"\n\n", b"x"] {
            let split: Vec<Option<Vec<u8>>> = input
                .split(|&b| b == b'\n')
                .map(|l| Some(l.to_vec()))
                .collect();
            // `split` on a slice yields a trailing empty piece that BufRead::split does not.
            let mut want = split;
            if input.is_empty() || input.ends_with(b"\n") {
                want.pop();
            }
            assert_eq!(texts(input), want, "{input:?}");
        }
        let mut long = b"first\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        long.extend_from_slice(b"\nlast\n");
        assert_eq!(
            texts(&long),
            vec![Some(b"first".to_vec()), None, Some(b"last".to_vec())]
        );
    }
}
