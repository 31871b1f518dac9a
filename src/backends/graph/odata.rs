//! OData quoting and URL encoding: the one place Graph URLs are put together.
//!
//! Message-IDs carry `+ / = & # ' %` and spaces. A string literal doubles `'` (OData), and
//! then every query value and path segment is percent-encoded per RFC 3986, everything but
//! the unreserved characters, so `+` never turns into a space on the server and `&`/`#`
//! never end the value early.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// RFC 3986 unreserved characters stay; everything else is encoded.
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encode one path segment or query value.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, STRICT).to_string()
}

/// An OData string literal: `'` doubled, wrapped in quotes.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A relative Graph path (`/users/{id}/messages`) with encoded query parameters.
pub fn path_with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// `$filter` for one exact Message-ID.
pub fn message_id_filter(message_id: &str) -> String {
    format!("internetMessageId eq {}", literal(message_id))
}

/// `$filter` terms matching messages that answer or forward `message_id`: In-Reply-To
/// (`String 0x1042`) equal to it, or References (`String 0x1039`) containing it.
pub fn reply_filters(message_id: &str) -> [String; 2] {
    let id = literal(message_id);
    [
        format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String 0x1042' and ep/value eq {id})"
        ),
        format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String 0x1039' and contains(ep/value,{id}))"
        ),
    ]
}

/// `$expand` that returns the In-Reply-To and References values with each message.
pub const EXPAND_THREAD_HEADERS: &str =
    "singleValueExtendedProperties($filter=id eq 'String 0x1042' or id eq 'String 0x1039')";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_with_reserved_characters_survive() {
        let id = "<a+b/c=d&e#f'g h%@x>";
        let filter = message_id_filter(id);
        assert_eq!(filter, "internetMessageId eq '<a+b/c=d&e#f''g h%@x>'");
        let url = path_with_query("/users/u/messages", &[("$filter", filter)]);
        assert_eq!(
            url,
            "/users/u/messages?%24filter=internetMessageId%20eq%20%27%3Ca%2Bb%2Fc%3Dd%26e%23f%27%27g%20h%25%40x%3E%27"
        );
        assert!(!url.contains('+') && !url.contains('#'));
    }

    #[test]
    fn reply_filters_name_both_properties() {
        let [irt, refs] = reply_filters("<o'x@h>");
        assert!(irt.contains("'String 0x1042'") && irt.contains("'<o''x@h>'"));
        assert!(refs.contains("contains(ep/value,'<o''x@h>')"));
    }
}
