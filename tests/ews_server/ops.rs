//! The EWS operations of the test server, answering with the envelopes and response codes of
//! Microsoft's reference.

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::xml::{Node, esc, parse};
use super::{Data, Item, NewMessage};

const FIND_COUNT_LIMIT: usize = 1000;

type Failure = (&'static str, String);

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">\
         <s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" MinorBuildNumber=\"4\" \
         xmlns:h=\"http://schemas.microsoft.com/exchange/services/2006/types\"/></s:Header>\
         <s:Body xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" \
         xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">{body}</s:Body></s:Envelope>"
    )
}

/// A SOAP fault as Exchange sends it with HTTP 500.
pub fn fault(code: &str, text: &str) -> String {
    fault_with(code, text, "")
}

fn fault_with(code: &str, text: &str, extra: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>\
         <faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">a:{code}</faultcode>\
         <faultstring xml:lang=\"en-US\">{}</faultstring><detail>\
         <e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{code}</e:ResponseCode>\
         <e:Message xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{}</e:Message>{extra}</detail></s:Fault></s:Body></s:Envelope>",
        esc(text),
        esc(text)
    )
}

pub fn busy_fault(back_off_ms: u64) -> String {
    fault_with(
        "ErrorServerBusy",
        "The server cannot service this request right now. Try again later.",
        &format!(
            "<t:MessageXml xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\"><t:Value Name=\"BackOffMilliseconds\">{back_off_ms}</t:Value></t:MessageXml>"
        ),
    )
}

fn message(op: &str, result: Result<String, Failure>) -> String {
    match result {
        Ok(inner) => format!(
            "<m:{op}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode>{inner}</m:{op}ResponseMessage>"
        ),
        Err((code, text)) => format!(
            "<m:{op}ResponseMessage ResponseClass=\"Error\"><m:MessageText>{}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:{op}ResponseMessage>",
            esc(&text)
        ),
    }
}

fn response(op: &str, messages: Vec<String>) -> String {
    envelope(&format!(
        "<m:{op}Response><m:ResponseMessages>{}</m:ResponseMessages></m:{op}Response>",
        messages.concat()
    ))
}

/// The RFC 5322 text of a delivered message.
pub fn mime_of(m: &NewMessage, received: &str) -> Vec<u8> {
    let mut text = format!(
        "Message-ID: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {received}\r\n",
        m.message_id,
        m.from,
        m.to.join(", "),
        m.subject
    );
    if let Some(parent) = &m.in_reply_to {
        text.push_str(&format!("In-Reply-To: {parent}\r\n"));
    }
    if !m.references.is_empty() {
        text.push_str(&format!("References: {}\r\n", m.references.join(" ")));
    }
    text.push_str(
        "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nPlease see the attached invoice.\r\n",
    );
    text.into_bytes()
}

