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
    let dir = tempfile::tempdir().unwrap();
    let summary = retractor::demo::generate(&dir.path().join("demo"), fixed_now()).unwrap();
    let config = Config::load(&summary.config_path).unwrap();
    let store = Store::open(&config.store_path).unwrap();
    let resolver = TenantResolver::new(&config, None).unwrap();
    let log = std::fs::File::open(&summary.log_path).unwrap();
    jsonl::ingest(&store, &resolver, std::io::BufReader::new(log)).unwrap();
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
            tasks: tasks::Tasks::new(Arc::clone(&d.engine)),
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
        let mut jobs = tasks::sample_jobs(&self.engine).unwrap();
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
    let screen = h.screen();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}_{}x{}", h.app.width, h.app.height), screen);
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

#[test]
fn snapshots_of_every_view_at_both_sizes() {
    let d = demo();
    for (w, hh) in SIZES {
        let mut h = Harness::new(&d, w, hh);
        snap(&h, "messages");

        h.press("/");
        h.type_text("from:");
        snap(&h, "search_error");
        h.press("Esc");

        h.press("?");
        snap(&h, "help");
        h.press("Esc");

        campaign_retract_tab(&mut h);
        snap(&h, "retract_tab");
        h.press("h");
        snap(&h, "summary_tab");
        h.press("l l");
        snap(&h, "conversation_tab");
        h.press("l");
        snap(&h, "headers_tab");
        h.press("h h");

        h.press("R");
        snap(&h, "confirm_retract");
        h.press("Esc");
        // Hard-delete asks for the word.
        h.press("A A A A R");
        snap(&h, "confirm_hard_delete");
        h.press("Esc");
    }
}

#[test]
fn snapshots_of_operations_and_audit_after_a_retraction() {
    for (w, hh) in SIZES {
        let d = demo();
        let mut h = Harness::new(&d, w, hh);
        campaign_retract_tab(&mut h);
        h.press("e");
        h.type_text("INC-4711");
        h.press("Enter R y");
        assert!(h.app.running.is_empty(), "the job ran to the end");
        h.press("2");
        snap(&h, "operations");
        h.press("Enter");
        snap(&h, "operations_job_items");
        // Per-item records arrive in the order workers finish them: filter to the request.
        h.press("Esc 3 /");
        h.type_text("queued");
        h.press("Enter");
        let screen = redact_times(&h.screen());
        assert!(screen.contains("chain: verified"), "{screen}");
        assert!(screen.contains("INC-4711") || w < 100, "{screen}");
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("snapshots");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!(format!("audit_{w}x{hh}"), screen));
    }
}

#[test]
fn keys_drive_the_retract_tab_and_the_confirmation() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.depth, 2);
    let preview = form.preview.clone().unwrap().unwrap();
    assert_eq!(preview.by_depth.len(), 3, "{preview:?}");
    let included = form.recipients.iter().filter(|r| r.included).count();
    // Space excludes the first recipient; `a` includes everyone again, then excludes all.
    h.press("Space");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients.iter().filter(|r| r.included).count(),
        included - 1
    );
    h.press("a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients.iter().filter(|r| r.included).count(),
        included
    );
    h.press("a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.recipients.iter().filter(|r| r.included).count(), 0);
    h.press("a");
    // The dialog has Cancel focused: Enter cancels, nothing is submitted.
    h.press("R");
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(out.is_empty() && matches!(h.app.overlay, Overlay::None));
    // `y` confirms: a Submit of exactly what the tab shows.
    h.press("R");
    let out = app::update(&mut h.app, Event::Key(key("y")));
    match out.as_slice() {
        [Command::Submit(Pending::Retract(spec))] => {
            assert_eq!(spec.depth, 2);
            assert_eq!(spec.recipients.len(), included);
        }
        other => panic!("expected one Submit, got {other:?}"),
    }
}

