//! The keymap: data, not code. Keys map to a closed set of [`KeyAction`]s shared by the keys, the
//! help overlay (generated from this table) and the `[console] keys` config remapping.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::ConsoleKeys;

/// Everything a key can ask for. What an action does depends on the focused view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyAction {
    ViewMessages,
    ViewOperations,
    ViewAudit,
    ViewPending,
    NextView,
    Search,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    Open,
    NextMessage,
    PrevMessage,
    Refresh,
    PrevTab,
    NextTab,
    RetractTab,
    Toggle,
    ToggleAll,
    DepthUp,
    DepthDown,
    CycleAction,
    EditReason,
    Run,
    Restore,
    CancelJob,
    CommandLine,
    Help,
    Back,
    Quit,
    /// Pending view only: approve the selected request (behind its dialog).
    Approve,
    /// Pending view only: reject the selected request (a reason is required).
    Reject,
    /// The open message: report it as a false negative (malicious), behind a dialog.
    ReportFalseNegative,
    /// The open message: report it as a false positive (clean), behind a dialog.
    ReportFalsePositive,
}

impl KeyAction {
    /// Every action, in the order the help lists them.
    pub const ALL: [KeyAction; 36] = [
        KeyAction::ViewMessages,
        KeyAction::ViewOperations,
        KeyAction::ViewAudit,
        KeyAction::ViewPending,
        KeyAction::NextView,
        KeyAction::Search,
        KeyAction::Down,
        KeyAction::Up,
        KeyAction::Top,
        KeyAction::Bottom,
        KeyAction::PageDown,
        KeyAction::PageUp,
        KeyAction::Open,
        KeyAction::NextMessage,
        KeyAction::PrevMessage,
        KeyAction::Refresh,
        KeyAction::PrevTab,
        KeyAction::NextTab,
        KeyAction::RetractTab,
        KeyAction::Toggle,
        KeyAction::ToggleAll,
        KeyAction::DepthUp,
        KeyAction::DepthDown,
        KeyAction::CycleAction,
        KeyAction::EditReason,
        KeyAction::Run,
        KeyAction::Restore,
        KeyAction::CancelJob,
        KeyAction::CommandLine,
        KeyAction::Help,
        KeyAction::Back,
        KeyAction::Quit,
        KeyAction::Approve,
        KeyAction::Reject,
        KeyAction::ReportFalseNegative,
        KeyAction::ReportFalsePositive,
    ];

