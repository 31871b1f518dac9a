use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn ok(input: &str) -> Vec<Clause> {
    match parse(input, now()) {
        Ok(q) => q.clauses,
        Err(e) => panic!("{input:?} should parse, got {e}"),
    }
}

fn terms(input: &str) -> Vec<(bool, Term)> {
    ok(input).into_iter().map(|c| (c.negated, c.term)).collect()
}

fn one(input: &str) -> Term {
    let mut clauses = ok(input);
    assert_eq!(clauses.len(), 1, "{input:?}: {clauses:?}");
    clauses.remove(0).term
}

fn err(input: &str) -> QueryError {
    match parse(input, now()) {
        Ok(q) => panic!("{input:?} should fail, got {q:?}"),
        Err(e) => e,
    }
}

fn text(field: TextField, words: &[&str], prefix: bool) -> Term {
    Term::Text {
        field,
        words: words.iter().map(|w| w.to_string()).collect(),
        prefix,
    }
}

/// Asserts the error's column and span, returns its message.
fn err_at(input: &str, column: usize, span: Span) -> String {
    let e = err(input);
    assert_eq!((e.column, e.span.clone()), (column, span), "{input:?}: {e}");
    e.message
}

// ---- terms ----

#[test]
fn query_blank_input_is_the_empty_query() {
    assert_eq!(parse("", now()), Ok(Query::default()));
    assert_eq!(parse(" \t\n\u{3000} ", now()), Ok(Query::default()));
}

#[test]
fn query_free_word_matches_any_text() {
    let clauses = ok("  Invoice ");
    assert_eq!(
        clauses,
        vec![Clause {
            negated: false,
            term: text(TextField::Any, &["invoice"], true),
            span: 2..9,
        }]
    );
}

#[test]
fn query_free_word_with_punctuation_is_a_phrase_of_words() {
    assert_eq!(
        one("alice@Corp.test"),
        text(TextField::Any, &["alice", "corp", "test"], true)
    );
    assert_eq!(
        one("e-mail_2"),
        text(TextField::Any, &["e", "mail", "2"], true)
    );
}

#[test]
fn query_text_fields() {
    assert_eq!(
        one("from:alice@corp.test"),
        text(TextField::From, &["alice", "corp", "test"], true)
    );
    assert_eq!(one("TO:Bob"), text(TextField::To, &["bob"], true));
    assert_eq!(
        one("Subject:\"Wire Transfer\""),
        text(TextField::Subject, &["wire", "transfer"], false)
    );
    // Only the first colon names the field.
    assert_eq!(
        one("subject:Re:Invoice"),
        text(TextField::Subject, &["re", "invoice"], true)
    );
}

#[test]
fn query_message_id_is_normalised_and_verbatim() {
    assert_eq!(one("msgid:abc@x"), Term::MessageId("<abc@x>".into()));
    assert_eq!(
        one("MsgId:<Abc@X.test>"),
        Term::MessageId("<Abc@X.test>".into())
    );
    assert_eq!(one("msgid:<a:b*c@x>"), Term::MessageId("<a:b*c@x>".into()));
    assert_eq!(one("msgid:\" <q@x> \""), Term::MessageId("<q@x>".into()));
}

#[test]
fn query_status_values() {
    for (text, status) in [
        ("delivered", MessageStatus::Delivered),
        ("retracted", MessageStatus::Retracted),
        ("restored", MessageStatus::Restored),
        ("failed", MessageStatus::Failed),
        ("partial", MessageStatus::Partial),
    ] {
        assert_eq!(one(&format!("status:{text}")), Term::Status(status));
    }
    assert_eq!(
        one("STATUS:Retracted"),
        Term::Status(MessageStatus::Retracted)
    );
}

#[test]
fn query_disposition_values_are_lower_cased() {
    for d in DISPOSITIONS {
        assert_eq!(
            one(&format!("disposition:{d}")),
            Term::Disposition(d.into())
        );
    }
    assert_eq!(one("disposition:SPAM"), Term::Disposition("spam".into()));
    assert_eq!(
        one("disposition:\"Malicious\""),
        Term::Disposition("malicious".into())
    );
}

#[test]
fn query_tenant_keeps_case() {
    assert_eq!(one("tenant:Acme"), Term::Tenant("Acme".into()));
    assert_eq!(
        one("tenant:\"Acme Corp\""),
        Term::Tenant("Acme Corp".into())
    );
}

#[test]
fn query_since_and_until() {
    assert_eq!(one("since:3d"), Term::Since(now() - Duration::days(3)));
    assert_eq!(one("until:90m"), Term::Until(now() - Duration::minutes(90)));
    let date = Utc
        .with_ymd_and_hms(2026, 11, 20, 0, 0, 0)
        .single()
        .unwrap_or_default();
    assert_eq!(one("until:2026-11-20"), Term::Until(date));
    let instant = Utc
        .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
        .single()
        .unwrap_or_default();
    assert_eq!(one("Since:2026-11-20T10:00:00+01:00"), Term::Since(instant));
}

