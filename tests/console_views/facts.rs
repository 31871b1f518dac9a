//! What each copy is, in the retract tab: a header row naming the columns and the cursor's
//! position, and per-depth counts that add up to the total.

use super::*;

#[test]
fn the_recipient_list_has_a_header_and_a_position() {
    let d = demo();
    for (w, hh) in [(80, 24), (120, 40)] {
        let mut h = Harness::new(&d, w, hh);
        campaign_retract_tab(&mut h);
        let total = h
            .app
            .detail
            .as_ref()
            .unwrap()
            .form
            .as_ref()
            .unwrap()
            .recipients
            .len();
        assert!(total > 2, "the demo campaign has recipients");
        let screen = h.screen();
        let header = screen
            .lines()
            .find(|l| l.contains("RECIPIENT") && l.contains("FOLDER"))
            .unwrap_or_else(|| panic!("no header row at {w}x{hh}:\n{screen}"));
        assert!(header.contains("STATE"), "{header}");
        assert!(header.contains(&format!("1/{total}")), "{header}");
        h.press("j");
        let screen = h.screen();
        assert!(screen.contains(&format!("2/{total}")), "{screen}");
    }
}

#[test]
fn per_depth_counts_add_up_to_the_total() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let preview = form.preview.clone().unwrap().unwrap();
    let adds: u64 = preview.by_depth.iter().map(|d| d.adds).sum();
    assert_eq!(adds as usize, preview.mailboxes, "{preview:?}");
    let last = preview.by_depth.last().expect("depths");
    assert_eq!(last.reaches as usize, preview.mailboxes, "{preview:?}");
    let screen = h.screen();
    for d in &preview.by_depth {
        let line = format!("depth {}: +{} → {} mailboxes", d.depth, d.adds, d.reaches);
        assert!(screen.contains(&line), "{line} not in\n{screen}");
    }
    assert!(
        screen.contains(&format!(
            "total: {} copies to do in {} mailboxes",
            preview.actionable, preview.mailboxes
        )),
        "{screen}"
    );
}

/// The Conversation tab marks the forwards the depth plan found only in the mailboxes; after
/// the campaign is quarantined each recipient says whether it had read its copy and where it
/// was, and the Headers tab reads the quarantine's copy and says so.
#[test]
fn what_each_copy_was_and_where_its_headers_come_from() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("l");
    assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Conversation);
    let data = h.app.detail.as_ref().unwrap().loaded.as_ref().unwrap();
    let (depth, found) = data.found_in_mailboxes.clone().expect("the plan's finds");
    assert_eq!(depth, 2);
    assert!(!found.is_empty(), "the demo has forwards the log lacks");
    let lines = data.tab_lines(Tab::Conversation);
    let marked = |place: &str| lines.iter().filter(|(l, _)| l.contains(place)).count();
    assert_eq!(marked(" log "), data.conversation.len(), "{lines:?}");
    assert_eq!(marked(" mailbox "), found.len(), "{lines:?}");
    let screen = h.screen();
    assert!(screen.contains("mailboxes searched to depth 2"), "{screen}");
    // Quarantine the campaign from the retract tab.
    h.press("h A A A R y");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let internal: Vec<_> = form.recipients.iter().filter(|r| !r.external).collect();
    assert!(!internal.is_empty());
    for r in &internal {
        assert!(r.read == "yes" || r.read == "no", "{r:?}");
        assert_ne!(r.was_in, "-", "{r:?}");
    }
    let screen = h.screen();
    let header = screen
        .lines()
        .find(|l| l.contains("RECIPIENT") && l.contains("FOLDER"))
        .unwrap_or_else(|| panic!("no header row:\n{screen}"));
    assert!(
        header.contains("READ") && header.contains("WAS IN"),
        "{header}"
    );
    h.press("l l");
    assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Headers);
    let data = h.app.detail.as_ref().unwrap().loaded.as_ref().unwrap();
    assert!(
        data.headers_from
            .starts_with("from the quarantine copy in quarantine@demo.test"),
        "{}",
        data.headers_from
    );
    assert!(data.headers.iter().any(|h| h.name == "Subject"));
    assert!(h.screen().contains("Copy read: from the quarantine copy"));
}
