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