#[test]
fn query_negation() {
    assert_eq!(
        terms("-from:alice -\"quarterly report\" -invoice"),
        vec![
            (true, text(TextField::From, &["alice"], true)),
            (true, text(TextField::Any, &["quarterly", "report"], false)),
            (true, text(TextField::Any, &["invoice"], true)),
        ]
    );
    assert_eq!(ok("-status:retracted")[0].span, 0..17);
}

#[test]
fn query_quoted_phrases() {
    assert_eq!(
        one("\"wire  transfer\""),
        text(TextField::Any, &["wire", "transfer"], false)
    );
    // Inside quotes `*`, `-` and `:` are just text.
    assert_eq!(one("\"invoi*\""), text(TextField::Any, &["invoi"], false));
    assert_eq!(
        one("\"http://x.test -y\""),
        text(TextField::Any, &["http", "x", "test", "y"], false)
    );
}

#[test]
fn query_prefix() {
    // Unquoted words are prefixes as typed; quotes ask for whole words.
    assert_eq!(one("docu"), text(TextField::Any, &["docu"], true));
    assert_eq!(one("\"docu\""), text(TextField::Any, &["docu"], false));
    assert_eq!(one("東京"), text(TextField::Any, &["東京"], true));
    assert_eq!(one("invoi*"), text(TextField::Any, &["invoi"], true));
    assert_eq!(one("from:ali*"), text(TextField::From, &["ali"], true));
    assert_eq!(
        one("from:alice@corp*"),
        text(TextField::From, &["alice", "corp"], true)
    );
    assert_eq!(
        one("\"wire tran\"*"),
        text(TextField::Any, &["wire", "tran"], true)
    );
    assert_eq!(ok("-\"wire tran\"* x")[0].span, 0..13);
}

#[test]
fn query_unicode_words() {
    assert_eq!(
        one("Überweisung"),
        text(TextField::Any, &["überweisung"], true)
    );
    assert_eq!(one("請求書"), text(TextField::Any, &["請求書"], true));
    // A decomposed umlaut stays inside its word.
    assert_eq!(
        one("subject:U\u{308}bung"),
        text(TextField::Subject, &["u\u{308}bung"], true)
    );
    // Control characters separate words like punctuation does.
    assert_eq!(
        one("a\u{1b}[2Jb"),
        text(TextField::Any, &["a", "2jb"], true)
    );
}

#[test]
fn query_mixed() {
    let input = "from:evil.example -status:retracted \"wire transfer\" since:3d";
    assert_eq!(
        ok(input),
        vec![
            Clause {
                negated: false,
                term: text(TextField::From, &["evil", "example"], true),
                span: 0..17,
            },
            Clause {
                negated: true,
                term: Term::Status(MessageStatus::Retracted),
                span: 18..35,
            },
            Clause {
                negated: false,
                term: text(TextField::Any, &["wire", "transfer"], false),
                span: 36..51,
            },
            Clause {
                negated: false,
                term: Term::Since(now() - Duration::days(3)),
                span: 52..60,
            },
        ]
    );
}

// ---- errors ----

#[test]
fn query_error_unterminated_quote() {
    let msg = err_at("subject:\"wire", 9, 8..13);
    assert!(msg.contains("unterminated quote"), "{msg}");
    // Columns count characters: "Über " is 5 characters but 6 bytes.
    err_at("Über \"x", 6, 6..8);
    err_at("\"", 1, 0..1);
}

#[test]
fn query_error_unknown_field() {
    assert_eq!(
        err_at("frm:x", 1, 0..3),
        "unknown field 'frm': expected one of from, to, subject, msgid, status, disposition, \
         tenant, since, until"
    );
    // Any unquoted colon starts a field, even in URL-like text.
    let msg = err_at("invoice http://x", 9, 8..12);
    assert!(msg.starts_with("unknown field 'http'"), "{msg}");
    err_at("請求書 frm:x", 5, 10..13);
    // Control characters in the name are escaped in the message.
    let msg = err_at("a\u{1b}b:x", 1, 0..3);
    assert!(msg.starts_with("unknown field 'a\\x1bb'"), "{msg}");
}

#[test]
fn query_error_missing_field_name() {
    let msg = err_at(":::", 1, 0..1);
    assert!(msg.starts_with("missing field name before ':'"), "{msg}");
    err_at("x :\"y\"", 3, 2..3);
}

