//! The `$filter` subset the backend uses.

use super::*;

/// The `$filter` subset the backend uses, parsed strictly: anything else is a 400, as a
/// badly encoded filter would be on Graph.
#[derive(Debug, Clone)]
pub(super) enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    /// `property op 'literal'` (or a bare date for receivedDateTime).
    Compare(String, String, String),
    Contains(String, String),
    /// `singleValueExtendedProperties/Any(ep: ...)`
    AnyProperty(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Lit(String),
    Open,
    Close,
    Comma,
}

pub(super) fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string literal".into()),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            lit.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Lit(lit));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

pub(super) struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(got) if got == t => Ok(()),
            other => Err(format!("expected {t:?}, got {other:?}")),
        }
    }
    fn word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(x)) if x == w)
    }
    fn or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.and()?];
        while self.word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }
    fn and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.primary()?];
        while self.word("and") {
            self.at += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }
    fn primary(&mut self) -> Result<Filter, String> {
        match self.next() {
            Some(Tok::Open) => {
                let f = self.or()?;
                self.expect(Tok::Close)?;
                Ok(f)
            }
            Some(Tok::Word(w)) if w == "singleValueExtendedProperties/Any" => {
                self.expect(Tok::Open)?;
                self.expect(Tok::Word("ep:".into()))?;
                let inner = self.or()?;
                self.expect(Tok::Close)?;
                Ok(Filter::AnyProperty(Box::new(inner)))
            }
            Some(Tok::Word(w)) if w == "contains" => {
                self.expect(Tok::Open)?;
                let Some(Tok::Word(prop)) = self.next() else {
                    return Err("contains needs a property".into());
                };
                self.expect(Tok::Comma)?;
                let Some(Tok::Lit(value)) = self.next() else {
                    return Err("contains needs a string".into());
                };
                self.expect(Tok::Close)?;
                Ok(Filter::Contains(prop, value))
            }
            Some(Tok::Word(prop)) => {
                let Some(Tok::Word(op)) = self.next() else {
                    return Err(format!("no operator after {prop}"));
                };
                if !matches!(op.as_str(), "eq" | "ne" | "ge" | "le") {
                    return Err(format!("unknown operator {op}"));
                }
                let value = match self.next() {
                    Some(Tok::Lit(v)) => v,
                    Some(Tok::Word(v)) if prop == "receivedDateTime" => v,
                    other => return Err(format!("bad value {other:?}")),
                };
                Ok(Filter::Compare(prop, op, value))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

impl Filter {
    pub(super) fn parse(text: &str) -> Result<Filter, String> {
        let mut p = Parser {
            toks: tokens(text)?,
            at: 0,
        };
        let f = p.or()?;
        if p.at != p.toks.len() {
            return Err(format!("trailing {:?}", &p.toks[p.at..]));
        }
        Ok(f)
    }

    pub(super) fn matches_folder(&self, f: &Folder) -> bool {
        match self {
            Filter::Compare(p, op, v) if p == "displayName" && op == "eq" => &f.name == v,
            _ => false,
        }
    }

    pub(super) fn matches_message(&self, m: &Message) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|p| p.matches_message(m)),
            Filter::And(parts) => parts.iter().all(|p| p.matches_message(m)),
            Filter::Compare(p, op, v) => match (p.as_str(), op.as_str()) {
                ("internetMessageId", "eq") => &m.m.internet_message_id == v,
                ("receivedDateTime", "ge") => m.received.as_str() >= v.as_str(),
                _ => false,
            },
            Filter::Contains(..) => false,
            Filter::AnyProperty(inner) => {
                let mut props = Vec::new();
                if let Some(irt) = &m.m.in_reply_to {
                    props.push(("String 0x1042", irt.clone()));
                }
                if !m.m.references.is_empty() {
                    props.push(("String 0x1039", m.m.references.join(" ")));
                }
                props
                    .iter()
                    .any(|(id, value)| inner.matches_property(id, value))
            }
        }
    }

    /// Inside `Any(ep: ...)`: the id is case-sensitive, the value is not (as documented).
    fn matches_property(&self, id: &str, value: &str) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches_property(id, value)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches_property(id, value)),
            Filter::Compare(p, op, v) if op == "eq" => match p.as_str() {
                "ep/id" => id == v,
                "ep/value" => value.eq_ignore_ascii_case(v),
                _ => false,
            },
            Filter::Contains(p, v) if p == "ep/value" => {
                value.to_lowercase().contains(&v.to_lowercase())
            }
            _ => false,
        }
    }
}