pub(super) fn header_of(mime: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(mime);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Who the request acts as: the impersonated mailbox, or `None` (the service account, as a
/// delegate).
struct Caller {
    acting: Option<String>,
}

fn may(d: &Data, caller: &Caller, mailbox: &str) -> Result<(), Failure> {
    match &caller.acting {
        Some(a) if a == mailbox => Ok(()),
        Some(a) => Err((
            "ErrorAccessDenied",
            format!("{a} has no access to the mailbox of another user"),
        )),
        None => match d.mailboxes.get(mailbox) {
            None => Err((
                "ErrorNonExistentMailbox",
                format!("The SMTP address has no mailbox associated with it: {mailbox}"),
            )),
            Some(m) if m.rights.full_access => Ok(()),
            Some(_) => Err((
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.".into(),
            )),
        },
    }
}

/// The folder a `DistinguishedFolderId` or `FolderId` names, checked against the caller.
fn resolve(d: &Data, caller: &Caller, node: &Node) -> Result<String, Failure> {
    let not_found = || {
        (
            "ErrorFolderNotFound",
            "The specified folder could not be found in the store.".to_string(),
        )
    };
    match node.name.as_str() {
        "DistinguishedFolderId" => {
            let explicit = node
                .find("EmailAddress")
                .map(|e| e.text.trim().to_ascii_lowercase());
            let mailbox = match (explicit, &caller.acting) {
                (Some(m), _) => m,
                (None, Some(a)) => a.clone(),
                (None, None) => {
                    return Err((
                        "ErrorNonExistentMailbox",
                        "The service account has no mailbox here; name the mailbox".into(),
                    ));
                }
            };
            may(d, caller, &mailbox)?;
            let id = node.attr("Id").unwrap_or_default();
            d.well_known(&mailbox, id)
                .map(|f| f.id.clone())
                .ok_or_else(not_found)
        }
        "FolderId" => {
            let f = d
                .folder(node.attr("Id").unwrap_or_default())
                .ok_or_else(not_found)?;
            may(d, caller, &f.mailbox)?;
            Ok(f.id.clone())
        }
        _ => Err(not_found()),
    }
}

/// The key of the item with this id, checked against the caller.
fn item_index(d: &Data, caller: &Caller, id: &str) -> Result<u64, Failure> {
    let key = d.item_key(id).ok_or((
        "ErrorItemNotFound",
        "The specified object was not found in the store.".to_string(),
    ))?;
    may(d, caller, &d.items[&key].mailbox)?;
    Ok(key)
}

/// The value of a restriction's field on an item.
fn field(item: &Item, d: &Data, node: &Node) -> Option<String> {
    if let Some(ext) = node.child("ExtendedFieldURI") {
        return match ext
            .attr("PropertyTag")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "0x1035" => Some(item.message_id.clone()),
            "0x1042" => item.in_reply_to.clone(),
            "0x1039" => (!item.references.is_empty()).then(|| item.references.join(" ")),
            _ => None,
        };
    }
    match node.child("FieldURI")?.attr("FieldURI")? {
        "item:Subject" => Some(item.subject.clone()),
        "item:DateTimeReceived" => Some(item.received.clone()),
        "folder:DisplayName" => d.folder(&item.folder).map(|f| f.name.clone()),
        _ => None,
    }
}

fn constant(node: &Node) -> String {
    node.find("Constant")
        .and_then(|c| c.attr("Value"))
        .unwrap_or_default()
        .to_string()
}

/// Whether an item matches a restriction node. String equality ignores case, as Exchange's
/// does: a client must confirm the exact value itself.
fn matches(item: &Item, d: &Data, node: &Node) -> bool {
    match node.name.as_str() {
        "Restriction" => node.children.first().is_some_and(|c| matches(item, d, c)),
        "And" => node.children.iter().all(|c| matches(item, d, c)),
        "Or" => node.children.iter().any(|c| matches(item, d, c)),
        "Not" => !node.children.first().is_some_and(|c| matches(item, d, c)),
        "IsEqualTo" => {
            field(item, d, node).is_some_and(|v| v.eq_ignore_ascii_case(&constant(node)))
        }
        "Contains" => field(item, d, node)
            .is_some_and(|v| v.to_lowercase().contains(&constant(node).to_lowercase())),
        "IsGreaterThanOrEqualTo" => field(item, d, node).is_some_and(|v| v >= constant(node)),
        _ => false,
    }
}

fn item_xml(d: &Data, i: &Item, mime: bool, recipients: bool) -> String {
    let mut x = format!(
        "<t:Message><t:ItemId Id=\"{}\" ChangeKey=\"CQAAABYAAAA\"/>",
        esc(&i.id)
    );
    if mime {
        x.push_str(&format!(
            "<t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>",
            STANDARD.encode(&i.mime)
        ));
    } else if recipients {
        let list = |name: &str, all: &[String]| {
            format!(
                "<t:{name}>{}</t:{name}>",
                all.iter()
                    .map(|a| format!(
                        "<t:Mailbox><t:EmailAddress>{}</t:EmailAddress></t:Mailbox>",
                        esc(a)
                    ))
                    .collect::<String>()
            )
        };
        x.push_str(&list("ToRecipients", &i.to));
        x.push_str(&list("CcRecipients", &i.cc));
    } else {
        x.push_str(&format!(
            "<t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:Subject>{}</t:Subject><t:DateTimeReceived>{}</t:DateTimeReceived><t:Size>{}</t:Size>",
            esc(&i.folder),
            esc(&i.subject),
            i.received,
            i.mime.len()
        ));
        if let Some(r) = &i.in_reply_to {
            x.push_str(&format!("<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x1042\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>", esc(r)));
        }
        if !i.references.is_empty() {
            x.push_str(&format!("<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag=\"0x1039\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>", esc(&i.references.join(" "))));
        }
        x.push_str(&format!(
            "<t:From><t:Mailbox><t:Name>{}</t:Name><t:EmailAddress>{}</t:EmailAddress></t:Mailbox></t:From><t:IsRead>{}</t:IsRead><t:InternetMessageId>{}</t:InternetMessageId>",
            esc(&i.from),
            esc(&i.from),
            i.read,
            esc(&i.message_id)
        ));
        let _ = d;
    }
    x.push_str("</t:Message>");
    x
}

fn children_of<'a>(d: &'a Data, parent: &str, deep: bool, out: &mut Vec<&'a super::Folder>) {
    for f in d.children(parent) {
        out.push(f);
        if deep {
            children_of(d, &f.id, deep, out);
        }
    }
}

