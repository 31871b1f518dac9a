//! The console headless: the real keymap drives the pure `update`, the real engine (on the demo
//! tenant generated with a fixed clock) answers the commands, and ratatui's `TestBackend`
//! renders each view at 80x24 and 120x40 into committed insta snapshots. CI fails on any
//! difference (insta writes no `.snap.new` and fails when `CI` is set; `.ci/run` sets it).

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Position;
use ratatui::style::Modifier;

use retractor::app::{self, App, Command, Event, Focus, Keymap, Overlay, Pending, Tab, View};
use retractor::config::Config;
use retractor::console::tasks;
use retractor::engine::{Actor, Engine};
use retractor::ingest::{TenantResolver, jsonl};
use retractor::model::Role;
use retractor::store::Store;
use retractor::ui::{self, Theme};

#[path = "console_views/analyst_day.rs"]
mod analyst_day;
#[path = "console_views/dialogs.rs"]
mod dialogs;
#[path = "console_views/facts.rs"]
mod facts;
#[path = "console_views/help.rs"]
mod help;
#[path = "console_views/jobs.rs"]
mod jobs;
#[path = "console_views/lists.rs"]
mod lists;
#[path = "console_views/marks.rs"]
mod marks;
#[path = "console_views/paging_and_mouse.rs"]
mod paging_and_mouse;
#[path = "console_views/pending_and_forensics.rs"]
mod pending_and_forensics;
#[path = "console_views/views_and_keys.rs"]
mod views_and_keys;

fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
}

/// The demo tenant, generated with a fixed clock, and an engine on it with a fixed actor.
struct Demo {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    campaign: String,
}

fn demo() -> Demo {
    demo_with(|_, _| Vec::new())
}

/// The demo, with `setup` changing its config (before the engine reads it) and returning log
/// lines to ingest after the demo's own (for messages it adds to the mailboxes).
fn demo_with(
    setup: impl FnOnce(&mut Config, &retractor::demo::DemoSummary) -> Vec<String>,
) -> Demo {
    let dir = tempfile::tempdir().unwrap();
    let summary = retractor::demo::generate(&dir.path().join("demo"), fixed_now()).unwrap();
    let mut config = Config::load(&summary.config_path).unwrap();
    let extra = setup(&mut config, &summary);
    let store = Store::open(&config.store_path).unwrap();
    let resolver = TenantResolver::new(&config, None).unwrap();
    let log = std::fs::File::open(&summary.log_path).unwrap();
    jsonl::ingest(&store, &resolver, std::io::BufReader::new(log)).unwrap();
    if !extra.is_empty() {
        let lines = extra.join("\n");
        jsonl::ingest(&store, &resolver, std::io::BufReader::new(lines.as_bytes())).unwrap();
    }
    let actor = Actor {
        login: "analyst".into(),
        ssh_from: None,
        role: Role::Admin,
    };
    let engine = Engine::new(Arc::new(config), Arc::new(store), actor);
    Demo {
        _dir: dir,
        engine: Arc::new(engine),
        campaign: summary.campaign_message_id,
    }
}

/// The console state plus the engine answering its commands, synchronously.
struct Harness {
    app: App,
    engine: Arc<Engine>,
    tasks: tasks::Tasks,
    rt: tokio::runtime::Runtime,
}

impl Harness {
    fn new(d: &Demo, w: u16, h: u16) -> Harness {
        let app = App::new(
            Keymap::default(),
            w,
            h,
            fixed_now(),
            "analyst (admin)".into(),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut hs = Harness {
            app,
            engine: Arc::clone(&d.engine),
            tasks: tasks::Tasks::embedded(Arc::clone(&d.engine)),
            rt,
        };
        let first = hs.app.start();
        hs.settle(first);
        hs
    }

    /// Carry out commands, and the commands their replies ask for, until none remain. A
    /// submitted job is run to the end here (as the runtime does on a task).
    fn settle(&mut self, mut commands: Vec<Command>) {
        while !commands.is_empty() {
            let mut next = Vec::new();
            for c in commands {
                let events = self.rt.block_on(self.tasks.perform(c));
                for e in events {
                    let run = match &e {
                        Event::Submitted(Ok(job)) => Some(*job),
                        _ => None,
                    };
                    next.extend(app::update(&mut self.app, e));
                    if let Some(job) = run {
                        let done = self.rt.block_on(self.tasks.run_job(job));
                        next.extend(app::update(&mut self.app, done));
                        next.extend(self.jobs_sample());
                    }
                }
            }
            commands = next;
        }
    }

    /// A jobs sample with fixed times, so rate and ETA are the same on every run.
    fn jobs_sample(&mut self) -> Vec<Command> {
        let mut jobs = self.rt.block_on(self.tasks.sample_jobs()).unwrap();
        for j in &mut jobs {
            j.created_at = fixed_now();
            j.started_at = Some(fixed_now());
            j.finished_at = j
                .finished_at
                .map(|_| fixed_now() + chrono::Duration::seconds(4));
        }
        app::update(
            &mut self.app,
            Event::Jobs {
                jobs,
                at: fixed_now() + chrono::Duration::seconds(5),
            },
        )
    }

    /// Press keys (see [`key`]) through the real keymap and settle after each.
    fn press(&mut self, keys: &str) {
        for k in keys.split_whitespace() {
            let commands = app::update(&mut self.app, Event::Key(key(k)));
            self.settle(commands);
        }
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            let commands = app::update(
                &mut self.app,
                Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
            );
            self.settle(commands);
        }
    }