#[test]
fn hard_delete_needs_the_word_and_y_is_not_enough() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    campaign_retract_tab(&mut h);
    h.press("A A A A R");
    assert!(app::update(&mut h.app, Event::Key(key("y"))).is_empty());
    assert!(
        matches!(h.app.overlay, Overlay::Confirm(_)),
        "y typed into the field"
    );
    h.press("C-c"); // not a confirmation either
    assert!(app::update(&mut h.app, Event::Key(key("Enter"))).is_empty());
    h.press("Esc R");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation")
    };
    assert_eq!(
        c.word.as_ref().map(|w| w.expected),
        Some(retractor::engine::HARD_DELETE_WORD),
        "the engine's word, the one `retract --action hard-delete` asks for"
    );
    for c in "delete".chars() {
        let _ = app::update(&mut h.app, Event::Key(key(&c.to_string())));
    }
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(
        matches!(out.as_slice(), [Command::Submit(Pending::Retract(s))] if s.action == retractor::model::Action::HardDelete)
    );
}

#[test]
fn stale_replies_are_dropped_and_paging_fetches_only_the_visible_window() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let old_req = h.app.messages.req;
    // A newer search is asked for; the reply to the old one must not replace its rows.
    let out = app::update(&mut h.app, Event::Key(key("/")));
    assert!(out.is_empty());
    h.app.search = app::single_line("disposition:malicious");
    let out = app::update(&mut h.app, Event::Key(key("Enter")));
    let Command::Search { req, limit, .. } = out[0].clone() else {
        panic!("{out:?}")
    };
    assert!(limit <= 3 * 40, "fetches a window, not the log: {limit}");
    let before = h.app.messages.rows.clone();
    let out = app::update(
        &mut h.app,
        Event::Page {
            req: old_req,
            offset: 0,
            total: Some(9999),
            rows: Vec::new(),
        },
    );
    assert!(out.is_empty());
    assert_eq!(h.app.messages.rows, before);
    assert_ne!(h.app.messages.total, 9999);
    h.settle(out);
    h.settle(vec![Command::Search {
        req,
        query: "disposition:malicious".into(),
        anchor: retractor::store::PageAnchor::Offset(0),
        offset: 0,
        limit,
        count: true,
    }]);
    assert_eq!(h.app.messages.total, 1);
}

#[test]
fn quit_asks_while_this_console_runs_a_job() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    h.app.running.insert(7);
    assert!(app::update(&mut h.app, Event::Key(key("q"))).is_empty());
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("y"))),
        vec![Command::Quit]
    );
    h.app.running.clear();
    let mut h = Harness::new(&d, 80, 24);
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("q"))),
        vec![Command::Quit]
    );
}

#[test]
fn command_line_completes_and_runs() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press(":");
    h.type_text("op");
    h.press("Tab");
    assert_eq!(app::input_text(&h.app.command_line), "operations ");
    h.press("Enter");
    assert_eq!(h.app.view, app::View::Operations);
    h.command("fly");
    assert!(h.flash().contains("unknown command :fly"));
}

#[test]
fn the_hostile_subject_reaches_widgets_only_as_visible_escapes() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("invoice overdue");
    h.press("Enter Enter");
    let screen = h.screen();
    assert!(
        screen.contains("Invoice \\x1b[2J\\x1b]0;pwned\\x07 overdue \\u{202e}fdp.exe"),
        "{screen}"
    );
    let t = h.render(&Theme::ansi16());
    for cell in t.backend().buffer().content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control character in a cell"
        );
    }
}

#[test]
fn the_mono_theme_keeps_the_selection_visible_without_colour() {
    let d = demo();
    let h = Harness::new(&d, 80, 24);
    let t = h.render(&Theme::mono());
    let buffer = t.backend().buffer();
    // Row 6 is the first data row of the table (bar, search bar 3, border, header).
    let cell = &buffer[(2, 6)];
    assert!(cell.modifier.contains(Modifier::REVERSED), "{cell:?}");
    assert_eq!(cell.fg, ratatui::style::Color::Reset);
    assert_eq!(cell.bg, ratatui::style::Color::Reset);
    let ascii = Theme::mono().with_ascii_borders();
    let t = h.render(&ascii);
    assert_eq!(t.backend().buffer()[(0, 1)].symbol(), "+");
}