fn page_attrs(offset: usize, shown: usize, total: usize) -> String {
    format!(
        "IndexedPagingOffset=\"{}\" TotalItemsInView=\"{total}\" IncludesLastItemInRange=\"{}\"",
        offset + shown,
        offset + shown >= total
    )
}

fn paging(node: &Node, view: &str) -> (usize, usize) {
    let v = node.find(view);
    let offset = v
        .and_then(|v| v.attr("Offset"))
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let max = v
        .and_then(|v| v.attr("MaxEntriesReturned"))
        .and_then(|o| o.parse().ok())
        .unwrap_or(FIND_COUNT_LIMIT)
        .min(FIND_COUNT_LIMIT);
    (offset, max)
}

fn move_to(d: &mut Data, key: u64, folder: &str) -> String {
    let mailbox = d.items[&key].mailbox.clone();
    let id = d.new_id("item", &mailbox);
    d.relocate_item(key, folder, id.clone());
    id
}

/// Serve one request body; the status and the answer.
pub(super) fn operation(d: &mut Data, body: &[u8]) -> (StatusCode, String) {
    let bad = |text: &str| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            fault("ErrorSchemaValidation", text),
        )
    };
    let Ok(root) = parse(body) else {
        return bad("The request failed schema validation: not well-formed XML.");
    };
    let Some(header) = root.child("Header") else {
        return bad("The request has no SOAP header.");
    };
    if header
        .child("RequestServerVersion")
        .and_then(|v| v.attr("Version"))
        .is_none()
    {
        d.violations
            .push("a request without RequestServerVersion".into());
    }
    let acting = header
        .find("ExchangeImpersonation")
        .map(|i| i.text_of("PrimarySmtpAddress").to_ascii_lowercase());
    if let Some(who) = &acting {
        match d.mailboxes.get(who) {
            None => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    fault(
                        "ErrorNonExistentMailbox",
                        &format!("The SMTP address has no mailbox associated with it: {who}"),
                    ),
                );
            }
            Some(m) if !m.rights.impersonation => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    fault(
                        "ErrorImpersonateUserDenied",
                        "The account does not have permission to impersonate the requested user.",
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let caller = Caller { acting };
    let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
        return bad("The request has no operation.");
    };
    *d.stats.by_operation.entry(op.name.clone()).or_default() += 1;
    let answer = match op.name.as_str() {
        "GetFolder" => get_folder(d, &caller, op),
        "FindFolder" => find_folder(d, &caller, op),
        "CreateFolder" => create_folder(d, &caller, op),
        "FindItem" => find_item(d, &caller, op),
        "GetItem" => get_item(d, &caller, op),
        "MoveItem" => move_item(d, &caller, op),
        "CreateItem" => create_item(d, &caller, op),
        "DeleteItem" => delete_item(d, &caller, op),
        "UpdateItem" => update_item(d, &caller, op),
        other => return bad(&format!("The operation {other} is not served here.")),
    };
    (StatusCode::OK, answer)
}

