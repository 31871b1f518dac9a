//! The CONTRACT's query language, term by term, with the answers every store must give:
//! the SQLite store's FTS5 results, held against the PostgreSQL store's full-text search.

use super::{Subject, start};
use crate::model::MessageRecord;
use crate::store::{MessageLog, NewMessage};

fn message(id: &str, from: &str, subject: &str, to: &[&str], minutes: i64) -> MessageRecord {
    MessageRecord {
        message_id: id.into(),
        from: from.into(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: Vec::new(),
        subject: subject.into(),
        received_at: start() + chrono::Duration::minutes(minutes),
        disposition: Some("malicious".into()),
        in_reply_to: None,
        references: Vec::new(),
        size: Some(10),
        tenant: None,
        source_id: None,
    }
}

/// Each term of the CONTRACT's query language answers the same on every store: words in any
/// column, `from:`/`to:`/`subject:` in theirs, quoted phrases (adjacent, in order, whole
/// words), unquoted words as prefixes (CJK runs too),
/// accents and case folded away, e-mail addresses as their words, negation, scalar terms.
pub(super) fn the_query_language_finds_the_same_messages<S: Subject>() {
    let subject = S::open();
    let store = subject.store();
    let records = [
        message(
            "<a@x>",
            "Alice.Smith@corp.test",
            "Quarterly invoice overdue",
            &["bob@corp.test"],
            0,
        ),
        message(
            "<b@x>",
            "mallory@evil.test",
            "Invoice: quarterly reminder",
            &["carol@corp.test"],
            1,
        ),
        message(
            "<c@x>",
            "mallory@evil.test",
            "Café menu for the team_lunch",
            &["alice.smith@corp.test"],
            2,
        ),
        message(
            "<d@x>",
            "noreply@invoices.test",
            "CAFE OPENING",
            &["dave@corp.test"],
            3,
        ),
        message(
            "<e@x>",
            "eve@evil.test",
            "Résumé attached, re:invoice-2031",
            &["bob@corp.test"],
            4,
        ),
        message(
            "<f@x>",
            "tanaka@corp.test",
            "東京都庁の会議",
            &["dave@corp.test"],
            5,
        ),
    ];
    let batch: Vec<NewMessage<'_>> = records
        .iter()
        .map(|r| NewMessage {
            record: r,
            tenant: if r.message_id == "<e@x>" {
                "other"
            } else {
                "t"
            },
            recipients: r.to.iter().map(|a| (a.clone(), false)).collect(),
        })
        .collect();
    store.insert_messages(&batch).expect("ingest");
    let find = |q: &str| -> Vec<String> {
        let query = crate::query::parse(q, start()).unwrap_or_else(|e| panic!("{q}: {e}"));
        let found: Vec<String> = store
            .search(&query, 50, 0)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
            .into_iter()
            .map(|m| {
                m.message_id
                    .trim_matches(|c| c == '<' || c == '>')
                    .replace("@x", "")
            })
            .collect();
        assert_eq!(
            store.search_count(&query).expect("count"),
            found.len() as u64,
            "{q}: count and rows agree"
        );
        found
    };
    // Newest first.
    assert_eq!(
        find("invoice"),
        ["e", "d", "b", "a"],
        "a word in any column, as a prefix (invoices@ too)"
    );
    assert_eq!(find("INVOICE"), ["e", "d", "b", "a"], "case is folded");
    assert_eq!(
        find("\"invoice\""),
        ["e", "b", "a"],
        "quotes ask for the whole word"
    );
    assert_eq!(find("quart"), ["b", "a"], "a word as typed is a prefix");
    assert_eq!(find("from:mall"), ["c", "b"], "in a field too");
    assert_eq!(find("東京"), ["f"], "a CJK word by its first characters");
    assert_eq!(find("東京都庁の会議"), ["f"], "and whole");
    assert_eq!(
        find("invoic*"),
        ["e", "d", "b", "a"],
        "a prefix, in the sender too"
    );
    assert_eq!(find("subject:invoice"), ["e", "b", "a"]);
    assert_eq!(
        find("\"quarterly invoice\""),
        ["a"],
        "a phrase is adjacent words in order"
    );
    assert_eq!(
        find("\"invoice quarterly\""),
        ["b"],
        "punctuation between words is no gap"
    );
    assert_eq!(find("quarterly invoice"), ["b", "a"], "two words anywhere");
    assert_eq!(find("cafe"), ["d", "c"], "accents are folded in the log");
    assert_eq!(find("café"), ["d", "c"], "and in the query");
    assert_eq!(find("resume"), ["e"]);
    assert_eq!(find("from:alice"), ["a"], "an address is its words");
    assert_eq!(find("from:smith"), ["a"]);
    assert_eq!(find("to:alice"), ["c"], "to: is the recipients only");
    assert_eq!(find("alice"), ["c", "a"]);
    assert_eq!(
        find("from:\"corp test\""),
        ["f", "a"],
        "the domain's words are a phrase"
    );
    assert_eq!(find("from:evil"), ["e", "c", "b"]);
    assert_eq!(find("lunch"), ["c"], "an underscore separates words");
    assert_eq!(find("2031"), ["e"], "digits are words");
    assert_eq!(find("invoice -quarterly"), ["e", "d"], "negation");
    assert_eq!(find("-from:evil"), ["f", "d", "a"]);
    assert_eq!(find("invoice -tenant:other"), ["d", "b", "a"]);
    assert_eq!(find("tenant:other"), ["e"]);
    assert_eq!(find("msgid:c@x"), ["c"]);
    assert_eq!(find("status:delivered cafe"), ["d", "c"]);
    assert_eq!(find("status:retracted"), Vec::<String>::new());
    assert_eq!(find("disposition:malicious invoice"), ["e", "d", "b", "a"]);
    assert_eq!(find("nothing-like-this"), Vec::<String>::new());
    assert_eq!(
        find("invoice menu"),
        Vec::<String>::new(),
        "both words, one message"
    );
}
