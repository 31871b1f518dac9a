//! SOAP envelopes for the EWS operations this backend uses, and reading their answers. Every
//! value that comes from outside (addresses, Message-IDs, ids, folder names) is escaped here,
//! once; nothing else builds XML.
//!
//! Shapes follow Microsoft's EWS reference: FindItem/FindFolder/GetFolder/GetItem/MoveItem/
//! CreateItem/DeleteItem/UpdateItem/CreateFolder in the messages namespace (`m:`), their
//! arguments in the types namespace (`t:`), `RequestServerVersion` on every request and
//! `ExchangeImpersonation` when acting by impersonation.

use super::xml::{Element, escape};

pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const MESSAGES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

/// PR_INTERNET_MESSAGE_ID, PR_IN_REPLY_TO_ID, PR_INTERNET_REFERENCES (all strings).
pub const MESSAGE_ID_TAG: &str = "0x1035";
pub const IN_REPLY_TO_TAG: &str = "0x1042";
pub const REFERENCES_TAG: &str = "0x1039";
/// PR_MESSAGE_DELIVERY_TIME and PR_MESSAGE_FLAGS: set on a copy made from MIME, so it keeps
/// its received date and read state (and is not a draft).
const DELIVERY_TIME_TAG: &str = "0x0E06";
const MESSAGE_FLAGS_TAG: &str = "0x0E07";
const MSGFLAG_READ: u32 = 0x1;

/// One whole request: header (version, impersonation) and body.
pub fn envelope(version: &str, impersonate: Option<&str>, body: &str) -> String {
    let impersonation = impersonate.map_or(String::new(), |who| {
        format!(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>",
            escape(who)
        )
    });
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:m=\"{MESSAGES_NS}\" xmlns:t=\"{TYPES_NS}\">\
         <soap:Header><t:RequestServerVersion Version=\"{}\"/>{impersonation}</soap:Header>\
         <soap:Body>{body}</soap:Body></soap:Envelope>",
        escape(version)
    )
}

/// A folder as a request names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderRef {
    /// A well-known folder (`inbox`, `msgfolderroot`, ...), of `mailbox` when acting as a
    /// delegate (the explicit form; impersonation names no mailbox).
    Distinguished {
        id: &'static str,
        mailbox: Option<String>,
    },
    /// A folder by its id (the id names its mailbox).
    Id(String),
}

impl FolderRef {
    fn xml(&self) -> String {
        match self {
            FolderRef::Distinguished { id, mailbox: None } => {
                format!("<t:DistinguishedFolderId Id=\"{id}\"/>")
            }
            FolderRef::Distinguished {
                id,
                mailbox: Some(m),
            } => format!(
                "<t:DistinguishedFolderId Id=\"{id}\"><t:Mailbox><t:EmailAddress>{}</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId>",
                escape(m)
            ),
            FolderRef::Id(id) => format!("<t:FolderId Id=\"{}\"/>", escape(id)),
        }
    }
}

fn folders_xml(folders: &[FolderRef]) -> String {
    folders.iter().map(FolderRef::xml).collect()
}

fn item_ids_xml(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("<t:ItemId Id=\"{}\"/>", escape(id)))
        .collect()
}

fn extended(tag: &str, kind: &str) -> String {
    format!("<t:ExtendedFieldURI PropertyTag=\"{tag}\" PropertyType=\"{kind}\"/>")
}

