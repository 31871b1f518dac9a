//! The fixtures are in tests/fixtures/forensics (written for the tests by make.py there);
//! expected hashes are sha256sum's of the bytes make.py put in them.

use super::*;

const PHISH: &[u8] = include_bytes!("../../tests/fixtures/forensics/phish.eml");
const NEWSLETTER: &[u8] = include_bytes!("../../tests/fixtures/forensics/newsletter.eml");
const LOOKALIKE: &[u8] = include_bytes!("../../tests/fixtures/forensics/lookalike.eml");

const EXE_SHA: &str = "9391274a45aba3235700c29c4da549884dd3d227b11cf35cd39a8914d27fc8e2";
const README_SHA: &str = "80c9776618a826ce2c19efa5365819c497d2ed1192f22d5fe2e156691a5eb170";
const STATEMENT_SHA: &str = "7b7fa60ab1181d5b1a4a4bd01c29f25cd8a51ff35a80df3e9ec56c1dcd5d6e89";
const INNER_SHA: &str = "f999a1749e7df2ed0e54aa3b0eaaed87060c58e32f2a82494588c386f8d560a0";
const ZIP_SHA: &str = "2b5658c37b9d3b8a08d655d1962b1575d9de4ed0b38d38a4b6c0f6e777f72175";

fn at(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(s.parse().unwrap())
}

#[test]
fn the_route_runs_from_origin_to_our_last_hop_with_delays() {
    let e = extract(PHISH);
    let route: Vec<_> = e
        .route
        .iter()
        .map(|h| {
            (
                h.from.as_str(),
                h.by.as_str(),
                h.address.as_str(),
                h.at,
                h.delay_secs,
            )
        })
        .collect();
    assert_eq!(
        route,
        vec![
            (
                "192.168.1.20",
                "mail-out.evil-bank.example",
                "198.51.100.23",
                at("2026-12-01T09:59:58Z"),
                None
            ),
            (
                "mail-out.evil-bank.example",
                "mx.corp.test",
                "203.0.113.7",
                at("2026-12-01T10:00:05Z"),
                Some(7)
            ),
            (
                "mx.corp.test",
                "mail.corp.test",
                "10.0.0.5",
                at("2026-12-01T10:00:07Z"),
                Some(2)
            ),
        ]
    );
    assert_eq!(e.route[1].reverse_dns, "mail-out.evil-bank.example");
    assert_eq!(e.route[0].reverse_dns, "", "`unknown` is no reverse name");
    assert_eq!(e.route[1].with, "ESMTPS");
}

#[test]
fn verdicts_are_the_topmost_fields_never_a_forged_lower_one() {
    let a = extract(PHISH).auth;
    assert_eq!(a.authserv_id, "mx.corp.test");
    assert_eq!(a.spf.as_deref(), Some("pass"));
    assert_eq!(a.dkim.as_deref(), Some("fail"));
    assert_eq!(a.dmarc.as_deref(), Some("fail"));
    assert_eq!(a.arc.as_deref(), Some("none"));
    assert_eq!(a.results[1].method, "dkim");
    assert!(
        a.results[1]
            .properties
            .contains(&"header.d=evil-bank.example".to_string())
    );
    assert_eq!(a.arc_chain.len(), 1);
    let set = &a.arc_chain[0];
    assert_eq!(
        (
            set.instance,
            set.authserv_id.as_str(),
            set.cv.as_deref(),
            set.dkim.as_deref()
        ),
        (1, "relay.example", Some("none"), Some("pass"))
    );
}

#[test]
fn every_url_of_text_and_html_with_its_domain_and_defanged() {
    let e = extract(PHISH);
    let urls: Vec<_> = e
        .urls
        .iter()
        .map(|u| (u.url.as_str(), u.domain.as_str(), u.part.as_str()))
        .collect();
    assert_eq!(
        urls,
        vec![
            (
                "https://login.evil-bank.example/reset?id=42&u=alice",
                "login.evil-bank.example",
                "text"
            ),
            (
                "https://login.evil-bank.example/reset?id=42&u=alice",
                "login.evil-bank.example",
                "html"
            ),
            (
                "http://cdn.evil-bank.example/p.gif?r=alice",
                "cdn.evil-bank.example",
                "html"
            ),
        ]
    );
    assert_eq!(
        e.urls[0].defanged,
        "hxxps://login[.]evil-bank[.]example/reset?id=42&u=alice"
    );
    assert_eq!(
        e.urls[2].defanged,
        "hxxp://cdn[.]evil-bank[.]example/p.gif?r=alice"
    );
}