fn folder_refs(node: Option<&Node>) -> Vec<&Node> {
    node.map(|n| n.children.iter().collect())
        .unwrap_or_default()
}

fn get_folder(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let messages = folder_refs(op.child("FolderIds"))
        .into_iter()
        .map(|r| {
            message(
                "GetFolder",
                resolve(d, caller, r).map(|id| {
                    let name = d.folder(&id).map(|f| f.name.clone()).unwrap_or_default();
                    format!("<m:Folders><t:Folder><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:DisplayName>{}</t:DisplayName></t:Folder></m:Folders>", esc(&id), esc(&name))
                }),
            )
        })
        .collect();
    response("GetFolder", messages)
}

fn find_folder(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let deep = op.attr("Traversal") == Some("Deep");
    let (offset, max) = paging(op, "IndexedPageFolderView");
    let wanted = op.find("Restriction").map(constant);
    let messages = folder_refs(op.child("ParentFolderIds"))
        .into_iter()
        .map(|r| {
            message(
                "FindFolder",
                resolve(d, caller, r).map(|parent| {
                    let mut all = Vec::new();
                    children_of(d, &parent, deep, &mut all);
                    let all: Vec<_> = all
                        .into_iter()
                        .filter(|f| wanted.as_ref().is_none_or(|w| f.name.eq_ignore_ascii_case(w)))
                        .collect();
                    let page: Vec<_> = all.iter().skip(offset).take(max).collect();
                    let folders: String = page
                        .iter()
                        .map(|f| {
                            format!(
                                "<t:Folder><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:DisplayName>{}</t:DisplayName></t:Folder>",
                                esc(&f.id),
                                esc(f.parent.as_deref().unwrap_or_default()),
                                esc(&f.name)
                            )
                        })
                        .collect();
                    format!("<m:RootFolder {}><t:Folders>{folders}</t:Folders></m:RootFolder>", page_attrs(offset, page.len(), all.len()))
                }),
            )
        })
        .collect();
    response("FindFolder", messages)
}

fn create_folder(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let parent = op.child("ParentFolderId").and_then(|p| p.children.first());
    let names: Vec<String> = op
        .child("Folders")
        .map(|f| {
            f.children
                .iter()
                .map(|c| c.text_of("DisplayName"))
                .collect()
        })
        .unwrap_or_default();
    let mut messages = Vec::new();
    for name in names {
        let result = match parent.map(|p| resolve(d, caller, p)) {
            None => Err(("ErrorInvalidOperation", "no parent folder".to_string())),
            Some(Err(e)) => Err(e),
            Some(Ok(parent)) => {
                if d.children(&parent)
                    .any(|f| f.name.eq_ignore_ascii_case(&name))
                {
                    Err((
                        "ErrorFolderExists",
                        "A folder with the specified name already exists.".to_string(),
                    ))
                } else {
                    let mailbox = d
                        .folder(&parent)
                        .map(|f| f.mailbox.clone())
                        .unwrap_or_default();
                    let id = d.new_id("folder", &mailbox);
                    d.push_folder(super::Folder {
                        id: id.clone(),
                        mailbox,
                        name,
                        parent: Some(parent),
                        distinguished: None,
                    });
                    Ok(format!(
                        "<m:Folders><t:Folder><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/></t:Folder></m:Folders>",
                        esc(&id)
                    ))
                }
            }
        };
        messages.push(message("CreateFolder", result));
    }
    response("CreateFolder", messages)
}