/// A search condition of a FindItem.
#[derive(Clone, Debug)]
pub enum Condition {
    /// A string extended property equals the value (0x1035, 0x1042).
    Equals(&'static str, String),
    /// A string extended property contains the value (0x1039, References).
    Contains(&'static str, String),
    /// Received at or after (RFC 3339).
    ReceivedSince(String),
    /// The subject contains the words (case-insensitive).
    SubjectContains(String),
    Or(Vec<Condition>),
    And(Vec<Condition>),
}

impl Condition {
    fn xml(&self) -> String {
        let constant = |v: &str| {
            format!(
                "<t:FieldURIOrConstant><t:Constant Value=\"{}\"/></t:FieldURIOrConstant>",
                escape(v)
            )
        };
        match self {
            Condition::Equals(tag, v) => format!(
                "<t:IsEqualTo>{}{}</t:IsEqualTo>",
                extended(tag, "String"),
                constant(v)
            ),
            Condition::Contains(tag, v) => format!(
                "<t:Contains ContainmentMode=\"Substring\" ContainmentComparison=\"IgnoreCase\">{}<t:Constant Value=\"{}\"/></t:Contains>",
                extended(tag, "String"),
                escape(v)
            ),
            Condition::ReceivedSince(when) => format!(
                "<t:IsGreaterThanOrEqualTo><t:FieldURI FieldURI=\"item:DateTimeReceived\"/>{}</t:IsGreaterThanOrEqualTo>",
                constant(when)
            ),
            Condition::SubjectContains(words) => format!(
                "<t:Contains ContainmentMode=\"Substring\" ContainmentComparison=\"IgnoreCase\"><t:FieldURI FieldURI=\"item:Subject\"/><t:Constant Value=\"{}\"/></t:Contains>",
                escape(words)
            ),
            Condition::Or(all) if all.len() == 1 => all[0].xml(),
            Condition::And(all) if all.len() == 1 => all[0].xml(),
            Condition::Or(all) => format!(
                "<t:Or>{}</t:Or>",
                all.iter().map(Condition::xml).collect::<String>()
            ),
            Condition::And(all) => format!(
                "<t:And>{}</t:And>",
                all.iter().map(Condition::xml).collect::<String>()
            ),
        }
    }
}

/// The properties a located copy needs (FindItem returns no recipients: GetItem does).
fn item_shape() -> String {
    format!(
        "<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
         <t:FieldURI FieldURI=\"item:ParentFolderId\"/><t:FieldURI FieldURI=\"message:IsRead\"/>\
         <t:FieldURI FieldURI=\"item:DateTimeReceived\"/><t:FieldURI FieldURI=\"message:InternetMessageId\"/>\
         <t:FieldURI FieldURI=\"item:Subject\"/><t:FieldURI FieldURI=\"message:From\"/>\
         <t:FieldURI FieldURI=\"item:Size\"/>{}{}</t:AdditionalProperties></m:ItemShape>",
        extended(IN_REPLY_TO_TAG, "String"),
        extended(REFERENCES_TAG, "String")
    )
}

/// FindItem (shallow) in `folders`, one answer per folder, a page of `page` from `offset`.
pub fn find_item(
    folders: &[FolderRef],
    condition: Option<&Condition>,
    offset: usize,
    page: usize,
) -> String {
    let restriction = condition.map_or(String::new(), |c| {
        format!("<m:Restriction>{}</m:Restriction>", c.xml())
    });
    format!(
        "<m:FindItem Traversal=\"Shallow\">{}<m:IndexedPageItemView MaxEntriesReturned=\"{page}\" Offset=\"{offset}\" BasePoint=\"Beginning\"/>{restriction}<m:ParentFolderIds>{}</m:ParentFolderIds></m:FindItem>",
        item_shape(),
        folders_xml(folders)
    )
}

/// FindFolder: every folder below `parent` (Deep), or its children named `name` (Shallow).
pub fn find_folder(parent: &FolderRef, name: Option<&str>, offset: usize) -> String {
    let (traversal, restriction) = match name {
        None => ("Deep", String::new()),
        Some(n) => (
            "Shallow",
            format!(
                "<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI=\"folder:DisplayName\"/><t:FieldURIOrConstant><t:Constant Value=\"{}\"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction>",
                escape(n)
            ),
        ),
    };
    format!(
        "<m:FindFolder Traversal=\"{traversal}\"><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties>\
         <t:FieldURI FieldURI=\"folder:DisplayName\"/><t:FieldURI FieldURI=\"folder:ParentFolderId\"/></t:AdditionalProperties></m:FolderShape>\
         <m:IndexedPageFolderView MaxEntriesReturned=\"1000\" Offset=\"{offset}\" BasePoint=\"Beginning\"/>{restriction}\
         <m:ParentFolderIds>{}</m:ParentFolderIds></m:FindFolder>",
        parent.xml()
    )
}

/// GetFolder of well-known folders, one answer each, in order.
pub fn get_folder(folders: &[FolderRef]) -> String {
    format!(
        "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds>{}</m:FolderIds></m:GetFolder>",
        folders_xml(folders)
    )
}

/// CreateFolder `name` under `parent`.
pub fn create_folder(parent: &FolderRef, name: &str) -> String {
    format!(
        "<m:CreateFolder><m:ParentFolderId>{}</m:ParentFolderId><m:Folders><t:Folder><t:DisplayName>{}</t:DisplayName></t:Folder></m:Folders></m:CreateFolder>",
        parent.xml(),
        escape(name)
    )
}

/// GetItem with the MIME content (evidence, and the source of a quarantined copy), or with
/// the recipients a scan reports.
pub fn get_item(ids: &[&str], mime: bool) -> String {
    let shape = if mime {
        "<t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent>"
            .to_string()
    } else {
        "<t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI=\"message:ToRecipients\"/><t:FieldURI FieldURI=\"message:CcRecipients\"/></t:AdditionalProperties>".to_string()
    };
    format!(
        "<m:GetItem><m:ItemShape>{shape}</m:ItemShape><m:ItemIds>{}</m:ItemIds></m:GetItem>",
        item_ids_xml(ids)
    )
}

/// MoveItem into `to`; the answer carries the moved item's new id.
pub fn move_item(id: &str, to: &FolderRef) -> String {
    format!(
        "<m:MoveItem><m:ToFolderId>{}</m:ToFolderId><m:ItemIds>{}</m:ItemIds><m:ReturnNewItemIds>true</m:ReturnNewItemIds></m:MoveItem>",
        to.xml(),
        item_ids_xml(&[id])
    )
}

/// DeleteItem `HardDelete` (the only delete this backend sends: soft-delete is a move, so
/// the new id is known).
pub fn hard_delete(id: &str) -> String {
    format!(
        "<m:DeleteItem DeleteType=\"HardDelete\" SuppressReadReceipts=\"true\"><m:ItemIds>{}</m:ItemIds></m:DeleteItem>",
        item_ids_xml(&[id])
    )
}

/// UpdateItem setting the read state.
pub fn set_read(id: &str, read: bool) -> String {
    format!(
        "<m:UpdateItem ConflictResolution=\"AlwaysOverwrite\" MessageDisposition=\"SaveOnly\" SuppressReadReceipts=\"true\"><m:ItemChanges><t:ItemChange>{}<t:Updates><t:SetItemField><t:FieldURI FieldURI=\"message:IsRead\"/><t:Message><t:IsRead>{read}</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
        item_ids_xml(&[id])
    )
}

/// What a copy made from MIME keeps of the original, and the header it is stamped with.
pub struct NewCopy<'a> {
    pub mime_base64: &'a str,
    pub read: bool,
    /// RFC 3339, UTC.
    pub received: Option<String>,
    pub header: Option<(&'a str, &'a str)>,
}

/// CreateItem of a message from its MIME into `folder`, saved (never sent), with its read
/// state and received time, and a header in the InternetHeaders property set.
pub fn create_item(folder: &FolderRef, copy: &NewCopy) -> String {
    let mut props = String::new();
    if let Some((name, value)) = copy.header {
        props.push_str(&format!(
            "<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId=\"InternetHeaders\" PropertyName=\"{}\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>",
            escape(name),
            escape(value)
        ));
    }
    if let Some(when) = &copy.received {
        props.push_str(&format!(
            "<t:ExtendedProperty>{}<t:Value>{}</t:Value></t:ExtendedProperty>",
            extended(DELIVERY_TIME_TAG, "SystemTime"),
            escape(when)
        ));
    }
    let flags = if copy.read { MSGFLAG_READ } else { 0 };
    props.push_str(&format!(
        "<t:ExtendedProperty>{}<t:Value>{flags}</t:Value></t:ExtendedProperty>",
        extended(MESSAGE_FLAGS_TAG, "Integer")
    ));
    format!(
        "<m:CreateItem MessageDisposition=\"SaveOnly\"><m:SavedItemFolderId>{}</m:SavedItemFolderId><m:Items><t:Message><t:MimeContent CharacterSet=\"UTF-8\">{}</t:MimeContent>{props}<t:IsRead>{}</t:IsRead></t:Message></m:Items></m:CreateItem>",
        folder.xml(),
        escape(copy.mime_base64),
        copy.read
    )
}

/// One `*ResponseMessage` of an answer.
#[derive(Clone, Debug)]
pub struct ResponseMessage<'a> {
    /// `Success`, `Warning` or `Error`.
    pub class: &'a str,
    /// `NoError`, `ErrorItemNotFound`, ...
    pub code: &'a str,
    pub text: &'a str,
    /// `MessageXml/Value[@Name=BackOffMilliseconds]`, when the server gave one.
    pub back_off_ms: Option<u64>,
    pub element: &'a Element,
}

