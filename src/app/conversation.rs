//! The Conversation tab's lines: the logged replies and forwards, and those the retract tab's
//! plan found only in the mailboxes (the depth plan acts on both), each marked by where it
//! was found, merged by depth.

use std::collections::HashSet;

use super::rows::shown;
use super::{DetailData, PlannedDescendant, Preview};

/// Where a logged descendant was found.
const LOG: &str = "log";
/// Where a descendant only a plan's mailbox search found was found.
const MAILBOX: &str = "mailbox";

impl DetailData {
    /// The Conversation tab as (label, text) lines: the message, then each descendant by
    /// depth (logged first within a depth), then what was searched.
    pub(super) fn conversation_lines(&self) -> Vec<(String, String)> {
        let label =
            |depth: u32, place: &str| format!("{}{depth} {place:<7} ", "  ".repeat(depth as usize));
        let mut lines: Vec<(u32, String, String)> = self
            .conversation
            .iter()
            .map(|c| {
                (
                    c.depth,
                    label(c.depth, LOG),
                    format!("{}  {}", c.from, c.subject),
                )
            })
            .collect();
        let found = self.found_in_mailboxes.as_ref();
        for d in found.map_or(&[][..], |(_, found)| found.as_slice()) {
            let copies = if d.mailboxes == 1 {
                "1 mailbox".to_string()
            } else {
                format!("{} mailboxes", d.mailboxes)
            };
            lines.push((
                d.depth,
                label(d.depth, MAILBOX),
                format!("{}  in {copies} (not in the log)", d.message_id),
            ));
        }
        // Stable: within a depth the log's order, then the plan's.
        lines.sort_by_key(|(depth, _, _)| *depth);
        let searched = match found {
            None => "mailboxes not searched yet: the retract tab's plan at depth 1 or more \
                     searches them (r, +)"
                .to_string(),
            Some((depth, found)) => format!(
                "mailboxes searched to depth {depth}: {} the log does not have",
                match found.len() {
                    0 => "no reply or forward".to_string(),
                    1 => "1 reply or forward".to_string(),
                    n => format!("{n} replies or forwards"),
                }
            ),
        };
        std::iter::once((
            "0 ".to_string(),
            format!("{}  {}", self.row.from, self.row.subject),
        ))
        .chain(lines.into_iter().map(|(_, label, text)| (label, text)))
        .chain(std::iter::once((String::new(), searched)))
        .collect()
    }

    /// Keep what a plan at `depth` found in the mailboxes and the log does not have
    /// (sanitised here, compared raw); a plan at depth 0 searched no mailbox and changes
    /// nothing.
    pub fn note_plan(&mut self, depth: u32, preview: &Preview) {
        if depth == 0 {
            return;
        }
        let logged: HashSet<&str> = self
            .conversation
            .iter()
            .map(|c| c.message_id.as_str())
            .collect();
        let found = preview
            .descendants
            .iter()
            .filter(|d| !logged.contains(d.message_id.as_str()))
            .map(|d| PlannedDescendant {
                message_id: shown(&d.message_id),
                ..d.clone()
            })
            .collect();
        self.found_in_mailboxes = Some((depth, found));
    }
}