    /// The name used in `[console] keys`.
    pub fn name(self) -> &'static str {
        match self {
            KeyAction::ViewMessages => "messages",
            KeyAction::ViewOperations => "operations",
            KeyAction::ViewAudit => "audit",
            KeyAction::ViewPending => "pending",
            KeyAction::NextView => "next-view",
            KeyAction::Search => "search",
            KeyAction::Down => "down",
            KeyAction::Up => "up",
            KeyAction::Top => "top",
            KeyAction::Bottom => "bottom",
            KeyAction::PageDown => "page-down",
            KeyAction::PageUp => "page-up",
            KeyAction::Open => "open",
            KeyAction::NextMessage => "next-message",
            KeyAction::PrevMessage => "prev-message",
            KeyAction::Refresh => "refresh",
            KeyAction::PrevTab => "prev-tab",
            KeyAction::NextTab => "next-tab",
            KeyAction::RetractTab => "retract-tab",
            KeyAction::Toggle => "toggle",
            KeyAction::ToggleAll => "toggle-all",
            KeyAction::DepthUp => "depth-up",
            KeyAction::DepthDown => "depth-down",
            KeyAction::CycleAction => "cycle-action",
            KeyAction::EditReason => "edit-reason",
            KeyAction::Run => "run",
            KeyAction::Restore => "restore",
            KeyAction::CancelJob => "cancel-job",
            KeyAction::CommandLine => "command-line",
            KeyAction::Help => "help",
            KeyAction::Back => "back",
            KeyAction::Quit => "quit",
            KeyAction::Approve => "approve",
            KeyAction::Reject => "reject",
            KeyAction::ReportFalseNegative => "report-false-negative",
            KeyAction::ReportFalsePositive => "report-false-positive",
        }
    }

    /// What the help says it does.
    pub fn describe(self) -> &'static str {
        match self {
            KeyAction::ViewMessages => "Messages view",
            KeyAction::ViewOperations => "Operations view",
            KeyAction::ViewAudit => "Audit view",
            KeyAction::ViewPending => "Pending view (approvals)",
            KeyAction::NextView => "next view",
            KeyAction::Search => "search / audit filter",
            KeyAction::Down => "move down",
            KeyAction::Up => "move up",
            KeyAction::Top => "first row",
            KeyAction::Bottom => "last row",
            KeyAction::PageDown => "page down",
            KeyAction::PageUp => "page up",
            KeyAction::Open => "open message / job",
            KeyAction::NextMessage => "next message (pane open)",
            KeyAction::PrevMessage => "previous message",
            KeyAction::Refresh => "refresh what is shown",
            KeyAction::PrevTab => "previous detail tab",
            KeyAction::NextTab => "next detail tab",
            KeyAction::RetractTab => "retract tab",
            KeyAction::Toggle => "mark row / include one",
            KeyAction::ToggleAll => "include / exclude all",
            KeyAction::DepthUp => "depth up (+ replies)",
            KeyAction::DepthDown => "depth down",
            KeyAction::CycleAction => "cycle the action",
            KeyAction::EditReason => "edit reason / ticket",
            KeyAction::Run => "run the retraction",
            KeyAction::Restore => "restore pulled copies",
            KeyAction::CancelJob => "cancel the job",
            KeyAction::CommandLine => "command line",
            KeyAction::Help => "this help",
            KeyAction::Back => "back out one level",
            KeyAction::Quit => "quit",
            KeyAction::Approve => "approve request (Pending)",
            KeyAction::Reject => "reject request (Pending)",
            KeyAction::ReportFalseNegative => "report false negative",
            KeyAction::ReportFalsePositive => "report false positive",
        }
    }

    /// Actions bound only in the Pending view, where they win over the global bindings of
    /// their keys (`a` approves there and includes every recipient on the retract tab).
    pub fn pending_only(self) -> bool {
        matches!(self, KeyAction::Approve | KeyAction::Reject)
    }

    fn from_name(name: &str) -> Option<KeyAction> {
        KeyAction::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// The CONTRACT.md defaults.
const DEFAULTS: &[(&str, KeyAction)] = &[
    ("1", KeyAction::ViewMessages),
    ("2", KeyAction::ViewOperations),
    ("3", KeyAction::ViewAudit),
    ("4", KeyAction::ViewPending),
    ("Tab", KeyAction::NextView),
    ("/", KeyAction::Search),
    ("j", KeyAction::Down),
    ("Down", KeyAction::Down),
    ("k", KeyAction::Up),
    ("Up", KeyAction::Up),
    ("g", KeyAction::Top),
    ("Home", KeyAction::Top),
    ("G", KeyAction::Bottom),
    ("End", KeyAction::Bottom),
    ("PgDn", KeyAction::PageDown),
    ("PgUp", KeyAction::PageUp),
    ("Enter", KeyAction::Open),
    ("J", KeyAction::NextMessage),
    ("K", KeyAction::PrevMessage),
    ("C-r", KeyAction::Refresh),
    ("h", KeyAction::PrevTab),
    ("[", KeyAction::PrevTab),
    ("l", KeyAction::NextTab),
    ("]", KeyAction::NextTab),
    ("r", KeyAction::RetractTab),
    ("Space", KeyAction::Toggle),
    ("a", KeyAction::ToggleAll),
    ("+", KeyAction::DepthUp),
    ("-", KeyAction::DepthDown),
    ("A", KeyAction::CycleAction),
    ("e", KeyAction::EditReason),
    ("R", KeyAction::Run),
    ("u", KeyAction::Restore),
    ("c", KeyAction::CancelJob),
    (":", KeyAction::CommandLine),
    ("?", KeyAction::Help),
    ("Esc", KeyAction::Back),
    ("f", KeyAction::ReportFalseNegative),
    ("F", KeyAction::ReportFalsePositive),
    ("q", KeyAction::Quit),
    ("C-c", KeyAction::Quit),
];

/// The Pending view's own bindings (see [`KeyAction::pending_only`]).
const PENDING_DEFAULTS: &[(&str, KeyAction)] =
    &[("a", KeyAction::Approve), ("x", KeyAction::Reject)];

/// A key as the keymap compares it: the code and whether Ctrl or Alt was held. Shift is
/// folded into the character (`G`, `+`), since terminals disagree on reporting it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

/// `KeyCode` subset with an order, so bindings can live in a `BTreeMap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(u8),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("Enter", KeyCode::Enter),
    ("Esc", KeyCode::Esc),
    ("Tab", KeyCode::Tab),
    ("BackTab", KeyCode::BackTab),
    ("Backspace", KeyCode::Backspace),
    ("Up", KeyCode::Up),
    ("Down", KeyCode::Down),
    ("Left", KeyCode::Left),
    ("Right", KeyCode::Right),
    ("Home", KeyCode::Home),
    ("End", KeyCode::End),
    ("PgUp", KeyCode::PageUp),
    ("PgDn", KeyCode::PageDown),
    ("Delete", KeyCode::Delete),
    ("Insert", KeyCode::Insert),
];

