//! WHEN values of the contract: RFC 3339 (or a bare date) or relative (`90m`, `2h`, `3d`, `1w`).

use chrono::{DateTime, Duration, NaiveDate, Utc};

/// What a WHEN may be, ending every error so the caller sees the accepted forms.
const EXPECTED: &str = "expected RFC 3339 (2026-11-20T10:00:00Z), a date (2026-11-20) or a relative time (90m, 2h, 3d, 1w)";

/// Parse a WHEN relative to `now`. The error says what was wrong and what is accepted.
pub fn parse_when(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let bad = |why: &str| {
        format!(
            "bad time '{}': {why}; {EXPECTED}",
            crate::model::text::sanitize(&t.chars().take(64).collect::<String>())
        )
    };
    if t.is_empty() {
        return Err(format!("empty time: {EXPECTED}"));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc());
    }
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(digits_end);
    // `2026-13-40` or `2026-11-20 10:00` read as a number with a strange unit would be a
    // misleading "unknown unit": say it is not a valid date or time instead.
    if digits.len() == 4 && unit.starts_with('-') {
        return Err(bad("not a valid date or RFC 3339 time"));
    }
    if digits.is_empty() {
        return Err(bad("not a time"));
    }
    let Ok(amount) = digits.parse::<i64>() else {
        return Err(bad("the number is too large (overflow)"));
    };
    let span = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        "w" => Duration::try_weeks(amount),
        "" => return Err(bad("a relative time needs a unit (s, m, h, d or w)")),
        _ => return Err(bad("the unit must be s, m, h, d or w")),
    }
    .ok_or_else(|| bad("the number is too large (overflow)"))?;
    now.checked_sub_signed(span)
        .ok_or_else(|| bad("too far in the past (overflow)"))
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

    #[test]
    fn malformed_times_say_what_was_wrong_and_what_is_accepted() {
        for (text, why) in [
            ("99999999999d", "overflow"),
            ("999999999999999999999999d", "overflow"),
            ("9223372036854775807w", "overflow"),
            ("2026-13-45", "not a valid date"),
            ("2026-11-20 10:00", "not a valid date"),
            ("2026-11-20x", "not a valid date"),
            ("90", "needs a unit"),
            ("3y", "unit must be"),
        ] {
            let err = parse_when(text, now()).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
            assert!(
                err.contains("RFC 3339") && err.contains("90m, 2h, 3d"),
                "{text}: {err}"
            );
        }
    }
}
