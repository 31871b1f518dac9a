//! The Graph operations on users, folders and messages, and `$top` paging.

use super::*;

pub(super) fn user_json(u: &User) -> Value {
    json!({
        "id": u.id,
        "mail": u.mail,
        "userPrincipalName": u.mail,
        "userType": if u.kind == UserKind::Guest { "Guest" } else { "Member" },
    })
}

pub(super) fn list_users(shared: &Arc<Shared>, query: &HashMap<String, String>) -> Answer {
    let (page, loops) = {
        let settings = shared.settings.lock().unwrap();
        (settings.users_page, settings.users_next_link_loops)
    };
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(100)
        .clamp(1, 999)
        .min(page);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let d = shared.data.lock().unwrap();
    let value: Vec<Value> = d.users.iter().skip(skip).take(top).map(user_json).collect();
    let mut out = json!({"value": value});
    if skip + top < d.users.len() {
        out["@odata.nextLink"] = json!(format!(
            "{}/v1.0/users?%24top={top}&%24skiptoken={}",
            shared.base,
            skip + top
        ));
    } else if loops {
        out["@odata.nextLink"] = json!(format!(
            "{}/v1.0/users?%24top={top}&%24skiptoken=0",
            shared.base
        ));
    }
    answer(200, out)
}

pub(super) fn message_json(m: &Message, expand: bool) -> Value {
    let mut v = json!({
        "id": m.id,
        "parentFolderId": m.folder,
        "isRead": m.m.is_read,
        "receivedDateTime": m.received,
        "internetMessageId": m.m.internet_message_id,
        "subject": m.m.subject,
        "from": {"emailAddress": {"address": m.m.from}},
        "toRecipients": m.m.to.iter().map(|a| json!({"emailAddress": {"address": a}})).collect::<Vec<_>>(),
        "ccRecipients": [],
    });
    if expand {
        let mut props = Vec::new();
        if let Some(irt) = &m.m.in_reply_to {
            props.push(json!({"id": "String 0x1042", "value": irt}));
        }
        if !m.m.references.is_empty() {
            props.push(json!({"id": "String 0x1039", "value": m.m.references.join(" ")}));
        }
        v["singleValueExtendedProperties"] = json!(props);
    }
    v
}

pub(super) fn folder_of<'a>(d: &'a Data, user: &str, key: &str) -> Option<&'a Folder> {
    d.folders
        .get(user)?
        .iter()
        .find(|f| f.id == key || f.well_known == Some(key))
}

