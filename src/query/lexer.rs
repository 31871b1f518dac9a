//! Splitting query text into raw clauses: negation, optional `field:` and a bare or quoted
//! value. Only structure is checked here (quotes, stray `-`); what the field and value mean is
//! the parser's business, so every lexical error can point at exact bytes.

use super::{QueryError, Span};

/// One clause as typed, before its field or value is interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawClause<'a> {
    pub negated: bool,
    /// The whole clause, `-` and closing quote included.
    pub span: Span,
    /// The field name as typed (without the colon) and where it stands.
    pub field: Option<(&'a str, Span)>,
    pub value: RawValue<'a>,
}

/// The part after the field (or the whole clause for a free word).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawValue<'a> {
    /// Unquoted text; may still hold `*` and any punctuation.
    Bare { text: &'a str, span: Span },
    /// Text between quotes, taken literally; `prefix` for a `*` right after the closing quote.
    Quoted {
        text: &'a str,
        span: Span,
        prefix: bool,
    },
    /// `field:` followed by whitespace or the end of the input.
    Empty,
}

/// Build an error at `span`; the column is counted in characters because that is what a
/// user sees, and byte offsets would drift after any multibyte character.
pub(crate) fn error_at(input: &str, span: Span, message: impl Into<String>) -> QueryError {
    let column = input.get(..span.start).map_or(0, |s| s.chars().count()) + 1;
    QueryError {
        span,
        column,
        message: message.into(),
    }
}

/// Byte offset of the end of the character starting at `at` (or `at` at the end of input).
fn char_end(input: &str, at: usize) -> usize {
    input
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .map_or(at, |c| at + c.len_utf8())
}

/// Split `input` into raw clauses separated by whitespace.
pub(crate) fn lex(input: &str) -> Result<Vec<RawClause<'_>>, QueryError> {
    let mut clauses = Vec::new();
    let mut lexer = Lexer { input, pos: 0 };
    while let Some(clause) = lexer.next_clause()? {
        clauses.push(clause);
    }
    Ok(clauses)
}

struct Lexer<'a> {
    input: &'a str,
    /// Byte offset, always on a character boundary.
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self) -> Option<char> {
        self.input
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
    }

    fn bump(&mut self) {
        self.pos = char_end(self.input, self.pos);
    }

    fn at_boundary(&self) -> bool {
        self.peek().is_none_or(char::is_whitespace)
    }

    fn error(&self, span: Span, message: impl Into<String>) -> QueryError {
        error_at(self.input, span, message)
    }

    fn next_clause(&mut self) -> Result<Option<RawClause<'a>>, QueryError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(first) = self.peek() else {
            return Ok(None);
        };

        let mut negated = false;
        if first == '-' {
            negated = true;
            self.bump();
            if self.at_boundary() {
                return Err(self.error(
                    start..self.pos,
                    "'-' must be followed by the term to exclude, e.g. -status:retracted",
                ));
            }
            if self.peek() == Some('-') {
                let at = self.pos;
                return Err(self.error(
                    at..char_end(self.input, at),
                    "a term can be negated only once: remove the extra '-'",
                ));
            }
        }

        if self.peek() == Some('"') {
            let value = self.quoted()?;
            return Ok(Some(RawClause {
                negated,
                span: start..self.pos,
                field: None,
                value,
            }));
        }

        // A bare word runs to whitespace; a quote may only open the value of `field:`.
        let word_start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            if c == '"' {
                let before = self.input.get(word_start..self.pos).unwrap_or("");
                if let Some(name) = before.strip_suffix(':').filter(|n| !n.contains(':')) {
                    let name_span = word_start..word_start + name.len();
                    let value = self.quoted()?;
                    return Ok(Some(RawClause {
                        negated,
                        span: start..self.pos,
                        field: Some((name, name_span)),
                        value,
                    }));
                }
                let at = self.pos;
                return Err(self.error(
                    at..at + 1,
                    "unexpected '\"' inside a word: a quote must start a term or follow 'field:'",
                ));
            }
            self.bump();
        }
        let word = self.input.get(word_start..self.pos).unwrap_or("");

        // The first colon decides the field, so values such as times and Message-IDs may
        // contain colons of their own.
        let (field, value) = match word.split_once(':') {
            Some((name, rest)) => {
                let name_span = word_start..word_start + name.len();
                let value_start = name_span.end + 1;
                let value = if rest.is_empty() {
                    RawValue::Empty
                } else {
                    RawValue::Bare {
                        text: rest,
                        span: value_start..self.pos,
                    }
                };
                (Some((name, name_span)), value)
            }
            None => (
                None,
                RawValue::Bare {
                    text: word,
                    span: word_start..self.pos,
                },
            ),
        };
        Ok(Some(RawClause {
            negated,
            span: start..self.pos,
            field,
            value,
        }))
    }

    /// Read `"..."` (with an optional `*`) starting at the opening quote.
    fn quoted(&mut self) -> Result<RawValue<'a>, QueryError> {
        let open = self.pos;
        self.bump();
        let inner_start = self.pos;
        let Some(len) = self.input.get(inner_start..).and_then(|r| r.find('"')) else {
            return Err(self.error(
                open..self.input.len(),
                "unterminated quote: add a closing '\"'",
            ));
        };
        let text = self.input.get(inner_start..inner_start + len).unwrap_or("");
        self.pos = inner_start + len + 1;
        let prefix = self.peek() == Some('*');
        if prefix {
            self.bump();
        }
        if !self.at_boundary() {
            let at = self.pos;
            return Err(self.error(
                at..char_end(self.input, at),
                "expected a space after the closing quote",
            ));
        }
        Ok(RawValue::Quoted {
            text,
            span: open..self.pos,
            prefix,
        })
    }
}
