//! The keymap: data, not code. Keys map to a closed set of [`KeyAction`]s shared by the keys, the
//! help overlay and the footer hints (both generated from these tables, per [`Place`]) and the
//! `[console] keys` config remapping.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Tab, View};
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
            KeyAction::Open => "open the selected row",
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

    /// Whether the action does something in `place`: the help and the footer list only
    /// these, so neither advertises a key that does nothing where the analyst is.
    pub fn works_in(self, place: Place) -> bool {
        use Place::{Audit, AuditRecord, Facts, JobItems, Message, Messages, Operations, Pending};
        match self {
            KeyAction::ViewMessages
            | KeyAction::ViewOperations
            | KeyAction::ViewAudit
            | KeyAction::ViewPending
            | KeyAction::NextView
            | KeyAction::Refresh
            | KeyAction::CommandLine
            | KeyAction::Help
            | KeyAction::Quit
            | KeyAction::Down
            | KeyAction::Up
            | KeyAction::Top
            | KeyAction::Bottom
            | KeyAction::PageDown
            | KeyAction::PageUp => true,
            KeyAction::Search => matches!(place, Messages | Message(_) | JobItems | Audit),
            KeyAction::Open => matches!(
                place,
                Messages | Operations | JobItems | Audit | Pending | Facts
            ),
            KeyAction::Back => matches!(place, Message(_) | JobItems | AuditRecord | Facts),
            KeyAction::NextMessage
            | KeyAction::PrevMessage
            | KeyAction::PrevTab
            | KeyAction::NextTab => matches!(place, Message(_)),
            KeyAction::RetractTab => matches!(place, Messages | Message(_)),
            // Space marks rows of the log; on the retract tab it includes one recipient.
            KeyAction::Toggle => matches!(place, Messages | Message(Tab::Recipients)),
            KeyAction::ToggleAll
            | KeyAction::DepthUp
            | KeyAction::DepthDown
            | KeyAction::CycleAction
            | KeyAction::EditReason
            | KeyAction::Run => place == Message(Tab::Recipients),
            KeyAction::Restore => matches!(place, Messages | Message(_) | Operations | JobItems),
            KeyAction::CancelJob => matches!(place, Operations | JobItems),
            KeyAction::Approve | KeyAction::Reject => matches!(place, Pending | Facts),
            KeyAction::ReportFalseNegative | KeyAction::ReportFalsePositive => {
                matches!(place, Message(_))
            }
        }
    }
}

/// Where a key is pressed, as far as what keys do there differs: the view, and in the
/// Messages view the detail tab when a message is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The message list, no message open.
    Messages,
    /// A message open in the detail pane, on this tab.
    Message(Tab),
    Operations,
    /// The Operations view with a job's items open.
    JobItems,
    Audit,
    /// The Audit view with one record shown in full.
    AuditRecord,
    Pending,
    /// The Pending view with a request's facts open.
    Facts,
}

impl Place {
    /// Where the console's keys go now.
    pub fn of(app: &super::App) -> Place {
        match app.view {
            View::Messages => app
                .detail
                .as_ref()
                .map_or(Place::Messages, |d| Place::Message(d.tab)),
            View::Operations if app.ops.open.is_some() => Place::JobItems,
            View::Operations => Place::Operations,
            View::Audit if app.audit.open => Place::AuditRecord,
            View::Audit => Place::Audit,
            View::Pending if app.pending.facts_open => Place::Facts,
            View::Pending => Place::Pending,
        }
    }

    /// The name the help's title gives it.
    pub fn title(self) -> String {
        match self {
            Place::Messages => "Messages".into(),
            Place::Message(tab) => format!("Messages, {} tab", tab.title()),
            Place::Operations => "Operations".into(),
            Place::JobItems => "Operations, a job's items".into(),
            Place::Audit => "Audit".into(),
            Place::AuditRecord => "Audit, a record".into(),
            Place::Pending => "Pending".into(),
            Place::Facts => "Pending, a request's facts".into(),
        }
    }

