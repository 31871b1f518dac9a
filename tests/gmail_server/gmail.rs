//! The Gmail API's mailbox methods on the server's data.

use super::*;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use serde_json::{Value, json};

use super::wire::{Answer, error, get};

const SYSTEM: [&str; 13] = [
    "INBOX",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "SENT",
    "DRAFT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
];
/// Labels no request may add or remove.
const FIXED: [&str; 2] = ["SENT", "DRAFT"];

/// The Gmail method a request calls, by Google's names.
pub fn method_name(method: &str, s: &[String]) -> &'static str {
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    match (method, s.as_slice()) {
        ("GET", ["messages"]) => "messages.list",
        ("GET", ["messages", _]) => "messages.get",
        ("POST", ["messages", "import"]) => "messages.import",
        ("POST", ["messages", "batchModify"]) => "messages.batchModify",
        ("POST", ["messages", _, "modify"]) => "messages.modify",
        ("POST", ["messages", _, "trash"]) => "messages.trash",
        ("POST", ["messages", _, "untrash"]) => "messages.untrash",
        ("DELETE", ["messages", _]) => "messages.delete",
        ("GET", ["labels"]) => "labels.list",
        ("POST", ["labels"]) => "labels.create",
        ("GET", ["threads", _]) => "threads.get",
        ("GET", ["profile"]) => "getProfile",
        _ => "unknown",
    }
}

/// Google's quota units per method.
pub fn units(name: &str) -> u64 {
    match name {
        "messages.list" | "messages.get" | "messages.modify" | "messages.trash"
        | "messages.untrash" | "labels.create" => 5,
        "messages.delete" | "threads.get" => 10,
        "messages.import" => 25,
        "messages.batchModify" => 50,
        "labels.list" | "getProfile" => 1,
        _ => 1,
    }
}

