//! WHEN values of the contract: RFC 3339 (or a bare date) or relative (`90m`, `2h`, `3d`, `1w`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Parse a WHEN relative to `now`. The error names what was expected.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty time: expected RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20) or a relative time (90m, 2h, 3d, 1w)".into());
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc());
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let amount: i64 = digits
        .parse()
        .map_err(|_| format!("bad time '{t}': expected RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20) or a relative time (90m, 2h, 3d, 1w)"))?;
    let span = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        "w" => Duration::try_weeks(amount),
        _ => None,
    }
    .ok_or_else(|| format!("bad time '{t}': the unit must be s, m, h, d or w"))?;
    now.checked_sub_signed(span)
        .ok_or_else(|| format!("bad time '{t}': too far in the past"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn relative_and_absolute_forms() {
        assert_eq!(
            parse_when("90m", now()).ok(),
            DateTime::parse_from_rfc3339("2026-11-22T10:30:00Z")
                .ok()
                .map(|d| d.with_timezone(&Utc))
        );
        assert_eq!(
            parse_when("3d", now()).map(|d| d.to_rfc3339()).ok(),
            Some("2026-11-19T12:00:00+00:00".to_string())
        );
        assert!(parse_when("2026-11-20", now()).is_ok());
        assert!(parse_when("2026-11-20T10:00:00+01:00", now()).is_ok());
    }

    #[test]
    fn bad_units_are_named() {
        let err = parse_when("3y", now()).unwrap_err();
        assert!(err.contains("unit"), "{err}");
        assert!(parse_when("soon", now()).is_err());
    }
}