    /// The footer's hints, most useful first (the footer drops from the end to fit): the
    /// actions of each hint, whose first keys are joined with `/`, and its label.
    fn hints(self) -> &'static [(&'static [KeyAction], &'static str)] {
        use KeyAction as A;
        const HELP: (&[KeyAction], &str) = (&[A::Help], "help");
        match self {
            Place::Messages => &[
                (&[A::Search], "search"),
                (&[A::Open], "open"),
                (&[A::RetractTab], "retract"),
                (&[A::CommandLine], "command"),
                HELP,
                (&[A::Quit], "quit"),
                (&[A::Toggle], "mark"),
                (&[A::NextView], "next view"),
            ],
            Place::Message(Tab::Recipients) => &[
                (&[A::Toggle, A::ToggleAll], "include"),
                (&[A::DepthUp, A::DepthDown], "depth"),
                (&[A::CycleAction], "action"),
                (&[A::EditReason], "reason"),
                (&[A::Run], "run"),
                (&[A::Back], "back"),
                HELP,
                (&[A::PrevTab, A::NextTab], "tabs"),
                (&[A::Restore], "restore"),
            ],
            Place::Message(Tab::Summary) => &[
                (&[A::PrevTab, A::NextTab], "tabs"),
                (&[A::RetractTab], "retract"),
                (&[A::NextMessage, A::PrevMessage], "next/prev"),
                (&[A::Back], "back"),
                HELP,
                (&[A::Restore], "restore"),
                (&[A::Refresh], "refresh"),
                (&[A::ReportFalseNegative, A::ReportFalsePositive], "report"),
            ],
            Place::Message(_) => &[
                (&[A::PrevTab, A::NextTab], "tabs"),
                (&[A::Down, A::Up], "scroll"),
                (&[A::RetractTab], "retract"),
                (&[A::NextMessage, A::PrevMessage], "next/prev"),
                (&[A::Back], "back"),
                HELP,
                (&[A::Restore], "restore"),
            ],
            Place::Operations => &[
                (&[A::Open], "items"),
                (&[A::CancelJob], "cancel"),
                (&[A::Restore], "restore job"),
                HELP,
                (&[A::Quit], "quit"),
                (&[A::Down, A::Up], "move"),
            ],
            Place::JobItems => &[
                (&[A::Down, A::Up], "scroll"),
                (&[A::Search], "filter"),
                (&[A::Back], "back"),
                (&[A::CancelJob], "cancel"),
                (&[A::Restore], "restore job"),
                HELP,
            ],
            Place::Audit => &[
                (&[A::Search], "filter"),
                (&[A::Open], "record"),
                (&[A::Down, A::Up], "move"),
                (&[A::Refresh], "refresh"),
                HELP,
                (&[A::Quit], "quit"),
            ],
            Place::AuditRecord => &[(&[A::Back], "back"), HELP, (&[A::Quit], "quit")],
            Place::Pending => &[
                (&[A::Down, A::Up], "move"),
                (&[A::Open], "facts"),
                (&[A::Approve], "approve"),
                (&[A::Reject], "reject"),
                HELP,
            ],
            Place::Facts => &[
                (&[A::Approve], "approve"),
                (&[A::Reject], "reject"),
                (&[A::Back], "back"),
                (&[A::Down, A::Up], "move"),
                HELP,
            ],
        }
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
    pub fn action_in(&self, view: View, event: &KeyEvent) -> Option<KeyAction> {
        self.bound_in(view, &Key::of(event)?)
    }

    /// What `key` does in `view`: the view's own table first, then the global one.
    fn bound_in(&self, view: View, key: &Key) -> Option<KeyAction> {
        let own = (view == View::Pending)
            .then(|| self.pending.get(key).copied())
            .flatten();
        own.or_else(|| self.bindings.get(key).copied())
    }

    /// The keys that reach `action` in `place` (a key the place's own table takes for
    /// another action is not one), as the help and hints show them.
    pub fn keys_in(&self, place: Place, action: KeyAction) -> Vec<String> {
        let view = match place {
            Place::Messages | Place::Message(_) => View::Messages,
            Place::Operations | Place::JobItems => View::Operations,
            Place::Audit | Place::AuditRecord => View::Audit,
            Place::Pending | Place::Facts => View::Pending,
        };
        let mut keys: Vec<String> = Vec::new();
        for key in self.bindings.keys().chain(self.pending.keys()) {
            let label = key.label();
            if self.bound_in(view, key) == Some(action) && !keys.contains(&label) {
                keys.push(label);
            }
        }
        // The hints show the first: letters before other keys (`h` before `[`), plain
        // before Ctrl or Alt (`q` before `C-c`).
        keys.sort_by_key(|k| {
            let mut chars = k.chars();
            match (chars.next(), chars.next()) {
                _ if k.starts_with("C-") || k.starts_with("M-") => 3,
                (Some(c), None) if c.is_ascii_alphanumeric() => 0,
                (Some(_), None) => 1,
                _ => 2,
            }
        });
        keys
    }

    /// One help row per action that does something in `place` and has a key there.
    pub fn help_rows_in(&self, place: Place) -> Vec<HelpRow> {
        KeyAction::ALL
            .into_iter()
            .filter(|a| a.works_in(place))
            .map(|a| HelpRow {
                keys: self.keys_in(place, a).join(" "),
                what: a.describe(),
            })
            .filter(|r| !r.keys.is_empty())
            .collect()
    }

    /// The footer's hints for `place` (`key label` pairs, two spaces apart), cut to `width`
    /// columns by leaving out the least useful whole hints, never a hint in half.
    pub fn hints_in(&self, place: Place, width: usize) -> String {
        let mut out = String::new();
        for (actions, label) in place.hints() {
            let keys: Vec<String> = actions
                .iter()
                .filter_map(|a| self.keys_in(place, *a).into_iter().next())
                .collect();
            if keys.is_empty() {
                continue; // remapped away
            }
            let hint = format!("{} {label}", keys.join("/"));
            let sep = if out.is_empty() { "" } else { "  " };
            if out.chars().count() + sep.len() + hint.chars().count() > width {
                break;
            }
            out.push_str(sep);
            out.push_str(&hint);
        }
        out
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
}

/// A line of the help overlay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpRow {
    /// The keys bound to the action, space-separated.
    pub keys: String,
    pub what: &'static str,
}

#[cfg(test)]
#[path = "keymap_tests.rs"]
mod tests;
