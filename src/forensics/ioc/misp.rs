//! MISP events as MISP exports them (`{"Event": {"Attribute": [...], "Object": [{"Attribute":
//! [...]}]}}`): the attributes marked `to_ids` (meant for detection) of the types with a
//! mail counterpart. Other marked attributes are skipped and counted; unmarked ones are
//! context, not indicators, and are passed over silently.

use serde_json::Value;

use super::{ImportError, ImportOptions, Parsed, json};
use crate::model::{Indicator, IndicatorKind};

pub(super) fn parse(text: &str, options: &ImportOptions) -> Result<Parsed, ImportError> {
    let doc = json(text)?;
    let Some(event) = doc.get("Event").filter(|e| e.is_object()) else {
        return Err(ImportError::new(
            "$.Event",
            "not a MISP event (no Event object)",
        ));
    };
    let mut parsed = Parsed::default();
    attributes(event, "$.Event", options, &mut parsed)?;
    match event.get("Object") {
        None => {}
        Some(Value::Array(objects)) => {
            for (i, object) in objects.iter().enumerate() {
                attributes(
                    object,
                    &format!("$.Event.Object[{i}]"),
                    options,
                    &mut parsed,
                )?;
            }
        }
        Some(_) => return Err(ImportError::new("$.Event.Object", "must be an array")),
    }
    Ok(parsed)
}

/// The `Attribute` array of an event or object at `at`.
fn attributes(
    holder: &Value,
    at: &str,
    options: &ImportOptions,
    parsed: &mut Parsed,
) -> Result<(), ImportError> {
    let list = match holder.get("Attribute") {
        None => return Ok(()),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ImportError::new(
                format!("{at}.Attribute"),
                "must be an array",
            ));
        }
    };
    for (i, attribute) in list.iter().enumerate() {
        let at = format!("{at}.Attribute[{i}]");
        if !flag(attribute.get("to_ids")) || flag(attribute.get("deleted")) {
            continue;
        }
        let Some(kind_name) = attribute.get("type").and_then(Value::as_str) else {
            return Err(ImportError::new(format!("{at}.type"), "must be a string"));
        };
        let Some(value) = attribute.get("value").and_then(Value::as_str) else {
            return Err(ImportError::new(format!("{at}.value"), "must be a string"));
        };
        let (kind, value) = match kind_name {
            "email-src" => (IndicatorKind::Sender, value),
            "domain" | "hostname" => (IndicatorKind::UrlDomain, value),
            "url" => (IndicatorKind::Url, value),
            "sha256" => (IndicatorKind::AttachmentSha256, value),
            // The hash names the file exactly; its name alone would match innocent files.
            "filename|sha256" => match value.split_once('|') {
                Some((_, hash)) => (IndicatorKind::AttachmentSha256, hash),
                None => {
                    return Err(ImportError::new(
                        format!("{at}.value"),
                        "a filename|sha256 value must be name|hash",
                    ));
                }
            },
            "filename" => (IndicatorKind::AttachmentName, value),
            "email-subject" => (IndicatorKind::Subject, value),
            other => {
                parsed.skip(&at, format!("type {other:?} has no mail counterpart"));
                continue;
            }
        };
        let indicator =
            Indicator::new(kind, value, &options.source, None, None).map_err(|why| {
                ImportError::new(format!("{at}.value"), format!("{kind_name}: {why}"))
            })?;
        parsed.push(indicator);
    }
    Ok(())
}

/// A MISP boolean: JSON `true`/`false`, or `"1"`/`"0"` as older exports write it.
fn flag(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(_) => false,
    }
}