/// The closing note's figure: keystrokes from the start to a confirmed retraction of the
/// campaign at depth 2: `/docusiqn` Enter (the sender's look-alike domain; the campaign is the
/// oldest of its 4 matches), `G`, `r`, `+` `+`, `R`, `y`.
#[test]
fn sixteen_keystrokes_from_start_to_a_confirmed_depth_2_retraction() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let keys = [
        "/", "d", "o", "c", "u", "s", "i", "q", "n", "Enter", "G", "r", "+", "+", "R", "y",
    ];
    let mut submitted = None;
    for (n, k) in keys.iter().enumerate() {
        let out = app::update(&mut h.app, Event::Key(key(k)));
        if let Some(Command::Submit(Pending::Retract(spec))) = out.first() {
            submitted = Some((n + 1, spec.clone()));
        }
        h.settle(out);
    }
    let (count, spec) = submitted.expect("a retraction was submitted");
    assert_eq!(count, 16);
    assert_eq!(spec.depth, 2);
    let message = d.engine.store().message(spec.message).unwrap();
    assert_eq!(message.message_id, d.campaign);
    assert!(h.flash().contains("finished"));
}

/// Keyset and from-the-end pages are the same rows as OFFSET pages, and moving through the
/// log one row at a time shows every row in order.
#[test]
fn keyset_paging_agrees_with_offsets_and_walks_the_whole_log_in_order() {
    use retractor::store::PageAnchor;
    let d = demo();
    let store = d.engine.store();
    let q = retractor::query::parse("", fixed_now()).unwrap();
    let all = store.search(&q, 1000, 0).unwrap();
    let n = all.len();
    let ids = |v: &[retractor::model::LoggedMessage]| v.iter().map(|m| m.id).collect::<Vec<_>>();
    let m = &all[99];
    let after = store
        .search_page(&q, PageAnchor::After(m.received_at.timestamp(), m.id), 10)
        .unwrap();
    assert_eq!(ids(&after), ids(&all[100..110]));
    let m = &all[110];
    let before = store
        .search_page(&q, PageAnchor::Before(m.received_at.timestamp(), m.id), 10)
        .unwrap();
    assert_eq!(ids(&before), ids(&all[100..110]));
    let end = store.search_page(&q, PageAnchor::FromEnd(5), 10).unwrap();
    assert_eq!(ids(&end), ids(&all[n - 15..n - 5]));

    // Walk down with j through the whole table at 80x24, then G and back up with k.
    let mut h = Harness::new(&d, 80, 24);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(
            h.app.selected_message().map(|r| r.id),
            Some(m.id),
            "row {i}"
        );
        h.press("j");
    }
    h.press("G");
    for i in (n - 60..n).rev() {
        assert_eq!(
            h.app.selected_message().map(|r| r.id),
            Some(all[i].id),
            "row {i}"
        );
        h.press("k");
    }
}

#[test]
fn the_mouse_wheel_moves_what_the_arrows_move_and_nothing_while_typing() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let wheel = |h: &mut Harness, rows: i64| {
        let commands = app::update(&mut h.app, Event::Scroll(rows));
        h.settle(commands);
    };
    assert_eq!(h.app.messages.selected, 0);
    wheel(&mut h, 3);
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 6);
    wheel(&mut h, -3);
    h.press("j");
    assert_eq!(h.app.messages.selected, 4, "wheel and j agree");
    wheel(&mut h, -100);
    assert_eq!(h.app.messages.selected, 0, "clamped at the top");
    // While the search bar has focus, the wheel does nothing (it types nothing either).
    h.press("/");
    h.app.dirty = false;
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 0);
    assert!(!h.app.dirty, "nothing to redraw");
    h.press("Esc");
    // Nor under a dialog.
    h.press("?");
    wheel(&mut h, 3);
    assert_eq!(h.app.messages.selected, 0);
}

