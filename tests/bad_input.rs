//! Bad input of every kind: the documented exit code, a message that names the problem and
//! where it is, and nothing half-written.

mod common;

use std::fs;

use common::*;

const PHISH: &str = "<phish-9@bad.example>";

/// alice and bob got a phish, logged; a quarantine mailbox exists.
fn world(extra: &str) -> World {
    let w = World::new(extra);
    w.make_mailboxes(&["alice", "bob", "quarantine"]);
    let text = message(
        PHISH,
        "hr@bad.example",
        &["alice@corp.test", "bob@corp.test"],
        "Bonus",
        None,
    );
    w.deliver("alice", "", "1.M1.host", &text, false, 1_795_000_000);
    w.deliver("bob", "", "2.M1.host", &text, true, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(
        PHISH,
        "hr@bad.example",
        &["alice@corp.test", "bob@corp.test"],
        "Bonus",
        None,
    )]);
    assert_eq!(out.status.code(), Some(0), "ingest: {}", stderr(&out));
    w
}

#[test]
fn malformed_queries_exit_2_naming_the_column() {
    let w = world("");
    // (query, column the error must name, a word of the explanation)
    let cases = [
        ("from:", 1, "from"),
        ("frm:x", 1, "frm"),
        ("\"unterminated", 1, "quote"),
        ("bonus subject:\"half", 15, "quote"),
    ];
    for (query, column, word) in cases {
        let out = w.run(&["search", query]);
        assert_eq!(out.status.code(), Some(2), "{query}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("column {column}")), "{query}: {err}");
        assert!(err.contains(word), "{query}: {err}");
        assert!(
            stdout(&out).is_empty(),
            "{query}: no results table on error: {}",
            stdout(&out)
        );

        let (code, v) = w.json_err(&["search", query]);
        assert_eq!(code, 2);
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("column {column}")),
            "{query}: {v}"
        );
        assert!(message.contains(word), "{query}: {v}");
    }
    // A good query still works afterwards.
    let (code, v) = w.json(&["search", "subject:bonus"]);
    assert_eq!(code, 0);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(1), "{v}");
}