/// Unfolded header fields of a raw message.
fn headers_of(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((n, v)) = line.split_once(':') {
            out.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn ids_in(v: &str) -> Vec<String> {
    v.split_whitespace().map(|s| s.trim().to_string()).collect()
}

/// Store a message in `user`'s mailbox, threaded as Gmail does (a message whose References
/// or In-Reply-To names one already in the mailbox joins its thread); returns its id.
pub fn store(
    d: &mut Data,
    user: &str,
    raw: Vec<u8>,
    labels: Vec<String>,
    date_header: bool,
) -> String {
    let headers = headers_of(&raw);
    let id = d.new_id();
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut parents = find("References").map(|v| ids_in(&v)).unwrap_or_default();
    parents.extend(find("In-Reply-To").map(|v| ids_in(&v)).unwrap_or_default());
    let thread = d
        .messages
        .get(user)
        .into_iter()
        .flatten()
        .find(|m| {
            m.header("Message-ID")
                .is_some_and(|mid| parents.iter().any(|p| p == mid.trim()))
        })
        .map(|m| m.thread.clone())
        .unwrap_or_else(|| id.clone());
    let internal_date_ms = if date_header {
        find("Date")
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(&v).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis())
    } else {
        chrono::Utc::now().timestamp_millis()
    };
    let mut labels = labels;
    labels.sort();
    labels.dedup();
    d.messages
        .entry(user.to_string())
        .or_default()
        .push(Message {
            id: id.clone(),
            thread,
            raw,
            headers,
            labels,
            internal_date_ms,
        });
    id
}

fn resource(m: &Message, format: &str, wanted: &[String]) -> Value {
    let mut v = json!({
        "id": m.id, "threadId": m.thread, "labelIds": m.labels,
        "internalDate": m.internal_date_ms.to_string(), "sizeEstimate": m.raw.len(),
    });
    match format {
        "raw" => v["raw"] = json!(URL_SAFE.encode(&m.raw)),
        "metadata" | "full" => {
            let headers: Vec<Value> = m
                .headers
                .iter()
                .filter(|(n, _)| {
                    format == "full"
                        || wanted.is_empty()
                        || wanted.iter().any(|w| w.eq_ignore_ascii_case(n))
                })
                .map(|(n, v)| json!({"name": n, "value": v}))
                .collect();
            v["payload"] = json!({"headers": headers});
        }
        _ => {}
    }
    v
}

fn label_exists(d: &Data, user: &str, id: &str) -> bool {
    SYSTEM.contains(&id)
        || d.labels
            .get(user)
            .is_some_and(|ls| ls.iter().any(|l| l.id == id))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Whether a label (a system id, or a user label of `labels`) is the one a search's `in:`
/// or `label:` names. Gmail matches label names without case and lets `-` stand for the
/// `/` of a nested label and for a space (`label:retractor-processed`).
fn names_label(id: &str, wanted: &str, labels: &[Label]) -> bool {
    let plain = |s: &str| s.to_lowercase().replace(['/', ' '], "-");
    if id.eq_ignore_ascii_case(wanted) && !id.starts_with("Label_") {
        return true;
    }
    labels
        .iter()
        .any(|l| l.id == id && plain(&l.name) == plain(wanted))
}

/// Whether a message matches a search: `rfc822msgid:` (exact, brackets optional), `after:`,
/// `in:` and `label:` (a system label such as `inbox`, or a user label by name).
fn matches(m: &Message, q: &str, labels: &[Label]) -> bool {
    q.split_whitespace().all(|term| {
        if let Some(id) = term.strip_prefix("rfc822msgid:") {
            let bare = |s: &str| {
                s.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            };
            m.header("Message-ID").is_some_and(|h| bare(h) == bare(id))
        } else if let Some(t) = term.strip_prefix("after:") {
            t.parse::<i64>()
                .is_ok_and(|secs| m.internal_date_ms / 1000 > secs)
        } else if let Some(name) = term
            .strip_prefix("in:")
            .or_else(|| term.strip_prefix("label:"))
        {
            m.labels.iter().any(|l| names_label(l, name, labels))
        } else {
            false
        }
    })
}

pub fn operation(
    d: &mut Data,
    method: &str,
    user: &str,
    s: &[String],
    q: &[(String, String)],
    body: Value,
) -> Answer {
    let name = method_name(method, s);
    let wanted: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "metadataHeaders")
        .map(|(_, v)| v.clone())
        .collect();
    let format = get(q, "format").unwrap_or("full").to_string();
    let find = |d: &Data, id: &str| {
        d.messages
            .get(user)
            .and_then(|ms| ms.iter().position(|m| m.id == id))
    };
    match name {
        "messages.list" => {
            let query = get(q, "q").unwrap_or("");
            let user_labels = d.labels.get(user).cloned().unwrap_or_default();
            let spam_trash = get(q, "includeSpamTrash") == Some("true");
            let size: usize = get(q, "maxResults")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100)
                .clamp(1, 500);
            let start: usize = get(q, "pageToken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let hits: Vec<&Message> = d
                .messages
                .get(user)
                .into_iter()
                .flatten()
                .filter(|m| spam_trash || !m.labels.iter().any(|l| l == "SPAM" || l == "TRASH"))
                .filter(|m| matches(m, query, &user_labels))
                .collect();
            let page: Vec<Value> = hits
                .iter()
                .skip(start)
                .take(size)
                .map(|m| json!({"id": m.id, "threadId": m.thread}))
                .collect();
            let mut out = json!({"resultSizeEstimate": hits.len()});
            if !page.is_empty() {
                out["messages"] = json!(page);
            }
            if start + size < hits.len() {
                out["nextPageToken"] = json!((start + size).to_string());
            }
            Answer::ok(out)
        }
        "messages.get" => match find(d, &s[1]) {
            Some(i) => {
                let m = &d.messages[user][i];
                if format == "raw" {
                    let e = format!("raw {user} {}", m.id);
                    let r = resource(m, "raw", &wanted);
                    d.events.push(e);
                    return Answer::ok(r);
                }
                Answer::ok(resource(m, &format, &wanted))
            }
            None => error(404, "notFound", "Requested entity was not found."),
        },
        "messages.modify" => {
            let Some(i) = find(d, &s[1]) else {
                return error(404, "notFound", "Requested entity was not found.");
            };
            let (add, remove) = (
                strings(&body["addLabelIds"]),
                strings(&body["removeLabelIds"]),
            );
            for l in add.iter().chain(&remove) {
                if !label_exists(d, user, l) {
                    return error(400, "invalidArgument", &format!("Invalid label: {l}"));
                }
                if FIXED.contains(&l.as_str()) {
                    return error(400, "invalidArgument", &format!("Cannot change label {l}"));
                }
            }
            let m = &mut d.messages.get_mut(user).unwrap()[i];
            m.labels.retain(|l| !remove.contains(l));
            m.labels.extend(add);
            m.labels.sort();
            m.labels.dedup();
            Answer::ok(resource(m, "minimal", &[]))
        }
        "messages.trash" | "messages.untrash" => {
            let Some(i) = find(d, &s[1]) else {
                return error(404, "notFound", "Requested entity was not found.");
            };
            let m = &mut d.messages.get_mut(user).unwrap()[i];
            m.labels.retain(|l| l != "TRASH");
            if name == "messages.trash" {
                m.labels.push("TRASH".into());
                m.labels.sort();
            }
            Answer::ok(resource(m, "minimal", &[]))
        }
        "messages.delete" => {
            let Some(i) = find(d, &s[1]) else {
                return error(404, "notFound", "Requested entity was not found.");
            };
            let m = d.messages.get_mut(user).unwrap().remove(i);
            d.events.push(format!("delete {user} {}", m.id));
            Answer {
                status: 204,
                body: Value::Null,
                headers: Vec::new(),
            }
        }
        "messages.import" => {
            let raw = body["raw"].as_str().and_then(|r| {
                base64::engine::general_purpose::URL_SAFE
                    .decode(r)
                    .ok()
                    .or_else(|| {
                        base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .decode(r)
                            .ok()
                    })
            });
            let Some(raw) = raw else {
                return error(400, "invalidArgument", "raw is not base64url");
            };
            let labels = strings(&body["labelIds"]);
            for l in &labels {
                if !label_exists(d, user, l) {
                    return error(400, "invalidArgument", &format!("Invalid label: {l}"));
                }
            }
            let date_header = get(q, "internalDateSource").unwrap_or("dateHeader") == "dateHeader";
            let id = store(d, user, raw, labels, date_header);
            d.events.push(format!("import {user} {id}"));
            let m = d.messages[user].iter().find(|m| m.id == id).unwrap();
            Answer::ok(resource(m, "minimal", &[]))
        }
        "labels.list" => {
            let mut out: Vec<Value> = SYSTEM
                .iter()
                .map(|l| json!({"id": l, "name": l, "type": "system"}))
                .collect();
            for l in d.labels.get(user).into_iter().flatten() {
                out.push(json!({"id": l.id, "name": l.name, "type": "user"}));
            }
            Answer::ok(json!({"labels": out}))
        }
        "labels.create" => {
            let name = body["name"].as_str().unwrap_or("").to_string();
            if name.is_empty() {
                return error(400, "invalidArgument", "Invalid label name");
            }
            if d.labels
                .get(user)
                .is_some_and(|ls| ls.iter().any(|l| l.name == name))
            {
                return error(409, "alreadyExists", "Label name exists or conflicts");
            }
            d.next_id += 1;
            let id = format!("Label_{}", d.next_id);
            let hidden = body["labelListVisibility"] == "labelHide";
            d.labels.entry(user.to_string()).or_default().push(Label {
                id: id.clone(),
                name: name.clone(),
                hidden,
            });
            Answer::ok(json!({"id": id, "name": name, "type": "user"}))
        }
        "threads.get" => {
            let members: Vec<Value> = d
                .messages
                .get(user)
                .into_iter()
                .flatten()
                .filter(|m| m.thread == s[1])
                .map(|m| resource(m, &format, &wanted))
                .collect();
            if members.is_empty() {
                return error(404, "notFound", "Requested entity was not found.");
            }
            Answer::ok(json!({"id": s[1], "messages": members}))
        }
        _ => error(400, "badRequest", "unsupported method"),
    }
}
