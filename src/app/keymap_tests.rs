//! The keymap's tests: defaults, overrides, and what each place lists.

use super::*;

fn key(code: KeyCode, m: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, m)
}

#[test]
fn defaults_follow_the_contract() {
    let map = Keymap::default();
    let none = KeyModifiers::NONE;
    assert_eq!(
        map.action(&key(KeyCode::Char('j'), none)),
        Some(KeyAction::Down)
    );
    assert_eq!(
        map.action(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(KeyAction::Bottom)
    );
    assert_eq!(
        map.action(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(KeyAction::Quit)
    );
    assert_eq!(
        map.action(&key(KeyCode::Char('c'), none)),
        Some(KeyAction::CancelJob)
    );
    assert_eq!(
        map.action(&key(KeyCode::PageDown, none)),
        Some(KeyAction::PageDown)
    );
}

#[test]
fn overrides_replace_an_actions_keys_and_name_bad_input() {
    let mut o = BTreeMap::new();
    o.insert("run".to_string(), ConsoleKeys::One("C-r".into()));
    let map = Keymap::with_overrides(&o).unwrap();
    assert_eq!(map.keys_of(KeyAction::Run), vec!["C-r"]);
    o.insert("fly".to_string(), ConsoleKeys::One("x".into()));
    let err = Keymap::with_overrides(&o).unwrap_err();
    assert!(err.contains("unknown action 'fly'"), "{err}");
    let mut o = BTreeMap::new();
    o.insert("run".to_string(), ConsoleKeys::Many(vec!["Hyper-x".into()]));
    let err = Keymap::with_overrides(&o).unwrap_err();
    assert!(err.contains("keys.run: unknown key 'Hyper-x'"), "{err}");
}

#[test]
fn the_pending_views_keys_win_there_only_and_remap_there() {
    use crate::app::View;
    let none = KeyModifiers::NONE;
    let map = Keymap::default();
    let a = key(KeyCode::Char('a'), none);
    assert_eq!(map.action_in(View::Pending, &a), Some(KeyAction::Approve));
    assert_eq!(
        map.action_in(View::Messages, &a),
        Some(KeyAction::ToggleAll)
    );
    let x = key(KeyCode::Char('x'), none);
    assert_eq!(map.action_in(View::Pending, &x), Some(KeyAction::Reject));
    assert_eq!(map.action_in(View::Messages, &x), None);
    assert_eq!(
        map.action_in(View::Pending, &key(KeyCode::Char('4'), none)),
        Some(KeyAction::ViewPending)
    );
    let mut o = BTreeMap::new();
    o.insert("approve".to_string(), ConsoleKeys::One("y".into()));
    let map = Keymap::with_overrides(&o).unwrap();
    let y = key(KeyCode::Char('y'), none);
    assert_eq!(map.action_in(View::Pending, &y), Some(KeyAction::Approve));
    assert_eq!(map.action_in(View::Pending, &a), Some(KeyAction::ToggleAll));
    assert_eq!(map.keys_of(KeyAction::Approve), vec!["y"]);
}

#[test]
fn hints_and_help_list_only_what_works_where_they_are_shown() {
    use crate::app::Tab;
    let map = Keymap::default();
    let places = [
        Place::Messages,
        Place::Operations,
        Place::JobItems,
        Place::Audit,
        Place::AuditRecord,
        Place::Pending,
        Place::Facts,
    ]
    .into_iter()
    .chain(Tab::ALL.map(Place::Message));
    for place in places {
        for (actions, label) in place.hints() {
            for a in *actions {
                assert!(a.works_in(place), "{place:?} hints {label} ({a:?})");
            }
        }
        let hints = map.hints_in(place, 64);
        assert!(hints.chars().count() <= 64, "{place:?}: {hints}");
        assert!(
            !hints.is_empty() && !hints.ends_with(' '),
            "{place:?}: {hints}"
        );
        for row in map.help_rows_in(place) {
            assert!(!row.keys.is_empty(), "{place:?}: {row:?}");
        }
    }
    // `a` approves in the Pending view, so the help there gives toggle-all no key.
    let pending = map.help_rows_in(Place::Pending);
    assert!(
        pending
            .iter()
            .any(|r| r.keys == "a" && r.what.starts_with("approve"))
    );
    assert!(
        !pending
            .iter()
            .any(|r| r.what == KeyAction::ToggleAll.describe())
    );
    let list = map.help_rows_in(Place::Messages);
    assert!(!list.iter().any(|r| r.what == KeyAction::Run.describe()));
    assert!(map.hints_in(Place::Operations, 80).contains("c cancel"));
    // Esc backs out of a job's items or a request's facts, not out of the lists.
    assert!(!map.hints_in(Place::Operations, 80).contains("Esc"));
    assert!(map.hints_in(Place::JobItems, 80).contains("Esc back"));
    assert!(!map.hints_in(Place::Pending, 80).contains("Esc"));
    assert!(map.hints_in(Place::Audit, 80).contains("Enter record"));
    assert!(map.hints_in(Place::AuditRecord, 80).contains("Esc back"));
    assert!(map.hints_in(Place::JobItems, 80).contains("/ filter"));
    // Narrow: whole hints only, the first ones kept.
    assert_eq!(map.hints_in(Place::Messages, 20), "/ search  Enter open");
}