#[test]
fn query_error_caret_is_on_its_own_line() {
    let w = world("");
    let out = w.run(&["search", "frm:x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    // The caret diagram: the query on one line, carets under the bad part on the next.
    let lines: Vec<&str> = err.lines().collect();
    let q = lines
        .iter()
        .position(|l| l.trim() == "frm:x")
        .unwrap_or_else(|| panic!("query line in {err:?}"));
    let caret = lines.get(q + 1).copied().unwrap_or_default();
    assert_eq!(caret.trim(), "^^^", "{err:?}");
    assert_eq!(caret.find('^'), lines[q].find('f'), "{err:?}");
}

#[test]
fn jsonl_with_bad_lines_loads_the_good_ones_and_names_each_bad_line() {
    let w = World::new("");
    let good = |id: &str| log_line(id, "x@bad.example", &["alice@corp.test"], "Hello", None);
    let lines = vec![
        good("<good-1@x>"),
        "this is not json".to_string(),
        r#"{"message_id":"<no-date@x>","from":"x@bad.example","to":["alice@corp.test"]}"#.to_string(),
        good("<good-2@x>"),
        r#"{"message_id":"<no-rcpt@x>","from":"x@bad.example","to":[],"received_at":"2026-11-20T10:00:00Z"}"#.to_string(),
        r#"{"message_id":"<bad-tenant@x>","from":"x@bad.example","to":["alice@corp.test"],"received_at":"2026-11-20T10:00:00Z","tenant":"nope"}"#.to_string(),
        good("<good-3@x>"),
    ];
    let out = w.ingest_lines(&lines);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for (line, why) in [(2, ""), (3, "received_at"), (5, "\"to\""), (6, "nope")] {
        let reported = err
            .lines()
            .find(|l| l.contains(&format!("log.jsonl:{line}:")))
            .unwrap_or_else(|| panic!("line {line} not reported: {err}"));
        assert!(reported.contains(why), "line {line}: {reported}");
    }
    for ok_line in [1, 4, 7] {
        assert!(
            !err.contains(&format!("log.jsonl:{ok_line}:")),
            "good line {ok_line} reported: {err}"
        );
    }
    let (_, v) = w.json(&["search", "--limit", "100"]);
    let mut ids: Vec<&str> = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["<good-1@x>", "<good-2@x>", "<good-3@x>"]);

    // The same with --json: the report is JSON, still exit 3; re-loading merges, inserts nothing.
    let file = w.path().join("log.jsonl");
    let (code, v) = w.json(&["ingest", "--format", "jsonl", file.to_str().expect("utf-8")]);
    assert_eq!(code, 3, "{v}");
    let rejected: Vec<u64> = v["ingest"]["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert_eq!(rejected, vec![2, 3, 5, 6], "{v}");
    assert_eq!(v["ingest"]["records"], 7);
    assert_eq!(v["ingest"]["inserted"], 0);
    assert_eq!(v["ingest"]["merged"], 3);
}

/// Write `text` as the config of a fresh dir and run `search` on it.
fn run_with_config(
    text: &str,
) -> (
    std::process::Output,
    std::process::Output,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    fs::write(&config, text).expect("config");
    let plain = retractor(Some(&config), dir.path(), &["search"]);
    let json = retractor(Some(&config), dir.path(), &["--json", "search"]);
    (plain, json, dir)
}

#[test]
fn config_errors_name_the_key_table_and_line() {
    let base = "[store]\npath = \"r.db\"\n\n";
    // (config, what the message must name: key or value, table, line)
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("{base}[acces]\ndefault_role = \"viewer\"\n"),
            vec!["acces", "line 4"],
        ),
        (format!("{base}[store2]\n"), vec!["store2", "line 4"]),
        (
            "[store]\npth = \"x.db\"\n".to_string(),
            vec!["pth", "line 2"],
        ),
        (
            format!("{base}[access]\ndefault_role = \"analyst\"\nroles = {{ bob = \"god\" }}\n"),
            vec!["god", "line 6"],
        ),
        (
            format!("{base}[access]\ndefault_role = \"superuser\"\n"),
            vec!["superuser", "line 5"],
        ),
        (
            format!(
                "{base}[tenants.corp]\nkind = \"maildir\"\nroot = \"mail\"\nquarantine_mailbx = \"q@corp.test\"\n"
            ),
            vec!["quarantine_mailbx", "[tenants.corp]", "line 7"],
        ),
        (
            format!("{base}[tenants.x]\nkind = \"pop3\"\nroot = \"m\"\n"),
            vec!["pop3", "[tenants.x]", "kind", "line 5"],
        ),
        (
            format!(
                "{base}[tenants.corp]\nkind = \"maildir\"\nroot = \"mail\"\ndomains = [\"corp.test\"]\n[tenants.corp.folders]\njunk = \"INBOX\"\n"
            ),
            vec!["[tenants.corp]", "folders.junk", "INBOX"],
        ),
        (
            format!(
                "{base}[tenants.corp]\nkind = \"maildir\"\nroot = \"mail\"\nfolders = {{ hold = \"../../../tmp/x\" }}\n"
            ),
            vec!["[tenants.corp]", "folders.hold", "'..'"],
        ),
        (
            format!(
                "{base}[tenants.a]\nkind = \"maildir\"\nroot = \"mail\"\ndomains = [\"corp.test\"]\n[tenants.b]\nkind = \"maildir\"\nroot = \"mail2\"\ndomains = [\"corp.test\"]\n"
            ),
            vec!["corp.test", "[tenants.a]", "[tenants.b]"],
        ),
    ];
    for (text, wanted) in cases {
        let (plain, json, dir) = run_with_config(&text);
        assert_eq!(plain.status.code(), Some(2), "{text}\n{}", stderr(&plain));
        let err = stderr(&plain);
        assert!(err.contains("config.toml"), "names the file: {err}");
        for w in &wanted {
            assert!(err.contains(w), "{w:?} not in: {err}\nconfig:\n{text}");
        }
        let (code, v) = json_error(&json);
        assert_eq!(code, 2);
        for w in &wanted {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(w),
                "{w:?} not in {v}"
            );
        }
        // A bad config creates nothing next to it.
        assert!(
            !dir.path().join("r.db").exists(),
            "store created despite a bad config"
        );
    }
}

#[test]
fn missing_config_exits_2_with_a_hint_about_the_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere/config.toml");
    let out = retractor(Some(&missing), dir.path(), &["search"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("nowhere/config.toml"), "{err}");
    assert!(err.contains("retractor demo"), "{err}");
    // Without --config: the XDG default, which does not exist either.
    let out = retractor(None, dir.path(), &["--json", "jobs"]);
    let (code, v) = json_error(&out);
    assert_eq!(code, 2);
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("xdg-config/retractor/config.toml") && msg.contains("retractor demo"),
        "{v}"
    );
    assert!(!missing.exists());
}