pub(super) fn mailbox_operation(
    shared: &Arc<Shared>,
    user: &User,
    method: &str,
    rest: &[String],
    query: &HashMap<String, String>,
    body: Value,
) -> Answer {
    if rest.is_empty() {
        return answer(200, user_json(user));
    }
    match user.kind {
        UserKind::NoRestMailbox => {
            return error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            );
        }
        UserKind::OutOfScope => {
            return error(403, "ErrorAccessDenied", "Access to OData is disabled.");
        }
        UserKind::Guest => {
            return error(404, "ResourceNotFound", "Resource could not be discovered.");
        }
        UserKind::Member => {}
    }
    let mut d = shared.data.lock().unwrap();
    let filter = match query.get("$filter").map(|f| Filter::parse(f)).transpose() {
        Ok(f) => f,
        Err(why) => return error(400, "BadRequest", &format!("Invalid filter clause: {why}")),
    };
    let expand = query
        .get("$expand")
        .is_some_and(|e| e.contains("singleValueExtendedProperties"));
    let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
    match (method, rest.as_slice()) {
        ("GET", ["mailFolders"]) | ("GET", ["mailFolders", _, "childFolders"]) => {
            let hidden = query
                .get("includeHiddenFolders")
                .is_some_and(|v| v == "true");
            // `/mailFolders` lists the children of the message root, `childFolders` of one
            // folder (the well-known Recoverable Items folder is listed at the top too).
            let parent = match rest.as_slice() {
                ["mailFolders", f, _] => match folder_of(&d, &user.id, f) {
                    Some(f) => Some(f.id.clone()),
                    None => return error(404, "ErrorItemNotFound", "folder not found"),
                },
                _ => folder_of(&d, &user.id, "msgfolderroot").map(|f| f.id.clone()),
            };
            let top = rest.len() == 1;
            if !top && d.lagging_child_listings > 0 {
                d.lagging_child_listings -= 1;
                return answer(200, json!({"value": []}));
            }
            let value: Vec<Value> = d
                .folders
                .get(&user.id)
                .into_iter()
                .flatten()
                .filter(|f| f.parent == parent || (top && f.parent.is_none() && f.hidden))
                .filter(|f| hidden || !f.hidden)
                .filter(|f| filter.as_ref().is_none_or(|x| x.matches_folder(f)))
                .map(|f| json!({"id": f.id, "displayName": f.name, "isHidden": f.hidden}))
                .collect();
            answer(200, json!({"value": value}))
        }
        ("POST", ["mailFolders"]) | ("POST", ["mailFolders", _, "childFolders"]) => {
            let name = body["displayName"].as_str().unwrap_or("").to_string();
            if name.is_empty() {
                return error(400, "ErrorInvalidRequest", "displayName is required.");
            }
            let parent = match rest.as_slice() {
                ["mailFolders", f, _] => match folder_of(&d, &user.id, f) {
                    Some(f) => f.id.clone(),
                    None => return error(404, "ErrorItemNotFound", "folder not found"),
                },
                _ => match folder_of(&d, &user.id, "msgfolderroot") {
                    Some(f) => f.id.clone(),
                    None => return error(404, "ErrorItemNotFound", "no message root"),
                },
            };
            // Exchange compares folder names without case, among siblings only.
            if d.folders.get(&user.id).into_iter().flatten().any(|f| {
                f.parent.as_deref() == Some(parent.as_str())
                    && f.name.to_lowercase() == name.to_lowercase()
            }) {
                return error(
                    409,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                );
            }
            d.next_id += 1;
            let id = format!("AQMk{}+new=", d.next_id);
            d.folders.entry(user.id.clone()).or_default().push(Folder {
                id: id.clone(),
                user: user.id.clone(),
                name: name.clone(),
                well_known: None,
                hidden: body["isHidden"].as_bool().unwrap_or(false),
                parent: Some(parent),
            });
            answer(201, json!({"id": id, "displayName": name}))
        }
        ("GET", ["mailFolders", f]) => match folder_of(&d, &user.id, f) {
            Some(f) => answer(200, json!({"id": f.id, "displayName": f.name})),
            None => error(
                404,
                "ErrorItemNotFound",
                "The specified folder was not found in the store.",
            ),
        },
        ("GET", ["messages"]) | ("GET", ["mailFolders", _, "messages"]) => {
            let in_folder = match rest.as_slice() {
                ["mailFolders", f, _] => match folder_of(&d, &user.id, f) {
                    Some(f) => Some(f.id.clone()),
                    None => return error(404, "ErrorItemNotFound", "folder not found"),
                },
                _ => None,
            };
            let deletions =
                folder_of(&d, &user.id, "recoverableitemsdeletions").map(|f| f.id.clone());
            let matching: Vec<Value> = d
                .messages
                .get(&user.id)
                .into_iter()
                .flatten()
                .filter(|m| match &in_folder {
                    Some(f) => &m.folder == f,
                    // `/messages` covers the mailbox but not Recoverable Items.
                    None => Some(&m.folder) != deletions.as_ref(),
                })
                .filter(|m| filter.as_ref().is_none_or(|x| x.matches_message(m)))
                .map(|m| message_json(m, expand))
                .collect();
            page(&shared.base, path_of(user, &rest), query, matching)
        }
        (_, ["messages", id, tail @ ..]) => {
            let uid = user.id.clone();
            let Some(index) = d
                .messages
                .get(&uid)
                .and_then(|list| list.iter().position(|m| m.id == *id))
            else {
                return error(
                    404,
                    "ErrorItemNotFound",
                    "The specified object was not found in the store.",
                );
            };
            match (method, tail) {
                ("GET", []) => answer(200, message_json(&d.messages[&uid][index], expand)),
                ("PATCH", []) => {
                    if let Some(read) = body["isRead"].as_bool() {
                        d.messages.get_mut(&uid).expect("user")[index].m.is_read = read;
                    }
                    answer(200, message_json(&d.messages[&uid][index], false))
                }
                ("GET", ["$value"]) => {
                    d.events.push(format!("$value {id}"));
                    let message = &d.messages.get_mut(&uid).expect("user")[index];
                    if let Some(raw) = &message.raw {
                        return Answer {
                            status: 200,
                            headers: vec![("Content-Type".into(), "text/plain".into())],
                            body: Body::Raw(raw.clone()),
                        };
                    }
                    let m = &message.m;
                    let mime = format!(
                        "Message-ID: {}\r\nFrom: {}\r\nSubject: {}\r\n\r\nbody\r\n",
                        m.internet_message_id, m.from, m.subject
                    );
                    Answer {
                        status: 200,
                        headers: vec![("Content-Type".into(), "text/plain".into())],
                        body: Body::Raw(mime.into_bytes()),
                    }
                }
                ("POST", ["move"]) => {
                    let dest = body["destinationId"].as_str().unwrap_or("");
                    let Some(folder) = folder_of(&d, &user.id, dest).map(|f| f.id.clone()) else {
                        return error(
                            404,
                            "ErrorItemNotFound",
                            "The destination folder was not found.",
                        );
                    };
                    d.messages.get_mut(&uid).expect("user")[index].folder = folder;
                    d.events.push(format!("move {id} {dest}"));
                    answer(201, message_json(&d.messages[&uid][index], false))
                }
                ("POST", ["permanentDelete"]) => {
                    d.events.push(format!("permanentDelete {id}"));
                    d.messages.get_mut(&uid).expect("user").remove(index);
                    Answer {
                        status: 204,
                        headers: Vec::new(),
                        body: Body::Empty,
                    }
                }
                _ => error(400, "BadRequest", "unsupported message operation"),
            }
        }
        _ => error(
            400,
            "BadRequest",
            &format!("unsupported: {method} {}", rest.join("/")),
        ),
    }
}

pub(super) fn path_of(user: &User, rest: &[&str]) -> String {
    let encoded: Vec<String> = rest
        .iter()
        .map(|s| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        })
        .collect();
    format!("/users/{}/{}", user.id, encoded.join("/"))
}

/// `$top` paging with `$skiptoken`, keeping the other query options in the next link.
pub(super) fn page(
    base: &str,
    path: String,
    query: &HashMap<String, String>,
    items: Vec<Value>,
) -> Answer {
    let top: usize = query
        .get("$top")
        .and_then(|t| t.parse().ok())
        .unwrap_or(10)
        .clamp(1, 1000);
    let skip: usize = query
        .get("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let value: Vec<Value> = items.iter().skip(skip).take(top).cloned().collect();
    let mut out = json!({"value": value});
    if skip + top < items.len() {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect();
        pairs.push(format!("%24skiptoken={}", skip + top));
        out["@odata.nextLink"] = json!(format!("{base}/v1.0{path}?{}", pairs.join("&")));
    }
    answer(200, out)
}
