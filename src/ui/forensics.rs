//! The Forensics tab of the detail pane: the open message's evidence (route, verdicts,
//! defanged URLs, attachments with hashes), as the lines `app::forensics` made of it, cut into
//! rows exactly where `App::detail_scroll_max` counts them, verdicts coloured.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use super::detail::cut_styled_rows;
use crate::app::{Detail, EvidenceState, Tone};

pub fn tab(frame: &mut Frame<'_>, inner: Rect, detail: &Detail, theme: &Theme) {
    let lines = match &detail.evidence {
        None | Some(EvidenceState::Loading(_)) => {
            vec![Line::from(Span::styled(
                "loading... (the evidence is read from a copy)",
                theme.muted,
            ))]
        }
        Some(EvidenceState::Failed(why)) => vec![
            Line::from(Span::styled("no evidence for this message:", theme.muted)),
            Line::from(Span::styled(why.clone(), theme.error)),
        ],
        Some(EvidenceState::Loaded(lines)) => lines
            .iter()
            .flat_map(|l| {
                let (label, text) = match l.tone {
                    Tone::Heading => (theme.title, theme.title),
                    Tone::Plain => (theme.title, Style::default()),
                    Tone::Pass => (theme.title, theme.ok),
                    Tone::Fail => (theme.title, theme.danger),
                    Tone::Muted => (theme.title, theme.muted),
                };
                cut_styled_rows(&l.label, &l.text, inner.width, label, text)
            })
            .skip(detail.scroll)
            .take(usize::from(inner.height))
            .collect(),
    };
    frame.render_widget(Paragraph::new(lines), inner);
}