impl Key {
    /// The key of a terminal event, or `None` for keys the keymap cannot name.
    pub fn of(event: &KeyEvent) -> Option<Key> {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let alt = event.modifiers.contains(KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => {
                let i = NAMED.iter().position(|(_, c)| *c == other)?;
                KeyCodeOrd::Named(i as u8)
            }
        };
        Some(Key { code, ctrl, alt })
    }

    /// Parse a key name: a character (`j`, `G`, `+`), `Space`, a name (`Enter`, `PgDn`, `F5`),
    /// with optional `C-` (Ctrl) or `M-` (Alt) prefixes.
    pub fn parse(text: &str) -> Option<Key> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("C-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("M-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ if rest == "Space" => KeyCodeOrd::Char(' '),
            _ => {
                if let Some(n) = rest.strip_prefix('F').and_then(|n| n.parse::<u8>().ok()) {
                    KeyCodeOrd::F(n)
                } else {
                    let i = NAMED.iter().position(|(name, _)| *name == rest)?;
                    KeyCodeOrd::Named(i as u8)
                }
            }
        };
        Some(Key { code, ctrl, alt })
    }

    /// The name the help shows (the same syntax [`Key::parse`] reads).
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("C-");
        }
        if self.alt {
            s.push_str("M-");
        }
        match self.code {
            KeyCodeOrd::Char(' ') => s.push_str("Space"),
            KeyCodeOrd::Char(c) => s.push(c),
            KeyCodeOrd::F(n) => s.push_str(&format!("F{n}")),
            KeyCodeOrd::Named(i) => s.push_str(NAMED.get(i as usize).map_or("?", |(n, _)| n)),
        }
        s
    }
}

/// Keys to actions.
#[derive(Clone, Debug)]
pub struct Keymap {
    bindings: BTreeMap<Key, KeyAction>,
    /// Bindings of the Pending view, looked up there before `bindings`.
    pending: BTreeMap<Key, KeyAction>,
}

impl Default for Keymap {
    fn default() -> Self {
        let table = |defaults: &[(&str, KeyAction)]| {
            defaults
                .iter()
                .filter_map(|(k, a)| Key::parse(k).map(|k| (k, *a)))
                .collect()
        };
        Keymap {
            bindings: table(DEFAULTS),
            pending: table(PENDING_DEFAULTS),
        }
    }
}

impl Keymap {
    /// The defaults with the config's remapping applied: each named action gets exactly the
    /// given keys. An unknown action or key name is an error naming it.
    pub fn with_overrides(overrides: &BTreeMap<String, ConsoleKeys>) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let action = KeyAction::from_name(name).ok_or_else(|| {
                format!(
                    "[console] keys: unknown action '{name}' (known: {})",
                    KeyAction::ALL.map(KeyAction::name).join(", ")
                )
            })?;
            let table = if action.pending_only() {
                &mut map.pending
            } else {
                &mut map.bindings
            };
            table.retain(|_, a| *a != action);
            for text in keys.to_vec() {
                let key = Key::parse(&text).ok_or_else(|| {
                    format!("[console] keys.{name}: unknown key '{text}' (e.g. \"j\", \"C-r\", \"PgDn\", \"Space\")")
                })?;
                table.insert(key, action);
            }
        }
        Ok(map)
    }

    /// The action bound to this key event (outside the Pending view).
    pub fn action(&self, event: &KeyEvent) -> Option<KeyAction> {
        Key::of(event).and_then(|k| self.bindings.get(&k).copied())
    }

    /// The action bound to this key event in `view`: the Pending view's own bindings first.
    pub fn action_in(&self, view: super::View, event: &KeyEvent) -> Option<KeyAction> {
        let key = Key::of(event)?;
        let own = (view == super::View::Pending)
            .then(|| self.pending.get(&key).copied())
            .flatten();
        own.or_else(|| self.bindings.get(&key).copied())
    }

    /// The keys of an action, as the help and hints show them.
    pub fn keys_of(&self, action: KeyAction) -> Vec<String> {
        self.bindings
            .iter()
            .chain(&self.pending)
            .filter(|(_, a)| **a == action)
            .map(|(k, _)| k.label())
            .collect()
    }

    /// One help row per action that has a key: its keys and what it does.
    pub fn help_rows(&self) -> Vec<HelpRow> {
        KeyAction::ALL
            .into_iter()
            .map(|a| HelpRow {
                keys: self.keys_of(a).join(" "),
                what: a.describe(),
            })
            .filter(|r| !r.keys.is_empty())
            .collect()
    }
}

/// A line of the help overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRow {
    /// The keys bound to the action, space-separated.
    pub keys: String,
    pub what: &'static str,
}

#[cfg(test)]
mod tests {
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
}