#[test]
fn attachments_with_both_types_sizes_hashes_and_archive_members() {
    let e = extract(PHISH);
    assert_eq!(e.message_id, "<phish-2026-12-01@evil-bank.example>");
    assert_eq!(e.from, "support@evil-bank.example");
    assert_eq!(e.attachments.len(), 2);
    let zip = &e.attachments[0];
    assert_eq!(
        (
            zip.name.as_str(),
            zip.declared_type.as_str(),
            zip.detected_type.as_str(),
            zip.size
        ),
        ("invoice.zip", "application/zip", "application/zip", 666)
    );
    assert_eq!(zip.sha256.as_deref(), Some(ZIP_SHA));
    let members: Vec<_> = zip
        .nested
        .iter()
        .map(|m| {
            (
                m.name.as_str(),
                m.detected_type.as_str(),
                m.size,
                m.sha256.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        members,
        vec![
            (
                "invoice.pdf.exe",
                "application/x-msdownload",
                130,
                Some(EXE_SHA)
            ),
            ("readme.txt", "text/plain", 43, Some(README_SHA)),
            ("more/inner.zip", "application/zip", 346, Some(INNER_SHA)),
        ]
    );
    let inner = &zip.nested[2].nested;
    assert_eq!(inner.len(), 2);
    assert_eq!(
        (inner[0].name.as_str(), inner[0].sha256.as_deref()),
        ("docs/invoice.pdf.exe", Some(EXE_SHA))
    );
    let pdf = &e.attachments[1];
    assert_eq!(
        (
            pdf.name.as_str(),
            pdf.declared_type.as_str(),
            pdf.detected_type.as_str(),
            pdf.size
        ),
        (
            "statement.pdf",
            "application/pdf",
            "application/x-msdownload",
            89
        ),
        "a program declared as a PDF shows as what it is"
    );
    assert_eq!(pdf.sha256.as_deref(), Some(STATEMENT_SHA));
}

#[test]
fn every_header_is_listed_in_order_and_the_raw_copy_hashed() {
    use sha2::{Digest, Sha256};
    let e = extract(PHISH);
    assert_eq!(e.headers.iter().filter(|h| h.name == "Received").count(), 3);
    assert_eq!(e.headers[0].name, "Return-Path");
    assert_eq!(
        e.headers
            .iter()
            .filter(|h| h.name == "Authentication-Results")
            .count(),
        2
    );
    assert_eq!(e.sha256, hex::encode(Sha256::digest(PHISH)));
    assert_eq!(e.size, PHISH.len() as u64);
    // The subject's escapes are kept as data here; displays sanitize them.
    assert!(e.subject.contains('\u{1b}'));
}

#[test]
fn a_zip_bomb_is_listed_but_never_decompressed_past_the_caps() {
    // One member of 64 MiB of zeros compresses to ~64 KiB.
    let mut zip = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        w.start_file("zeros.bin", options).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            std::io::Write::write_all(&mut w, &chunk).unwrap();
        }
        w.finish().unwrap();
    }
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(&zip);
    let raw = format!(
        "From: a@b.example\r\nMessage-ID: <bomb@b.example>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=bomb.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n--x--\r\n"
    );
    let caps = Caps {
        member_bytes: 1 << 20,
        ..Caps::default()
    };
    let started = std::time::Instant::now();
    let e = extract_with(raw.as_bytes(), &caps);
    let member = &e.attachments[0].nested[0];
    assert_eq!(member.name, "zeros.bin");
    assert_eq!(member.sha256, None);
    assert!(member.note.contains("not hashed"), "{}", member.note);
    assert_eq!(member.size, 64 << 20, "the declared size is still shown");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn indicators_match_the_phish_and_neither_the_warning_nor_the_look_alike() {
    let phish = extract(PHISH);
    let warning = extract(NEWSLETTER);
    let lookalike = extract(LOOKALIKE);
    let cases = [
        Indicators {
            urls: vec!["HTTPS://Login.Evil-Bank.example/reset?id=42&u=alice".into()],
            ..Default::default()
        },
        Indicators {
            url_domains: vec!["evil-bank.example".into()],
            ..Default::default()
        },
        Indicators {
            sender_domains: vec!["@evil-bank.example".into()],
            ..Default::default()
        },
        Indicators {
            attachment_sha256: vec![EXE_SHA.to_uppercase()],
            ..Default::default()
        },
        Indicators {
            attachment_names: vec!["INVOICE.PDF.EXE".into()],
            ..Default::default()
        },
        Indicators {
            attachment_names: vec!["invoice.zip".into()],
            ..Default::default()
        },
    ];
    for case in cases {
        let n = case.normalized().expect("valid");
        assert!(n.matches(&phish), "{case:?}");
        assert!(
            !n.matches(&warning),
            "the warning names it in text: {case:?}"
        );
        assert!(!n.matches(&lookalike), "{case:?}");
    }
    // Every kind given must match.
    let both = Indicators {
        sender_domains: vec!["evil-bank.example".into()],
        attachment_names: vec!["invoice-2026.zip".into()],
        ..Default::default()
    };
    assert!(!both.normalized().unwrap().matches(&phish));
}

#[test]
fn bad_indicators_are_named_by_flag() {
    for (ind, flag) in [
        (
            Indicators {
                urls: vec!["login.evil.example".into()],
                ..Default::default()
            },
            "--url",
        ),
        (
            Indicators {
                url_domains: vec![" ".into()],
                ..Default::default()
            },
            "--url-domain",
        ),
        (
            Indicators {
                sender_domains: vec!["a b".into()],
                ..Default::default()
            },
            "--sender-domain",
        ),
        (
            Indicators {
                attachment_sha256: vec!["abc".into()],
                ..Default::default()
            },
            "--attachment-sha256",
        ),
        (
            Indicators {
                attachment_names: vec!["".into()],
                ..Default::default()
            },
            "--attachment-name",
        ),
    ] {
        assert_eq!(ind.normalized().unwrap_err().0, flag);
    }
}

#[test]
fn garbage_never_panics() {
    for raw in [
        &b""[..],
        b"\xff\xfe\x00",
        b"Received: ;;;(((\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n",
    ] {
        let _ = extract(raw);
    }
    assert_eq!(
        urls::defang("https://a.b:8080/x.y"),
        "hxxps://a[.]b:8080/x.y"
    );
}