#[test]
fn tenant_scope_narrows_the_log_and_is_shown_in_the_title() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    let everything = h.app.messages.total;
    assert!(everything > 300, "{everything}");
    // The runtime sets the configured tenants; a second, empty one shows the narrowing.
    h.app.tenants = vec!["demo".into(), "branch".into()];
    h.press(":");
    h.type_text("tenant b");
    h.press("Tab");
    assert_eq!(app::input_text(&h.app.command_line), "tenant branch");
    h.press("Enter");
    assert_eq!(h.app.tenant.as_deref(), Some("branch"));
    assert_eq!(h.app.messages.total, 0, "the demo's mail is all in 'demo'");
    assert!(h.screen().contains("Messages 0 of 0 · tenant branch"));
    h.command("tenant demo");
    assert_eq!(h.app.messages.total, everything);
    // The scope combines with the typed query.
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter");
    assert_eq!(h.app.messages.total, 1);
    assert!(h.screen().contains("Messages 1 of 1 · tenant demo"));
    // Unknown names are refused and change nothing; `:tenant` alone shows all again.
    h.command("tenant nope");
    assert!(h.flash().contains("no tenant 'nope'"));
    assert_eq!(h.app.tenant.as_deref(), Some("demo"));
    h.command("tenant");
    assert_eq!(h.app.tenant, None);
    assert_eq!(h.app.messages.total, 1, "the typed query stays");
}

#[test]
fn sweep_reads_every_mailbox_asks_with_counts_and_runs() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.app.tenants = vec!["demo".into()];
    // Nothing open and nothing named: the command says what it needs.
    h.command("sweep");
    assert!(
        h.flash().contains("needs a message open"),
        "{:?}",
        h.app.flash
    );
    // The campaign open: sweep its Message-ID through every mailbox of its tenant.
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter");
    let recipients = h
        .app
        .detail
        .as_ref()
        .unwrap()
        .loaded
        .as_ref()
        .unwrap()
        .row
        .recipient_count;
    h.command("sweep trash");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    assert_eq!(c.title, "Sweep (trash)");
    assert!(!c.ok_focused, "Cancel has focus");
    let text = c.lines.join("\n");
    assert!(text.contains("every mailbox of tenant demo"), "{text}");
    assert!(text.contains(&d.campaign), "{text}");
    // The external partner is not a mailbox of ours; every internal copy is found by reading
    // the mailboxes, including any the log does not list.
    let Pending::Sweep(request) = &c.pending else {
        panic!("{:?}", c.pending)
    };
    assert_eq!(request.message_ids, vec![d.campaign.clone()]);
    let copies: usize = text
        .lines()
        .find_map(|l| l.strip_suffix(" mailboxes will be acted on"))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // 25 recipients, one an external partner; one bystander had already deleted it (the copy
    // is in Trash, where this sweep puts it: in the job, not moved again).
    assert_eq!(copies, recipients - 1, "{text}");
    assert!(
        text.contains("1 of these copies are already where trash puts them"),
        "{text}"
    );
    snap(&h, "confirm_sweep");
    h.press("y");
    assert!(h.app.running.is_empty(), "the job ran to the end");
    let jobs = tasks::sample_jobs(&d.engine).unwrap();
    let sweep = jobs
        .iter()
        .find(|j| j.kind == retractor::model::JobKind::Sweep)
        .expect("a sweep job");
    assert_eq!(sweep.counts.remediated as usize, copies, "{sweep:?}");
    assert_eq!(sweep.counts.failed, 0, "{sweep:?}");
    // A second sweep says every copy is already in Trash before anything runs.
    h.command("sweep trash");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    let text = c.lines.join("\n");
    assert!(
        text.contains(&format!(
            "{copies} of these copies are already where trash puts them"
        )),
        "{text}"
    );
    h.press("Esc");
    // Operations lists it like any job.
    h.press("2");
    let screen = h.screen();
    assert!(
        screen
            .lines()
            .any(|l| l.contains("sweep trash") && l.contains("done")),
        "{screen}"
    );
}

/// `:sweep` without an action is refused as `sweep` without `--action` is: no default action,
/// no search of the mailboxes.
#[test]
fn sweep_without_an_action_is_refused_as_the_cli_refuses_it() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.app.tenants = vec!["demo".into()];
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter");
    h.press(":");
    h.type_text("sweep");
    let asked = app::update(&mut h.app, Event::Key(key("Enter")));
    assert!(
        !asked.iter().any(|c| matches!(c, Command::PlanSweep { .. })),
        "{asked:?}"
    );
    assert!(h.flash().contains("needs --action"), "{}", h.flash());
    assert!(h.flash().contains(":sweep ACTION"), "{}", h.flash());
    assert!(matches!(h.app.overlay, Overlay::None));
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

