//! Semantic styles. The default uses only the 16 ANSI colours (it follows the user's palette);
//! `mono` (chosen by NO_COLOR) uses no colour at all, and the selection stays visible through
//! REVERSED and BOLD, never through colour alone.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// Styles by role, and the border set.
#[derive(Clone, Debug)]
pub struct Theme {
    pub normal: Style,
    pub muted: Style,
    pub title: Style,
    pub selected: Style,
    pub active_tab: Style,
    pub error: Style,
    pub danger: Style,
    pub ok: Style,
    pub warn: Style,
    pub gauge: Style,
    pub button_focused: Style,
    pub border: border::Set<'static>,
}

impl Theme {
    /// 16-colour default.
    pub fn ansi16() -> Theme {
        Theme {
            normal: Style::default(),
            muted: Style::default().fg(Color::DarkGray),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            selected: Style::default()
                .add_modifier(Modifier::REVERSED)
                .add_modifier(Modifier::BOLD),
            active_tab: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            danger: Style::default().fg(Color::LightRed),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow),
            gauge: Style::default().fg(Color::Green),
            button_focused: Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            border: border::PLAIN,
        }
    }

    /// No colour: modifiers only (NO_COLOR, or `theme = "mono"`).
    pub fn mono() -> Theme {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        Theme {
            normal: Style::default(),
            muted: Style::default(),
            title: bold,
            selected: Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            active_tab: Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            error: bold,
            danger: bold,
            ok: Style::default(),
            warn: bold,
            gauge: Style::default(),
            button_focused: Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            border: border::PLAIN,
        }
    }

    /// Swap the borders for `+-|`, for `LANG=C` jump hosts and serial consoles.
    pub fn with_ascii_borders(mut self) -> Theme {
        self.border = border::Set {
            top_left: "+",
            top_right: "+",
            bottom_left: "+",
            bottom_right: "+",
            vertical_left: "|",
            vertical_right: "|",
            horizontal_top: "-",
            horizontal_bottom: "-",
        };
        self
    }

    /// The theme a config asks for: `default` or `mono`; NO_COLOR (any non-empty value)
    /// forces `mono`. An unknown name is an error naming it.
    pub fn select(name: Option<&str>, no_color: bool, ascii: bool) -> Result<Theme, String> {
        let theme = match (no_color, name.unwrap_or("default")) {
            (true, _) | (false, "mono") => Theme::mono(),
            (false, "default") => Theme::ansi16(),
            (false, other) => {
                return Err(format!(
                    "[console] theme: unknown theme '{other}' (default or mono)"
                ));
            }
        };
        Ok(if ascii {
            theme.with_ascii_borders()
        } else {
            theme
        })
    }
}

/// What the terminal can show, from the environment: `TERM` (a VT100-family or `dumb`
/// terminal has no colour), `COLORTERM`, and the locale (`LC_ALL`, else `LC_CTYPE`, else
/// `LANG`; one that names no UTF-8 charset, such as `C` or `POSIX`, cannot show box drawing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TerminalCaps {
    pub colour: bool,
    pub unicode: bool,
}

impl TerminalCaps {
    /// Read through `var` (the process environment in the console, a table in tests).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> TerminalCaps {
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let term = set("TERM").unwrap_or_default().to_ascii_lowercase();
        let no_colour_term = term == "dumb" || term.starts_with("vt");
        let colour = set("COLORTERM").is_some() || !no_colour_term;
        // No locale at all: a terminal reached over SSH often has no LANG forwarded and is
        // UTF-8 all the same; only a locale that says otherwise turns box drawing off.
        let unicode = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|n| set(n))
            .is_none_or(|locale| {
                let l = locale.to_ascii_lowercase();
                l.contains("utf-8") || l.contains("utf8")
            });
        TerminalCaps { colour, unicode }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(vars: &[(&str, &str)]) -> TerminalCaps {
        TerminalCaps::detect(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn vt100_and_the_c_locale_get_no_colour_and_ascii() {
        let ok = TerminalCaps {
            colour: true,
            unicode: true,
        };
        assert_eq!(
            caps(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]),
            ok
        );
        assert_eq!(caps(&[("TERM", "xterm")]), ok, "no locale: UTF-8 assumed");
        assert_eq!(
            caps(&[("TERM", "vt100"), ("LANG", "C")]),
            TerminalCaps {
                colour: false,
                unicode: false
            }
        );
        assert!(!caps(&[("TERM", "xterm"), ("LC_ALL", "POSIX"), ("LANG", "C.UTF-8")]).unicode);
        assert!(caps(&[("LC_CTYPE", "de_DE.utf8"), ("LANG", "C")]).unicode);
        assert!(!caps(&[("LANG", "en_US.ISO-8859-1")]).unicode);
        assert!(!caps(&[("TERM", "dumb")]).colour);
        assert!(caps(&[("TERM", "vt220"), ("COLORTERM", "truecolor")]).colour);
    }
}