#[test]
fn unknown_tenants_exit_2_and_load_nothing() {
    let w = world("");
    let before = w.state();
    let file = w.path().join("other.jsonl");
    fs::write(
        &file,
        log_line(
            "<new@x>",
            "a@bad.example",
            &["alice@corp.test"],
            "New",
            None,
        ),
    )
    .expect("write");
    let out = w.run(&[
        "ingest",
        "--format",
        "jsonl",
        file.to_str().expect("utf-8"),
        "--tenant",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("nope") && stderr(&out).contains("corp"),
        "names it and the known ones: {}",
        stderr(&out)
    );

    let out = w.run(&[
        "sweep",
        "--tenant",
        "nope",
        "--from",
        "hr@bad.example",
        "--action",
        "trash",
        "--yes",
        "--wait",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--tenant nope"), "{}", stderr(&out));

    let out = w.run(&["index", "--tenant", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));

    let out = w.run(&["check", "--tenant", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));

    // A record naming an unknown tenant: that line is skipped (exit 3), the others load.
    let out = w.ingest_lines(&[
        serde_json::json!({"message_id": "<t1@x>", "from": "a@bad.example", "to": ["alice@corp.test"],
            "received_at": "2026-11-20T10:00:00Z", "tenant": "nope"})
        .to_string(),
        log_line("<t2@x>", "a@bad.example", &["alice@corp.test"], "Fine", None),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains(":1:") && stderr(&out).contains("unknown tenant 'nope'"),
        "{}",
        stderr(&out)
    );
    let (_, v) = w.json(&["search", "msgid:t1@x"]);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(0), "{v}");
    let (_, v) = w.json(&["search", "msgid:t2@x"]);
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(1), "{v}");

    assert_eq!(w.state(), before, "nothing moved, no job, no audit record");
}

#[test]
fn unknown_and_ambiguous_refs_exit_2() {
    let w = world(
        "\n[tenants.other]\nkind = \"maildir\"\nroot = \"mail2\"\ndomains = [\"other.test\"]\n",
    );
    fs::create_dir_all(w.path().join("mail2/other.test")).expect("mail2");
    let before = w.state();

    for args in [
        vec!["show", "<nobody@nowhere>"],
        vec![
            "retract",
            "nobody@nowhere",
            "--action",
            "trash",
            "--yes",
            "--wait",
        ],
        vec!["restore", "<nobody@nowhere>", "--yes"],
        vec!["show", "999999"],
    ] {
        let out = w.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no logged message matches REF"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(args[1]),
            "names the REF: {}",
            stderr(&out)
        );
    }

    // The same Message-ID logged under a second tenant.
    let file = w.path().join("other.jsonl");
    fs::write(
        &file,
        serde_json::json!({"message_id": PHISH, "from": "hr@bad.example", "to": ["zed@other.test"],
            "received_at": "2026-11-20T11:00:00Z", "tenant": "other"})
        .to_string(),
    )
    .expect("write");
    let out = w.run(&["ingest", "--format", "jsonl", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (_, found) = w.json(&["search", &format!("msgid:{PHISH}")]);
    let mut logged: Vec<(i64, String)> = found["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["id"].as_i64().unwrap_or(-1),
                m["tenant"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    logged.sort();
    assert_eq!(logged.len(), 2, "{found}");
    assert_eq!(
        logged.iter().map(|l| l.1.as_str()).collect::<Vec<_>>(),
        vec!["corp", "other"]
    );

    for args in [
        vec!["show", PHISH],
        vec!["retract", PHISH, "--action", "trash", "--yes", "--wait"],
    ] {
        let (code, v) = w.json_err(&args);
        assert_eq!(code, 2, "{args:?}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        for (id, tenant) in &logged {
            assert!(
                msg.contains(&format!("{id} (tenant {tenant})")),
                "lists log id {id}: {msg}"
            );
        }
    }
    // A log id picks one.
    let (code, shown) = w.json(&["show", &logged[1].0.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(shown["tenant"], "other");

    assert_eq!(w.state(), before, "nothing moved, no job, no audit record");
}

#[test]
fn unknown_action_and_non_recipient_exit_2_and_change_nothing() {
    let w = world("");
    let before = w.state();
    let (code, v) = w.json_err(&["retract", PHISH, "--action", "nuke", "--yes", "--wait"]);
    assert_eq!(code, 2);
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("--action nuke") && msg.contains("move-to-junk"),
        "{v}"
    );

    let (code, _) = w.json_err(&["retract", PHISH, "--action", "restore", "--yes", "--wait"]);
    assert_eq!(code, 2, "restore is not a retract action");

    let (code, _) = w.json_err(&[
        "sweep",
        "--tenant",
        "corp",
        "--from",
        "hr@bad.example",
        "--action",
        "delete",
        "--yes",
    ]);
    assert_eq!(code, 2);

    let (code, v) = w.json_err(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--recipient",
        "carol@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 2);
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("carol@corp.test") && msg.contains("not a recipient"),
        "{v}"
    );
    assert!(
        msg.contains("alice@corp.test"),
        "lists the real recipients: {v}"
    );

    // One good and one bad recipient: the whole request is refused, not half done.
    let (code, _) = w.json_err(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--recipient",
        "alice@corp.test",
        "--recipient",
        "zed@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 2);
    assert_eq!(w.state(), before, "nothing moved, no job, no audit record");
}

#[test]
fn foreign_files_in_the_tree_are_named_by_check_and_ignored_by_retract() {
    let w = world("");
    fs::write(w.mailbox("alice").join("notes.txt"), "my notes\n").expect("notes");
    fs::create_dir_all(w.path().join("mail/corp.test/random-dir/sub")).expect("random dir");
    fs::write(
        w.path().join("mail/corp.test/random-dir/sub/x.bin"),
        [0u8, 1, 2],
    )
    .expect("junk");

    let (code, v) = w.json(&["check"]);
    assert_eq!(code, 0, "{v}");
    let corp = v["tenants"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "corp").cloned())
        .expect("corp");
    assert_eq!(corp["ok"], true, "{corp}");
    let detail = corp["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("alice/notes.txt"), "{detail}");
    assert!(detail.contains("random-dir"), "{detail}");
    let out = w.run(&["check", "--tenant", "corp"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("notes.txt") && stdout(&out).contains("random-dir"),
        "{}",
        stdout(&out)
    );

    let (code, job) = w.json(&["retract", PHISH, "--action", "trash", "--yes", "--wait"]);
    assert_eq!(code, 0, "{job}");
    assert_eq!(job["job"]["remediated"], 2, "{job}");
    assert!(w.mailbox("alice").join(".Trash/new/1.M1.host").exists());
    assert!(w.mailbox("bob").join(".Trash/cur/2.M1.host:2,S").exists());
    assert_eq!(
        fs::read_to_string(w.mailbox("alice").join("notes.txt")).expect("notes"),
        "my notes\n"
    );
    assert!(
        w.path()
            .join("mail/corp.test/random-dir/sub/x.bin")
            .exists()
    );
    // The random dir was not taken for a mailbox.
    let (_, plan) = w.json(&[
        "sweep",
        "--tenant",
        "corp",
        "--from",
        "hr@bad.example",
        "--action",
        "trash",
        "--dry-run",
    ]);
    let mailboxes: Vec<&str> = plan["plan"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["mailbox"].as_str())
        .collect();
    assert!(!mailboxes.iter().any(|m| m.contains("random")), "{plan}");
}

#[test]
fn changing_mailboxes_without_yes_on_a_non_terminal_is_refused() {
    let w = world("");
    let (code, done) = w.json(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--recipient",
        "bob@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{done}");
    let before = w.state();
    let cases: Vec<Vec<&str>> = vec![
        vec!["retract", PHISH, "--action", "move-to-junk"],
        vec!["retract", PHISH, "--action", "hard-delete", "--wait"],
        vec!["restore", PHISH],
        vec!["restore", "--job", "1", "--wait"],
        vec![
            "sweep",
            "--tenant",
            "corp",
            "--from",
            "hr@bad.example",
            "--action",
            "trash",
        ],
    ];
    for args in cases {
        let out = w.run(&args);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--yes"), "{args:?}: {}", stderr(&out));
        let (code, v) = w.json_err(&args);
        assert_eq!(code, 4, "{v}");
        assert_eq!(w.state(), before, "{args:?} changed something");
    }
}

#[test]
fn an_exclude_that_is_not_a_recipient_exits_2_and_changes_nothing() {
    let w = world("");
    let before = w.state();
    // A typo in --exclude would otherwise pull the very copy the caller meant to spare.
    let (code, v) = w.json_err(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--exclude",
        "bbo@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 2, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("--exclude bbo@corp.test") && msg.contains("not a recipient"),
        "{v}"
    );
    assert!(
        msg.contains("bob@corp.test"),
        "lists the real recipients: {v}"
    );
    let (code, _) = w.json_err(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--exclude",
        "bob@corp.test",
        "--exclude",
        "nobody@corp.test",
        "--dry-run",
    ]);
    assert_eq!(code, 2, "one good and one bad: refused whole");
    assert_eq!(w.state(), before, "nothing moved, no job, no audit record");
    // A real recipient is spared.
    let (code, job) = w.json(&[
        "retract",
        PHISH,
        "--action",
        "trash",
        "--exclude",
        "BOB@corp.test",
        "--yes",
        "--wait",
    ]);
    assert_eq!(code, 0, "{job}");
    let items = job["job"]["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{job}");
    assert_eq!(items[0]["mailbox"], "alice@corp.test");
    assert!(w.mailbox("bob").join("cur/2.M1.host:2,S").exists());
}

#[test]
fn a_huge_query_is_a_positioned_error_that_fails_fast_and_is_not_echoed_whole() {
    let w = World::new("");
    // 50,000 words as separate arguments (one argument is limited to 128 KiB by the kernel).
    let words: Vec<String> = (0..50_000).map(|n| format!("w{n}")).collect();
    let mut args = vec!["search"];
    args.extend(words.iter().map(String::as_str));
    let started = std::time::Instant::now();
    let (code, v) = w.json_err(&args);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, 2, "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("column") && message.contains("too long"),
        "{message}"
    );
    assert!(message.len() < 600, "{} bytes echoed", message.len());
    // Many short terms within the length limit: too many terms, still exit 2.
    let few: Vec<String> = (0..300).map(|n| format!("t{n}")).collect();
    let (code, v) = w.json_err(&["search", &few.join(" ")]);
    assert_eq!(code, 2, "{v}");
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("too many terms"), "{message}");
    assert!(!message.contains("t0 t1"), "{message}");
}

#[test]
fn a_malformed_since_says_what_is_accepted_and_what_was_wrong() {
    let w = World::new("");
    for (when, why) in [
        ("99999999999999999999d", "overflow"),
        ("99999999999d", "overflow"),
        ("2026-11-31", "not a valid date"),
        ("2026-11-20 10:00", "not a valid date"),
    ] {
        let (code, v) = w.json_err(&["audit", "--since", when]);
        assert_eq!(code, 2, "{v}");
        let message = v["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("--since")
                && message.contains(why)
                && message.contains("RFC 3339")
                && message.contains("3d"),
            "{when}: {message}"
        );
    }
}

#[test]
fn a_name_too_long_for_the_filesystem_fails_at_once_instead_of_being_retried() {
    // The recipient's quarantine folder name (`.Quarantine.<address>`) is longer than the
    // filesystem allows, though the mailbox directory itself fits.
    let w = World::new("");
    let user = "l".repeat(240);
    let address = format!("{user}@corp.test");
    w.make_mailboxes(&[&user, "quarantine"]);
    let id = "<long-name-1@bad.example>";
    let text = message(id, "x@bad.example", &[&address], "Long", None);
    w.deliver(&user, "", "1.M1.host", &text, false, 1_795_000_000);
    let out = w.ingest_lines(&[log_line(id, "x@bad.example", &[&address], "Long", None)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, v) = w.json(&["retract", id, "--action", "quarantine", "--yes", "--wait"]);
    assert_ne!(code, 0, "{v}");
    let (_, job) = w.json(&["jobs", "1"]);
    let items = job["job"]["items"].as_array().cloned().unwrap_or_default();
    let item = items
        .iter()
        .find(|i| i["mailbox"] == address.as_str())
        .unwrap_or_else(|| panic!("no item for the long address: {job}"));
    assert_eq!(item["result"], "failed", "{item}");
    assert_eq!(item["attempts"], 1, "retried as if transient: {item}");
    assert!(
        item["error"]
            .as_str()
            .unwrap_or_default()
            .contains("too long"),
        "{item}"
    );
}