impl ResponseMessage<'_> {
    pub fn ok(&self) -> bool {
        self.class != "Error"
    }
}

fn back_off_of(holder: &Element) -> Option<u64> {
    holder
        .find("MessageXml")?
        .children_named("Value")
        .find(|v| v.attr("Name") == Some("BackOffMilliseconds"))
        .and_then(|v| v.text.trim().parse().ok())
}

/// Every response message of an answer, in order.
pub fn response_messages(root: &Element) -> Vec<ResponseMessage<'_>> {
    let Some(messages) = root.find("ResponseMessages") else {
        return Vec::new();
    };
    messages
        .children
        .iter()
        .map(|m| ResponseMessage {
            class: m.attr("ResponseClass").unwrap_or("Error"),
            code: m.child_text("ResponseCode"),
            text: m.child_text("MessageText"),
            back_off_ms: back_off_of(m),
            element: m,
        })
        .collect()
}

/// A SOAP fault: its EWS response code (from `detail/ResponseCode`, else `faultcode`), text
/// and back-off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub text: String,
    pub back_off_ms: Option<u64>,
}

pub fn fault(root: &Element) -> Option<Fault> {
    let f = root.find("Fault")?;
    let detail_code = f.find("ResponseCode").map(|c| c.text.trim().to_string());
    let faultcode = f.child_text("faultcode");
    let code = detail_code
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| faultcode.rsplit(':').next().unwrap_or("").to_string());
    Some(Fault {
        code,
        text: f.child_text("faultstring").to_string(),
        back_off_ms: back_off_of(f),
    })
}