#[test]
fn clicks_switch_views_and_tabs_select_rows_and_open_the_selected_one() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    // Bar (1), search bar (3), the table's border and header (2): row 3 of the log is line 9.
    h.click(Position::new(40, 9));
    assert_eq!(h.app.messages.selected, 3);
    assert!(h.app.detail.is_none(), "the first click only selects");
    assert_eq!(selected_lines(&h), vec![9]);
    h.click(Position::new(40, 9));
    let open = h.app.detail.as_ref().map(|d| d.id);
    assert_eq!(
        open,
        h.app.selected_message().map(|r| r.id),
        "a second click opens"
    );
    assert_eq!(h.app.focus, Focus::Detail);

    // The pane's tab titles switch tabs; the retract tab brings its form and counts.
    let tab = find_on_screen(&h, "Recipients ");
    h.click(tab);
    let detail = h.app.detail.as_ref().unwrap();
    assert_eq!(detail.tab, Tab::Recipients);
    let form = detail.form.as_ref().unwrap();
    assert!(form.preview.is_some(), "counts were asked for");
    let (i, who) = form
        .recipients
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, r)| !r.external)
        .map(|(i, r)| (i, r.shown.clone()))
        .expect("a second internal recipient");
    let was_included = form.recipients[i].included;
    let row = find_on_screen(&h, &format!("] {}", &who[..who.len().min(20)]));
    h.click(row);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.cursor, i, "the first click moves the cursor");
    assert_eq!(form.recipients[i].included, was_included);
    h.click(row);
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(
        form.recipients[i].included, !was_included,
        "a second click toggles"
    );

    // The reason line takes the reason; clicking away keeps what was typed.
    h.click(find_on_screen(&h, "Reason "));
    assert_eq!(h.app.focus, Focus::Reason);
    h.type_text("INC-1");
    h.click(find_on_screen(&h, "Summary "));
    assert_eq!(h.app.focus, Focus::Detail);
    assert_eq!(h.app.detail.as_ref().unwrap().tab, Tab::Summary);
    let reason = &h.app.detail.as_ref().unwrap().form.as_ref().unwrap().reason;
    assert_eq!(app::input_text(reason), "INC-1");

    // A click never answers a dialog: not on the dialog, not beside it.
    h.press("r R");
    assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    for at in [
        Position::new(60, 20),
        Position::new(2, 0),
        Position::new(5, 9),
    ] {
        let asked = h.click(at);
        assert!(asked.is_empty(), "{asked:?}");
        assert!(matches!(h.app.overlay, Overlay::Confirm(_)));
    }
    h.press("Esc");

    // The view bar switches views.
    h.click(find_on_screen(&h, "2 Operations"));
    assert_eq!(h.app.view, View::Operations);
    h.click(find_on_screen(&h, "3 Audit"));
    assert_eq!(h.app.view, View::Audit);
    h.click(find_on_screen(&h, "1 Messages"));
    assert_eq!(h.app.view, View::Messages);

    // Help closes on a click; a click on the log while typing a search leaves the search
    // without running it, and selects without opening.
    h.press("?");
    h.click(Position::new(40, 9));
    assert!(matches!(h.app.overlay, Overlay::None));
    h.press("Esc");
    let query = h.app.messages.query.clone();
    h.press("/");
    h.type_text("from:nobody");
    h.click(Position::new(40, 7));
    assert_eq!(h.app.focus, Focus::List);
    assert_eq!(h.app.messages.query, query, "the typed query was not run");
    assert_eq!(h.app.messages.selected, 1);
    assert!(h.app.detail.is_none());
    // Clicking the search bar starts typing there.
    h.click(Position::new(10, 2));
    assert_eq!(h.app.focus, Focus::Search);
}