#[test]
fn query_error_empty_value() {
    assert_eq!(err_at("from:", 1, 0..5), "missing value after 'from:'");
    assert_eq!(err_at("a -To: b", 4, 3..6), "missing value after 'to:'");
    assert_eq!(
        err_at("subject:\"  \"", 1, 0..12),
        "missing value after 'subject:'"
    );
    assert_eq!(
        err_at("x \"\"", 3, 2..4),
        "empty quotes: put words between them"
    );
    assert_eq!(err_at("msgid:<>", 1, 0..8), "missing value after 'msgid:'");
    assert_eq!(
        err_at("-msgid:\"< >\"", 2, 1..12),
        "missing value after 'msgid:'"
    );
}

#[test]
fn query_error_no_searchable_characters() {
    assert_eq!(
        err_at("a ...", 3, 2..5),
        "... has no letters or digits to search for"
    );
    assert_eq!(
        err_at("from:\"@.\"", 6, 5..9),
        "\"@.\" has no letters or digits to search for"
    );
    err_at("🦀", 1, 0..4);
}

#[test]
fn query_error_bad_status_and_disposition() {
    assert_eq!(
        err_at("status:bogus", 8, 7..12),
        "unknown status 'bogus': expected one of delivered, retracted, restored, failed, partial"
    );
    assert_eq!(
        err_at("x disposition:phish", 15, 14..19),
        "unknown disposition 'phish': expected one of clean, bulk, spam, suspicious, \
         malicious, spoof"
    );
}

#[test]
fn query_error_bad_time() {
    let msg = err_at("since:soon", 7, 6..10);
    assert!(msg.starts_with("since: bad time 'soon'"), "{msg}");
    let msg = err_at("until:3y", 7, 6..8);
    assert!(msg.starts_with("until: ") && msg.contains("unit"), "{msg}");
    err_at("since:99999999999999999999999d", 7, 6..30);
}

#[test]
fn query_error_lone_or_double_minus() {
    let msg = err_at("a - b", 3, 2..3);
    assert!(msg.starts_with("'-' must be followed by the term"), "{msg}");
    err_at("x -", 3, 2..3);
    let msg = err_at("--x", 2, 1..2);
    assert!(msg.contains("negated only once"), "{msg}");
}

#[test]
fn query_error_misplaced_star() {
    let msg = err_at("in*voice", 3, 2..3);
    assert!(
        msg.starts_with("'*' is allowed only at the end of a word"),
        "{msg}"
    );
    err_at("invoi**", 6, 5..6);
    let msg = err_at("*", 1, 0..1);
    assert_eq!(msg, "'*' must directly follow a letter or digit");
    err_at("from:alice@*", 12, 11..12);
    err_at("\"wire \"*", 8, 7..8);
    let msg = err_at("status:deliv*", 13, 12..13);
    assert!(msg.contains("not on status:"), "{msg}");
    err_at("Über:ü*", 1, 0..5);
}

#[test]
fn query_error_stray_quotes() {
    let msg = err_at("ab\"c\"", 3, 2..3);
    assert!(msg.starts_with("unexpected '\"' inside a word"), "{msg}");
    assert_eq!(
        err_at("\"a\"b", 4, 3..4),
        "expected a space after the closing quote"
    );
    err_at("\"a\"*ü", 5, 4..6);
    err_at("\"a\"\"b\"", 4, 3..4);
}

#[test]
fn query_error_render_marks_the_span() {
    let input = "frm:x";
    let e = err(input);
    assert_eq!(
        e.render(input),
        format!("query error at column 1: {}\n  frm:x\n  ^^^", e.message)
    );
    // Wide characters take two cells; control characters are echoed as '?'.
    let input = "請求書\u{1b} frm:x";
    let e = err(input);
    let rendered = e.render(input);
    let lines: Vec<&str> = rendered.lines().collect();
    assert_eq!(lines[1..], ["  請求書? frm:x", "          ^^^"]);
}

// ---- robustness ----

/// Checks the invariants of one result; returns whether it parsed.
fn check_no_panic(input: &str) -> bool {
    let len = input.len();
    match parse(input, now()) {
        Ok(q) => {
            for c in &q.clauses {
                assert!(
                    c.span.start < c.span.end && c.span.end <= len,
                    "{input:?} {c:?}"
                );
                assert!(input.is_char_boundary(c.span.start), "{input:?} {c:?}");
                assert!(input.is_char_boundary(c.span.end), "{input:?} {c:?}");
                if let Term::Text { words, .. } = &c.term {
                    assert!(!words.is_empty(), "{input:?} {c:?}");
                    assert!(words.iter().all(|w| !w.is_empty()), "{input:?} {c:?}");
                }
            }
            true
        }
        Err(e) => {
            assert!(
                e.span.start <= e.span.end && e.span.end <= len,
                "{input:?} {e:?}"
            );
            assert!(input.is_char_boundary(e.span.start), "{input:?} {e:?}");
            assert!(input.is_char_boundary(e.span.end), "{input:?} {e:?}");
            let column = input[..e.span.start].chars().count() + 1;
            assert_eq!(e.column, column, "{input:?} {e:?}");
            assert!(!e.message.is_empty(), "{input:?}");
            assert!(!e.message.chars().any(char::is_control), "{input:?} {e:?}");
            assert!(e.render(input).contains('^'), "{input:?} {e:?}");
            false
        }
    }
}