#[cfg(test)]
mod tests {
    use super::super::xml::parse;
    use super::*;

    #[test]
    fn the_message_id_is_escaped_and_the_mailbox_named_per_access_mode() {
        let body = find_item(
            &[FolderRef::Distinguished {
                id: "inbox",
                mailbox: Some("a&b@x".into()),
            }],
            Some(&Condition::Equals(MESSAGE_ID_TAG, "<a\"b@h>".into())),
            0,
            50,
        );
        assert!(body.contains("Value=\"&lt;a&quot;b@h&gt;\""), "{body}");
        assert!(
            body.contains("<t:EmailAddress>a&amp;b@x</t:EmailAddress>"),
            "{body}"
        );
        let whole = envelope("Exchange2016", Some("bob@x"), &body);
        assert!(whole.contains("<t:RequestServerVersion Version=\"Exchange2016\"/>"));
        assert!(whole.contains("<t:PrimarySmtpAddress>bob@x</t:PrimarySmtpAddress>"));
        // The request is itself well-formed XML.
        let root = parse(whole.as_bytes()).unwrap();
        assert!(root.find("FindItem").is_some());
    }

    #[test]
    fn busy_answers_give_their_back_off_in_both_forms() {
        let fault_doc = br#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode xmlns:a="t">a:ErrorServerBusy</faultcode><faultstring>The server cannot service this request right now.</faultstring>
            <detail><e:ResponseCode xmlns:e="e">ErrorServerBusy</e:ResponseCode>
            <t:MessageXml xmlns:t="t"><t:Value Name="BackOffMilliseconds">1500</t:Value></t:MessageXml></detail>
            </s:Fault></s:Body></s:Envelope>"#;
        let f = fault(&parse(fault_doc).unwrap()).unwrap();
        assert_eq!(
            (f.code.as_str(), f.back_off_ms),
            ("ErrorServerBusy", Some(1500))
        );
        let message_doc = br#"<Envelope><Body><FindItemResponse><ResponseMessages>
            <FindItemResponseMessage ResponseClass="Error"><MessageText>busy</MessageText>
            <ResponseCode>ErrorServerBusy</ResponseCode><MessageXml><Value Name="BackOffMilliseconds">20</Value></MessageXml>
            </FindItemResponseMessage></ResponseMessages></FindItemResponse></Body></Envelope>"#;
        let root = parse(message_doc).unwrap();
        let m = &response_messages(&root)[0];
        assert_eq!(
            (m.ok(), m.code, m.back_off_ms),
            (false, "ErrorServerBusy", Some(20))
        );
    }
}