/// Lists longer than the screen keep the selection on it, and a click picks the row drawn
/// under the pointer after scrolling.
#[test]
fn audit_and_operations_scroll_with_the_selection_and_clicks_pick_the_rows_drawn() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    campaign_retract_tab(&mut h);
    h.press("R y");
    h.press("3");
    let records = h.app.audit.rows.len();
    // 80x24: bar, filter (3), chain line, border, header ... border, status: 15 rows.
    let visible = 24 - 1 - 3 - 1 - 3 - 1;
    assert!(records > visible, "{records} audit records");
    h.press("G");
    assert_eq!(h.app.audit.selected, records - 1);
    let last_row_line = 24 - 3;
    assert_eq!(
        selected_lines(&h),
        vec![last_row_line as u16],
        "{}",
        h.screen()
    );
    // Moving up inside the window moves the highlight, not the rows.
    h.press("k");
    assert_eq!(selected_lines(&h), vec![last_row_line as u16 - 1]);
    h.press("j");
    let first_row_line = 1 + 3 + 1 + 2;
    h.click(Position::new(10, first_row_line));
    assert_eq!(h.app.audit.selected, records - visible);
    assert_eq!(
        selected_lines(&h),
        vec![first_row_line],
        "the list did not jump"
    );
    h.click(Position::new(10, first_row_line - 1));
    assert_eq!(
        h.app.audit.selected,
        records - visible,
        "the header is not a row"
    );

    h.press("2");
    assert!(!h.app.ops.jobs.is_empty());
    assert!(h.app.ops.open.is_none());
    h.click(Position::new(10, 3));
    let first_job = h.app.ops.jobs[0].id;
    assert_eq!(
        h.app.ops.open.as_ref().map(|o| o.job),
        Some(first_job),
        "a click on the selected job lists its items"
    );

    // At the end of the audit, a taller terminal shows more records above, never blank lines
    // under the last one.
    h.press("Esc 3 G");
    let commands = app::update(&mut h.app, Event::Resize(120, 40));
    h.settle(commands);
    assert_eq!(selected_lines(&h), vec![40 - 3], "{}", h.screen());
}

/// When a job ends the open message is read again (new states and folders); what the
/// analyst chose on the retract tab stays.
#[test]
fn a_reload_after_the_job_keeps_the_analysts_choices() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    let first = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let excluded = first
        .recipients
        .iter()
        .position(|r| !r.external)
        .expect("an internal recipient");
    let address = first.recipients[excluded].address.clone();
    h.press("Space A e");
    h.type_text("INC-9");
    h.press("Enter R y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.depth, 2);
    assert_eq!(form.action, retractor::model::Action::Trash);
    assert_eq!(app::input_text(&form.reason), "INC-9");
    let row = form
        .recipients
        .iter()
        .find(|r| r.address == address)
        .unwrap();
    assert!(!row.included, "the excluded recipient stays excluded");
    assert!(
        form.recipients
            .iter()
            .any(|r| r.included && r.state != "delivered"),
        "states were refreshed: {:?}",
        form.recipients
            .iter()
            .map(|r| r.state.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn u_restores_exactly_the_ticked_recipients_and_the_dialog_names_them() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R y");
    assert!(h.flash().contains("finished"), "{}", h.flash());
    // Untick everyone, then tick one internal recipient.
    h.press("a");
    loop {
        let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
        if !form.recipients[form.cursor].external {
            break;
        }
        h.press("j");
    }
    h.press("Space");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    let ticked: Vec<String> = form
        .recipients
        .iter()
        .filter(|r| r.included)
        .map(|r| r.address.clone())
        .collect();
    assert_eq!(ticked.len(), 1);
    let others: Vec<String> = form
        .recipients
        .iter()
        .filter(|r| !r.included && !r.external)
        .map(|r| r.address.clone())
        .collect();
    assert!(!others.is_empty());

    h.press("u");
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no dialog: {}", h.flash());
    };
    let text = c.lines.join("\n");
    assert!(text.contains("the ticked recipients only"), "{text}");
    assert!(text.contains(&ticked[0]), "{text}");
    assert!(others.iter().all(|o| !text.contains(o.as_str())), "{text}");
    let Pending::RestoreMessage {
        items, recipients, ..
    } = &c.pending
    else {
        panic!("{:?}", c.pending);
    };
    assert_eq!(recipients, &ticked);
    assert!(
        text.contains(&format!("Restore {} pulled copies", items.len())),
        "{text}"
    );
    h.press("y");
    assert!(h.flash().contains("finished"), "{}", h.flash());

    // The restore job put back the ticked recipient's copies and nobody else's.
    let jobs = tasks::sample_jobs(&h.engine).unwrap();
    let restore = jobs
        .iter()
        .find(|j| j.kind == retractor::model::JobKind::Restore)
        .expect("a restore job");
    let restored = h.engine.store().job_items(restore.id).unwrap();
    assert!(!restored.is_empty());
    assert!(
        restored.iter().all(|i| i.mailbox == ticked[0]),
        "{:?}",
        restored.iter().map(|i| &i.mailbox).collect::<Vec<_>>()
    );
    // With nobody ticked, `u` refuses instead of restoring everything.
    h.press("a a");
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert!(form.recipients.iter().all(|r| !r.included));
    h.press("u");
    assert!(matches!(h.app.overlay, Overlay::None));
    assert!(
        h.flash().contains("no recipient is ticked"),
        "{}",
        h.flash()
    );
}

#[test]
fn quit_asks_while_a_confirmed_submission_is_pending() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    // Confirmed, but the job is not written yet (its Submit is not carried out here).
    let out = app::update(&mut h.app, Event::Key(key("y")));
    assert!(matches!(out.as_slice(), [Command::Submit(_)]), "{out:?}");
    assert!(app::update(&mut h.app, Event::Key(key("q"))).is_empty());
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("quit did not ask");
    };
    assert!(
        c.lines[0].contains("still being planned and written"),
        "{:?}",
        c.lines
    );
    h.press("Esc");
    // Once the submission answered (here: it failed), quitting no longer asks.
    app::update(&mut h.app, Event::Submitted(Err("gone".into())));
    assert_eq!(
        app::update(&mut h.app, Event::Key(key("q"))),
        vec![Command::Quit]
    );
}