fn find_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    if op.attr("Traversal") != Some("Shallow") {
        d.violations.push(format!(
            "FindItem with Traversal {:?}",
            op.attr("Traversal")
        ));
    }
    let (offset, max) = paging(op, "IndexedPageItemView");
    let restriction = op.child("Restriction");
    let messages = folder_refs(op.child("ParentFolderIds"))
        .into_iter()
        .map(|r| {
            message(
                "FindItem",
                resolve(d, caller, r).map(|folder| {
                    let mut all: Vec<&Item> = d
                        .items_in(&folder)
                        .filter(|i| restriction.is_none_or(|r| matches(i, d, r)))
                        .collect();
                    all.sort_by(|a, b| b.received.cmp(&a.received));
                    let page: Vec<_> = all.iter().skip(offset).take(max).collect();
                    let items: String = page.iter().map(|i| item_xml(d, i, false, false)).collect();
                    format!(
                        "<m:RootFolder {}><t:Items>{items}</t:Items></m:RootFolder>",
                        page_attrs(offset, page.len(), all.len())
                    )
                }),
            )
        })
        .collect();
    response("FindItem", messages)
}

fn item_ids(op: &Node, holder: &str) -> Vec<String> {
    op.child(holder)
        .map(|h| {
            h.children
                .iter()
                .filter_map(|c| c.attr("Id").map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn get_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let mime = op.text_of("IncludeMimeContent") == "true";
    let messages = item_ids(op, "ItemIds")
        .iter()
        .map(|id| {
            message(
                "GetItem",
                item_index(d, caller, id).map(|i| {
                    format!(
                        "<m:Items>{}</m:Items>",
                        item_xml(d, &d.items[&i], mime, !mime)
                    )
                }),
            )
        })
        .collect();
    response("GetItem", messages)
}

fn move_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let to = op
        .child("ToFolderId")
        .and_then(|t| t.children.first())
        .map(|t| resolve(d, caller, t));
    let ids = item_ids(op, "ItemIds");
    let mut messages = Vec::new();
    for id in ids {
        let result = match &to {
            None => Err(("ErrorInvalidOperation", "no target folder".to_string())),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(folder)) => item_index(d, caller, &id).map(|i| {
                let new = move_to(d, i, folder);
                format!("<m:Items><t:Message><t:ItemId Id=\"{}\" ChangeKey=\"CQAAABYAAAA\"/></t:Message></m:Items>", esc(&new))
            }),
        };
        messages.push(message("MoveItem", result));
    }
    response("MoveItem", messages)
}

fn create_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let folder = op
        .child("SavedItemFolderId")
        .and_then(|t| t.children.first())
        .map(|t| resolve(d, caller, t));
    let mut messages = Vec::new();
    for m in op
        .child("Items")
        .map(|i| i.children.clone())
        .unwrap_or_default()
    {
        let result = match &folder {
            None => Err(("ErrorInvalidOperation", "no SavedItemFolderId".to_string())),
            Some(Err(e)) => Err(e.clone()),
            Some(Ok(folder)) => {
                let mime = STANDARD
                    .decode(
                        m.text_of("MimeContent")
                            .split_whitespace()
                            .collect::<String>(),
                    )
                    .unwrap_or_default();
                let mailbox = d
                    .folder(folder)
                    .map(|f| f.mailbox.clone())
                    .unwrap_or_default();
                let mut stamped = Vec::new();
                let mut received = None;
                let mut read = false;
                for p in m.children.iter().filter(|c| c.name == "ExtendedProperty") {
                    let uri = p.child("ExtendedFieldURI");
                    let value = p.text_of("Value");
                    match (
                        uri.and_then(|u| u.attr("DistinguishedPropertySetId")),
                        uri.and_then(|u| u.attr("PropertyTag")),
                    ) {
                        (Some("InternetHeaders"), _) => stamped.push((
                            uri.and_then(|u| u.attr("PropertyName"))
                                .unwrap_or_default()
                                .to_string(),
                            value,
                        )),
                        (_, Some("0x0E06")) => received = Some(value),
                        (_, Some("0x0E07")) => read = value.parse::<u32>().unwrap_or(0) & 1 == 1,
                        _ => {}
                    }
                }
                if let Some(r) = m.child("IsRead") {
                    read = r.text.trim() == "true";
                }
                let received = match received {
                    Some(r) => r,
                    None => d.now(),
                };
                let id = d.new_id("item", &mailbox);
                let h = |name: &str| header_of(&mime, name);
                d.insert_item(Item {
                    id: id.clone(),
                    mailbox,
                    folder: folder.clone(),
                    message_id: h("Message-ID").unwrap_or_default(),
                    subject: h("Subject").unwrap_or_default(),
                    from: h("From").unwrap_or_default(),
                    to: h("To")
                        .map(|t| t.split(',').map(|a| a.trim().to_string()).collect())
                        .unwrap_or_default(),
                    cc: Vec::new(),
                    in_reply_to: h("In-Reply-To"),
                    references: h("References")
                        .map(|r| r.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                    read,
                    received,
                    mime,
                    stamped,
                });
                Ok(format!(
                    "<m:Items><t:Message><t:ItemId Id=\"{}\" ChangeKey=\"CQAAABYAAAA\"/></t:Message></m:Items>",
                    esc(&id)
                ))
            }
        };
        messages.push(message("CreateItem", result));
    }
    response("CreateItem", messages)
}

fn delete_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let kind = op.attr("DeleteType").unwrap_or_default().to_string();
    let mut messages = Vec::new();
    for id in item_ids(op, "ItemIds") {
        let result = item_index(d, caller, &id).and_then(|i| {
            let mailbox = d.items[&i].mailbox.clone();
            let hold = d.mailboxes.get(&mailbox).is_some_and(|m| m.hold);
            let to = match kind.as_str() {
                "HardDelete" if hold => Some("recoverableitemspurges"),
                "HardDelete" => None,
                "SoftDelete" => Some("recoverableitemsdeletions"),
                "MoveToDeletedItems" => Some("deleteditems"),
                _ => return Err(("ErrorInvalidRequest", "DeleteType is required".to_string())),
            };
            match to
                .and_then(|t| d.well_known(&mailbox, t))
                .map(|f| f.id.clone())
            {
                Some(folder) => {
                    move_to(d, i, &folder);
                }
                None => {
                    d.remove_item(i);
                }
            }
            Ok(String::new())
        });
        messages.push(message("DeleteItem", result));
    }
    response("DeleteItem", messages)
}

fn update_item(d: &mut Data, caller: &Caller, op: &Node) -> String {
    let mut messages = Vec::new();
    let mut changes = Vec::new();
    op.find_all("ItemChange", &mut changes);
    for change in changes {
        let id = change
            .child("ItemId")
            .and_then(|i| i.attr("Id"))
            .unwrap_or_default()
            .to_string();
        let read = change.find("IsRead").map(|r| r.text.trim() == "true");
        let result = item_index(d, caller, &id).map(|i| {
            if let (Some(read), Some(item)) = (read, d.items.get_mut(&i)) {
                item.read = read;
            }
            format!("<m:Items><t:Message><t:ItemId Id=\"{}\" ChangeKey=\"CQAAABYAAAB\"/></t:Message></m:Items>", esc(&id))
        });
        messages.push(message("UpdateItem", result));
    }
    response("UpdateItem", messages)
}
