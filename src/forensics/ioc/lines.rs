//! Plain lists: one value a line, blank lines and lines starting with `#` ignored; every
//! value of the `--kind` given, or of the kind its form shows.

use super::{ImportError, ImportOptions, Parsed};
use crate::model::{Indicator, IndicatorKind};

pub(super) fn parse(text: &str, options: &ImportOptions) -> Result<Parsed, ImportError> {
    let mut parsed = Parsed::default();
    for (n, line) in text.lines().enumerate() {
        let value = line.trim();
        if value.is_empty() || value.starts_with('#') {
            continue;
        }
        let at = format!("line {}", n + 1);
        let kind = match options.kind {
            Some(kind) => kind,
            None => IndicatorKind::infer(value).ok_or_else(|| {
                ImportError::new(
                    &at,
                    format!("cannot tell what kind of indicator {value:?} is; give --kind"),
                )
            })?,
        };
        let indicator = Indicator::new(kind, value, &options.source, None, None)
            .map_err(|why| ImportError::new(&at, format!("{}: {why}", kind.as_str())))?;
        parsed.push(indicator);
    }
    Ok(parsed)
}
