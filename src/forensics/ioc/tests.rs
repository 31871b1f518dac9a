//! Each feed format read from the fixtures in `tests/fixtures/ioc` (see its README).

use chrono::{DateTime, Utc};

use super::*;
use crate::model::IndicatorKind::*;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default()
}

fn at(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn options(kind: Option<IndicatorKind>) -> ImportOptions {
    ImportOptions {
        kind,
        source: "feed".into(),
        now: now(),
    }
}

/// (kind, value, classification, expiry) of one indicator read.
type Read = (IndicatorKind, String, String, Option<DateTime<Utc>>);

/// Each indicator read, and where each skipped thing was.
fn read(format: Format, text: &str) -> (Vec<Read>, Vec<String>) {
    let parsed = parse(format, text, &options(None)).unwrap_or_else(|e| panic!("{e}"));
    assert!(parsed.indicators.iter().all(|i| i.source == "feed"));
    (
        parsed
            .indicators
            .into_iter()
            .map(|i| (i.kind, i.value, i.classification, i.expires_at))
            .collect(),
        parsed.skipped.into_iter().map(|s| s.at).collect(),
    )
}

fn phish(
    kind: IndicatorKind,
    value: &str,
) -> (IndicatorKind, String, String, Option<DateTime<Utc>>) {
    (kind, value.into(), "phish".into(), None)
}

const HASH: &str = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";

#[test]
fn a_plain_list_infers_each_kind_and_skips_comments() {
    let (got, skipped) = read(
        Format::Lines,
        include_str!("../../../tests/fixtures/ioc/list.txt"),
    );
    assert_eq!(
        got,
        vec![
            phish(Sender, "billing@evil.example"),
            phish(Url, "https://login.evil.example/verify?id=7"),
            phish(UrlDomain, "evil.example"),
            phish(
                AttachmentSha256,
                "6c2a3f1d8b0e4a7c9d5e2f1a0b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
            ),
        ]
    );
    assert!(skipped.is_empty());
}

#[test]
fn a_plain_list_with_a_kind_takes_every_line_as_that_kind() {
    let parsed = parse(
        Format::Lines,
        "# subjects\nYour invoice is overdue\n\nPassword   expires today\n",
        &options(Some(Subject)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let values: Vec<_> = parsed.indicators.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(
        values,
        ["your invoice is overdue", "password expires today"]
    );
}

#[test]
fn a_bad_list_names_its_line() {
    let err = parse(
        Format::Lines,
        include_str!("../../../tests/fixtures/ioc/list-bad.txt"),
        &options(None),
    )
    .err();
    assert_eq!(err.as_ref().map(|e| e.at.as_str()), Some("line 3"));
    assert!(err.is_some_and(|e| e.reason.contains("--kind")));
}

#[test]
fn csv_reads_classification_and_both_expiry_forms() {
    let (got, _) = read(
        Format::Csv,
        include_str!("../../../tests/fixtures/ioc/indicators.csv"),
    );
    assert_eq!(
        got,
        vec![
            phish(SenderDomain, "evil.example"),
            (
                Subject,
                "your invoice is overdue".into(),
                "spam".into(),
                at("2026-12-31T00:00:00Z")
            ),
            (
                AttachmentName,
                "invoice_4711.zip".into(),
                "phish".into(),
                at("2026-12-31T00:00:00Z")
            ),
            (
                Url,
                "https://cdn.evil.example/a.js".into(),
                "malware".into(),
                None
            ),
        ]
    );
}

#[test]
fn a_bad_csv_names_its_line() {
    let err = parse(
        Format::Csv,
        include_str!("../../../tests/fixtures/ioc/indicators-bad.csv"),
        &options(None),
    )
    .err();
    assert_eq!(err.as_ref().map(|e| e.at.as_str()), Some("line 3"));
    assert!(err.is_some_and(|e| e.reason.contains("ip-address")));
    let header = parse(Format::Csv, "type,indicator\nurl,x\n", &options(None)).err();
    assert_eq!(header.map(|e| e.at), Some("line 1".to_string()));
}

#[test]
fn stix_takes_supported_patterns_and_counts_the_rest() {
    let (got, skipped) = read(
        Format::Stix,
        include_str!("../../../tests/fixtures/ioc/bundle.json"),
    );
    let until = at("2027-01-01T00:00:00Z");
    assert_eq!(
        got,
        vec![
            phish(Sender, "billing@evil.example"),
            (Url, "http://x4z9arb.cn/4712/".into(), "phish".into(), until),
            (UrlDomain, "evil.example".into(), "phish".into(), until),
            phish(AttachmentSha256, HASH),
            phish(AttachmentName, "invoice_4711.zip"),
            (
                Subject,
                "password expires today".into(),
                "phish".into(),
                at("2026-11-15T00:00:00Z")
            ),
        ]
    );
    // The AND pattern and the Snort one.
    assert_eq!(skipped, ["$.objects[4]", "$.objects[5]"]);
}

#[test]
fn a_bad_stix_bundle_names_the_json_path() {
    let err = parse(
        Format::Stix,
        include_str!("../../../tests/fixtures/ioc/bundle-bad.json"),
        &options(None),
    )
    .err();
    assert_eq!(
        err.as_ref().map(|e| e.at.as_str()),
        Some("$.objects[1].pattern")
    );
    assert!(err.is_some_and(|e| e.reason.contains("not an http(s) URL")));
    let not_json = parse(Format::Stix, "{\n  \"type\": ", &options(None)).err();
    assert!(not_json.is_some_and(|e| e.at.starts_with("line 2")));
}

#[test]
fn misp_takes_attributes_for_detection_only() {
    let (got, skipped) = read(
        Format::Misp,
        include_str!("../../../tests/fixtures/ioc/event.json"),
    );
    assert_eq!(
        got,
        vec![
            phish(Sender, "billing@evil.example"),
            phish(UrlDomain, "login.evil.example"),
            phish(Url, "https://login.evil.example/verify"),
            phish(AttachmentSha256, HASH),
            phish(AttachmentName, "invoice_4711.pdf.exe"),
        ]
    );
    assert_eq!(skipped, ["$.Event.Attribute[3]"]);
}

#[test]
fn a_bad_misp_event_names_the_json_path() {
    let err = parse(
        Format::Misp,
        include_str!("../../../tests/fixtures/ioc/event-bad.json"),
        &options(None),
    )
    .err();
    assert_eq!(
        err.map(|e| e.at),
        Some("$.Event.Object[0].Attribute[0].value".to_string())
    );
    let no_event = parse(Format::Misp, "{\"response\": []}", &options(None)).err();
    assert_eq!(no_event.map(|e| e.at), Some("$.Event".to_string()));
}
