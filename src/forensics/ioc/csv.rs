//! CSV with a header naming `kind` and `value`, optionally `classification` and `expires`
//! (a date, an RFC 3339 time or a span from now such as `30d`); other columns are ignored.

use super::{ImportError, ImportOptions, Parsed};
use crate::model::indicator::parse_expiry;
use crate::model::{Indicator, IndicatorKind};

pub(super) fn parse(text: &str, options: &ImportOptions) -> Result<Parsed, ImportError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ImportError::new("line 1", format!("not CSV: {e}")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let (Some(kind_at), Some(value_at)) = (column("kind"), column("value")) else {
        return Err(ImportError::new(
            "line 1",
            "the header must name the columns kind and value (kind,value[,classification,expires])",
        ));
    };
    let (class_at, expires_at) = (column("classification"), column("expires"));
    let mut parsed = Parsed::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            ImportError::new(format!("line {line}"), format!("not CSV: {e}"))
        })?;
        let at = format!("line {}", record.position().map(|p| p.line()).unwrap_or(0));
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).filter(|f| !f.is_empty());
        let kind = IndicatorKind::parse(field(Some(kind_at)).unwrap_or(""))
            .map_err(|why| ImportError::new(&at, why))?;
        let expires = field(expires_at)
            .map(|e| parse_expiry(e, options.now))
            .transpose()
            .map_err(|why| ImportError::new(&at, format!("expires: {why}")))?;
        let indicator = Indicator::new(
            kind,
            field(Some(value_at)).unwrap_or(""),
            &options.source,
            field(class_at),
            expires,
        )
        .map_err(|why| ImportError::new(&at, format!("{}: {why}", kind.as_str())))?;
        parsed.push(indicator);
    }
    Ok(parsed)
}