    /// Type a `:` command line and run it.
    fn command(&mut self, line: &str) {
        self.press(":");
        self.type_text(line);
        self.press("Enter");
    }

    /// The status bar's one-line message, or "".
    fn flash(&self) -> &str {
        self.app.flash.as_deref().unwrap_or("")
    }

    fn render(&self, theme: &Theme) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(self.app.width, self.app.height)).unwrap();
        t.draw(|f| ui::draw(f, &self.app, theme)).unwrap();
        t
    }

    fn screen(&self) -> String {
        self.render(&Theme::mono()).backend().to_string()
    }
}

/// A key by name: `Enter`, `Esc`, `Tab`, `Space`, `PgDn`, `C-c`, or one character.
fn key(name: &str) -> KeyEvent {
    let none = KeyModifiers::NONE;
    match name {
        "Enter" => KeyEvent::new(KeyCode::Enter, none),
        "Esc" => KeyEvent::new(KeyCode::Esc, none),
        "Tab" => KeyEvent::new(KeyCode::Tab, none),
        "Space" => KeyEvent::new(KeyCode::Char(' '), none),
        "PgDn" => KeyEvent::new(KeyCode::PageDown, none),
        "Down" => KeyEvent::new(KeyCode::Down, none),
        "C-c" => KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        "C-r" => KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL),
        one => {
            let c = one.chars().next().unwrap();
            let m = if c.is_ascii_uppercase() {
                KeyModifiers::SHIFT
            } else {
                none
            };
            KeyEvent::new(KeyCode::Char(c), m)
        }
    }
}

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Snapshot the screen under `name_WxH`; audit times are the real clock, so they are redacted.
fn snap(h: &Harness, name: &str) {
    snap_screen(
        &format!("{name}_{}x{}", h.app.width, h.app.height),
        h.screen(),
    );
}

/// Compare `screen` with `tests/snapshots/<name>.snap`. Kept in this file for every test
/// module: insta resolves the snapshot folder against the file that calls its macro.
fn snap_screen(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(name, screen);
    });
}

/// Audit times come from the real clock: replace `YYYY-MM-DD hh:mm` and `MM-DD hh:mm`.
fn redact_times(screen: &str) -> String {
    let shape = |s: &[char], pat: &str| {
        s.len() >= pat.len()
            && pat.chars().zip(s).all(|(p, c)| match p {
                'd' => c.is_ascii_digit(),
                other => other == *c,
            })
    };
    let chars: Vec<char> = screen.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if shape(&chars[i..], "dddd-dd-dd dd:dd") {
            out.push_str("YYYY-MM-DD hh:mm");
            i += 16;
        } else if shape(&chars[i..], "dd-dd dd:dd") {
            out.push_str("MM-DD hh:mm");
            i += 11;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Open the campaign's retract tab at depth 2 with every recipient included.
fn campaign_retract_tab(h: &mut Harness) {
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter r +");
    h.press("+");
}

/// Where `text` starts on the screen, searching from the top (ASCII text only).
fn find_on_screen(h: &Harness, text: &str) -> Position {
    let t = h.render(&Theme::mono());
    let buffer = t.backend().buffer();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        if let Some(x) = line.find(text) {
            return Position::new(x as u16, y);
        }
    }
    panic!("'{text}' is not on the screen:\n{}", h.screen());
}

/// The screen lines drawn selected (reverse video in the mono theme), top to bottom.
fn selected_lines(h: &Harness) -> Vec<u16> {
    let t = h.render(&Theme::mono());
    let buffer = t.backend().buffer();
    (0..buffer.area.height)
        .filter(|&y| buffer[(2, y)].modifier.contains(Modifier::REVERSED))
        .collect()
}

impl Harness {
    /// A left click at a screen cell, settled; returns the commands it asked for directly.
    fn click(&mut self, at: Position) -> Vec<Command> {
        let commands = app::update(&mut self.app, Event::Click(at));
        let asked = commands.clone();
        self.settle(commands);
        asked
    }
}