#[test]
fn the_console_resumes_a_job_an_engine_that_stopped_left_running() {
    let d = demo();
    // A job taken on by a worker that is gone (no such process, no heartbeat).
    let mut h = Harness::new(&d, 120, 40);
    campaign_retract_tab(&mut h);
    h.press("R");
    let out = app::update(&mut h.app, Event::Key(key("y")));
    let events = h.rt.block_on(h.tasks.perform(out[0].clone()));
    let Some(Event::Submitted(Ok(job))) = events.first() else {
        panic!("{events:?}");
    };
    let job = *job;
    let store = h.engine.store();
    store.register_worker("nohost:1:gone", "nohost", 1).unwrap();
    assert!(
        !store
            .claim_items("nohost:1:gone", 2, Some(&[job]))
            .unwrap()
            .is_empty()
    );
    store.unregister_worker("nohost:1:gone").unwrap();
    assert_eq!(store.job(job).unwrap().status.as_str(), "running");

    // The next console finds it on start and runs it to the end.
    let h = Harness::new(&d, 120, 40);
    assert!(
        h.app.running.contains(&job),
        "{}",
        h.app.flash.as_deref().unwrap_or("")
    );
    assert!(h.flash().contains("resuming job(s)"), "{}", h.flash());
    h.rt.block_on(h.tasks.run_job(job));
    let status = h.engine.store().job(job).unwrap().status;
    assert!(status.is_finished(), "{status:?}");
}

