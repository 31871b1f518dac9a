//! `ingest --format jsonl`: one CONTRACT message-log object a line.

use std::io::BufRead;

use super::decode::Decoded;
use super::lines::{InputLine, Lines, MAX_LINE};
use super::{IngestReport, Loader, TenantResolver};
use crate::model::MessageRecord;
use crate::store::{Store, StoreError};

/// Load JSONL from `input`. Bad lines are reported with their number and skipped; the good
/// ones load. Only a store failure stops the run.
pub fn ingest(
    store: &Store,
    resolver: &TenantResolver<'_>,
    input: impl BufRead,
) -> Result<IngestReport, StoreError> {
    let mut loader = Loader::new(store, resolver);
    for (index, line) in Lines::new(Decoded::new(input)).enumerate() {
        let number = index as u64 + 1;
        let bytes = match line {
            Ok(InputLine::Text(b)) => b,
            Ok(InputLine::TooLong) => {
                loader.reject(number, format!("longer than {} MiB", MAX_LINE >> 20));
                continue;
            }
            Err(e) => {
                loader.reject(number, format!("cannot read: {e}"));
                break;
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t.trim(),
            Err(e) => {
                loader.reject(number, format!("not UTF-8 ({e})"));
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<MessageRecord>(text) {
            Ok(record) => loader.push(number, record)?,
            Err(e) => {
                loader.report.records += 1;
                loader.reject(number, e.to_string());
            }
        }
    }
    loader.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testutil::temp_store;

    use crate::ingest::test_config as config;

    #[test]
    fn a_file_of_garbage_is_counted_not_held_line_by_line() -> Result<(), StoreError> {
        let (_d, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let input = "not json\n".repeat(super::super::MAX_REJECTED_KEPT + 500);
        let report = ingest(&store, &resolver, input.as_bytes())?;
        assert_eq!(
            report.rejected_total,
            super::super::MAX_REJECTED_KEPT as u64 + 500
        );
        assert_eq!(report.rejected.len(), super::super::MAX_REJECTED_KEPT);
        assert_eq!(report.rejected[0].line, 1);
        Ok(())
    }

    #[test]
    fn good_lines_load_and_bad_lines_are_named() -> Result<(), StoreError> {
        let (_d, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let input = concat!(
            r#"{"message_id":"<a@x>","from":"evil@bad.example","to":["bob@corp.test","p@partner.example"],"subject":"Hi","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
            "\n",
            r#"{"message_id":"<b@x>","from":"evil@bad.example","to":[],"received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
            r#"{"message_id":"<c@x>","from":"x@y","to":["bob@corp.test"],"received_at":"yesterday"}"#,
            "\n",
            "not json\n",
            r#"{"message_id":"<d@x>","from":"x@y","to":["bob@corp.test"],"received_at":"2026-11-20T10:00:00Z","tenant":"nope"}"#,
            "\n",
            r#"{"message_id":"<a@x>","from":"evil@bad.example","to":["carol@corp.test"],"subject":"Hi","received_at":"2026-11-20T10:00:00Z"}"#,
            "\n",
        );
        let report = ingest(&store, &resolver, input.as_bytes())?;
        assert_eq!(report.records, 6);
        assert_eq!(report.inserted, 1);
        assert_eq!(report.merged, 1);
        let lines: Vec<u64> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert!(
            report.rejected[0].reason.contains("\"to\""),
            "{:?}",
            report.rejected
        );
        assert!(
            report.rejected[3].reason.contains("unknown tenant 'nope'"),
            "{:?}",
            report.rejected
        );
        let m = match store.resolve_ref("a@x")? {
            crate::store::RefMatch::One(m) => m,
            _ => panic!("a@x not found once"),
        };
        assert_eq!(
            m.recipients,
            vec!["bob@corp.test", "carol@corp.test", "p@partner.example"]
        );
        assert_eq!(m.actionable_count, 2);
        Ok(())
    }

    #[test]
    fn a_bom_is_not_part_of_line_one_and_a_size_past_i64_is_refused() -> Result<(), StoreError> {
        let (_d, store) = temp_store();
        let cfg = config();
        let resolver = match TenantResolver::new(&cfg, None) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let input = format!(
            "\u{feff}{}\n{}\n",
            r#"{"message_id":"<bom@x>","from":"a@x.example","to":["bob@corp.test"],"received_at":"2026-11-20T10:00:00Z","size":9223372036854775807}"#,
            r#"{"message_id":"<big@x>","from":"a@x.example","to":["bob@corp.test"],"received_at":"2026-11-20T10:00:00Z","size":18446744073709551615}"#,
        );
        let report = ingest(&store, &resolver, input.as_bytes())?;
        let rejected: Vec<(u64, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.as_str()))
            .collect();
        assert_eq!(rejected.len(), 1, "{rejected:?}");
        assert_eq!(rejected[0].0, 2);
        assert!(
            rejected[0].1.contains("\"size\" 18446744073709551615"),
            "{rejected:?}"
        );
        match store.resolve_ref("bom@x")? {
            crate::store::RefMatch::One(m) => assert_eq!(m.size, Some(i64::MAX as u64)),
            _ => panic!("bom@x not loaded"),
        }
        assert!(matches!(
            store.resolve_ref("big@x")?,
            crate::store::RefMatch::None
        ));
        Ok(())
    }
}