#[test]
fn query_adversarial_inputs_never_panic() {
    for input in [
        "\"",
        "\"\"",
        "\"\"\"",
        "-",
        "--",
        "---",
        "- -",
        "-\"",
        "*",
        "**",
        "-*",
        ":",
        ":::",
        "::x",
        "x:",
        "x::",
        "from:\"",
        "from:\"\"*",
        "\"*",
        "\"a\"*\"",
        "\0",
        "\u{1b}[2J",
        "\u{202e}",
        "a\u{0}b:c",
        "Ü:",
        "Ü\"",
        "請\"求",
        "\u{308}",
        "\u{308}*",
        "since:",
        "since:-1d",
        "since:9223372036854775807w",
        "until:\"\"",
        "msgid:",
        "msgid:*",
        "msgid:\"\"",
        "status:*",
        "tenant:*",
        "-from:",
        "from:-",
        "from:\u{308}",
        "\u{feff}x",
        "\u{3000}-\u{3000}",
        "a\r\nb\tc",
        "🦀*",
        "x🦀*",
    ] {
        check_no_panic(input);
    }
}

#[test]
fn query_random_inputs_never_panic() {
    const PIECES: [&str; 36] = [
        "\"",
        "-",
        "*",
        ":",
        " ",
        "\t",
        "\n",
        "\0",
        "\u{1b}",
        "\u{7f}",
        "\u{9b}",
        "\u{202e}",
        "Ü",
        "ß",
        "İ",
        "請求書",
        "🦀",
        "\u{308}",
        "\u{3000}",
        "a",
        "Z",
        "7",
        "@",
        ".",
        "<",
        ">",
        "from:",
        "status:",
        "since:",
        "msgid:",
        "disposition:",
        "tenant:",
        "3d",
        "spam",
        "2026-11-20",
        "\\",
    ];
    // xorshift64: deterministic, so a failure reproduces; no extra dependency needed.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut parsed, mut failed) = (0, 0);
    for _ in 0..20_000 {
        let len = next() % 12;
        let input: String = (0..len)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        if check_no_panic(&input) {
            parsed += 1;
        } else {
            failed += 1;
        }
    }
    // Both paths must be exercised, or the test proves little.
    assert!(
        parsed > 1_000 && failed > 1_000,
        "{parsed} parsed, {failed} failed"
    );
}

// ---- bounds ----

#[test]
fn a_huge_query_fails_fast_at_a_position_without_being_repeated() {
    let input = vec!["word"; 50_000].join(" ");
    let started = std::time::Instant::now();
    let e = err(&input);
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_millis(200),
        "took {took:?}"
    );
    assert!(e.message.contains("too long"), "{e:?}");
    assert!(e.span.start <= crate::query::MAX_QUERY_BYTES, "{e:?}");
    let rendered = e.render(&input);
    assert!(rendered.len() < 400, "{} bytes: {rendered}", rendered.len());
    assert!(
        rendered.contains('…') && rendered.contains('^'),
        "{rendered}"
    );
}

#[test]
fn too_many_terms_is_an_error_at_the_first_extra_term() {
    let ok: Vec<String> = (0..crate::query::MAX_CLAUSES)
        .map(|n| format!("w{n}"))
        .collect();
    assert!(parse(&ok.join(" "), now()).is_ok());
    let many: Vec<String> = (0..500).map(|n| format!("w{n}")).collect();
    let input = many.join(" ");
    let e = err(&input);
    assert!(
        e.message.contains("too many terms") && e.message.contains("500"),
        "{e:?}"
    );
    let first_extra = input.find("w64").unwrap_or(usize::MAX);
    assert_eq!(e.span.start, first_extra, "{e:?}");
    let rendered = e.render(&input);
    assert!(
        !rendered.contains("w0 "),
        "the start of the query is not repeated: {rendered}"
    );
    assert!(
        rendered.lines().nth(1).is_some_and(|l| l.contains("w64")),
        "{rendered}"
    );
}

#[test]
fn long_values_are_quoted_as_an_excerpt() {
    let value = "x".repeat(3000);
    let input = format!("status:{value}");
    let e = err(&input);
    assert!(e.message.len() < 200, "{}", e.message);
    assert!(e.message.contains('…'), "{}", e.message);
}