#[test]
fn sweep_in_the_console_keeps_the_engines_rails_and_lists_the_copies() {
    let d = demo();
    let mut h = Harness::new(&d, 80, 24);
    h.app.tenants = vec!["demo".into()];
    // Blank filters and a date alone are refused by the engine, as for the CLI.
    for line in [
        r#"sweep trash subject:" ""#,
        r#"sweep trash from:" ""#,
        r#"sweep trash msgid:"<>""#,
    ] {
        h.command(line);
        assert!(matches!(h.app.overlay, Overlay::None), "{line}: no dialog");
        let flash = h.flash();
        assert!(flash.contains("empty"), "{line}: {flash}");
    }
    h.command("sweep trash since:30d");
    assert!(h.flash().contains("--all"), "{:?}", h.app.flash);
    // Above the cap: refused, naming the count and how to raise it.
    h.command("sweep trash since:30d all max:3");
    let flash = h.flash();
    assert!(
        flash.contains("refused") && flash.contains("max:"),
        "{flash}"
    );
    assert!(matches!(h.app.overlay, Overlay::None));
    // Within it: the dialog lists what matched, not only how much.
    h.command(r#"sweep trash subject:"DocuSign: Q4 payroll""#);
    let Overlay::Confirm(c) = &h.app.overlay else {
        panic!("no confirmation: {:?}", h.app.flash)
    };
    let text = c.lines.join("\n");
    assert!(text.contains("aaron.feld@demo.test  INBOX  <"), "{text}");
    assert!(
        text.contains(" more"),
        "the first few, then how many more: {text}"
    );
    snap(&h, "confirm_sweep_list");
    h.press("Esc");
}

/// Three quick `+` on the retract tab: the runtime's quiet moment lets only the newest plan
/// reach the engine; a stale reply that arrives after the newest never replaces its counts;
/// and the engine answers a conversation search it made lately from memory (the depth 1 and
/// 2 levels were searched for depth 3), so re-planning searches no mailbox again.
#[test]
fn a_burst_of_plan_keys_plans_once_and_shows_the_newest_counts() {
    let d = demo();
    let mut h = Harness::new(&d, 120, 40);
    h.press("/");
    h.type_text("disposition:malicious");
    h.press("Enter Enter r");
    let searches = |h: &Harness| h.tasks.engine().conversation_searches_made();
    let before = searches(&h);
    let mut asked = Vec::new();
    for _ in 0..3 {
        asked.extend(app::update(&mut h.app, Event::Key(key("+"))));
    }
    let reqs: Vec<u64> = asked
        .iter()
        .filter_map(|c| match c {
            Command::Preview { req, .. } => Some(*req),
            _ => None,
        })
        .collect();
    assert_eq!(reqs.len(), 3, "{asked:?}");
    let latest = reqs[2];
    let quiet = std::time::Duration::from_millis(150);
    let replies: Vec<Event> =
        h.rt.block_on(futures_util::future::join_all(
            asked
                .iter()
                .map(|c| h.tasks.perform_after_quiet(c.clone(), quiet)),
        ))
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(
        replies.len(),
        1,
        "only the newest plan is made: {replies:?}"
    );
    assert!(matches!(replies[0], Event::Preview { req, .. } if req == latest));
    let after_burst = searches(&h);
    assert!(
        after_burst > before,
        "depth 3 searches the mailboxes for replies"
    );
    for e in replies {
        let next = app::update(&mut h.app, e);
        h.settle(next);
    }
    let newest = h
        .app
        .detail
        .as_ref()
        .unwrap()
        .form
        .as_ref()
        .unwrap()
        .preview
        .clone();
    // The older requests' replies arrive late (planned here directly): they are dropped.
    let stale: Vec<Event> =
        h.rt.block_on(futures_util::future::join_all(
            asked[..2].iter().map(|c| h.tasks.perform(c.clone())),
        ))
        .into_iter()
        .flatten()
        .collect();
    let Event::Preview {
        result: depth_one, ..
    } = &stale[0]
    else {
        panic!("{stale:?}")
    };
    assert_ne!(
        Some(depth_one.clone()),
        newest,
        "depth 1 and 3 count differently"
    );
    assert_eq!(
        searches(&h),
        after_burst,
        "depth 1 and 2 are levels of depth 3: answered from memory"
    );
    for e in stale {
        assert!(app::update(&mut h.app, e).is_empty());
    }
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.preview_req, latest);
    assert_eq!(form.depth, 3);
    assert_eq!(
        form.preview, newest,
        "the newest request's counts stay shown"
    );
    // Back to depth 3 after a detour: answered from memory, no second search.
    h.press("- +");
    assert_eq!(
        searches(&h),
        after_burst,
        "depth 2 and 3 were searched before"
    );
    let form = h.app.detail.as_ref().unwrap().form.as_ref().unwrap();
    assert_eq!(form.preview, newest);
}
