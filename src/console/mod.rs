//! The console's runtime: the only code that owns the terminal.
//!
//! One main task reads the crossterm event stream, API replies and a jobs sampler (4 Hz at
//! most), feeds each to the pure [`app::update`], hands the returned commands to tokio tasks,
//! and redraws only when the state says it changed, inside a synchronized update. Idle means no
//! bytes written. The terminal is restored on exit, on error (a guard) and on panic (the hook
//! that `ratatui::try_init` installs).

pub mod tasks;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream, MouseButton,
    MouseEventKind,
};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::app::{self, App, Command, Event, Keymap};
use crate::config::ConsoleSettings;
use crate::model::Job;
use crate::ui::{self, Theme};
use tasks::Tasks;

/// How often the jobs sampler asks for the jobs (progress is redrawn at most this often).
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// How often the Pending view's requests are read (new ones light the view bar's badge).
const SAMPLE_APPROVALS_EVERY: Duration = Duration::from_secs(1);

/// How many recent jobs the embedded console looks through for a policy's queued ones.
const POLICY_JOBS_LOOKED_AT: usize = 50;

/// How long the retract tab's keys must pause before its plan is asked for: a burst of
/// `+`/`Space` searches the tenant's mailboxes once, for the last state.
const PLAN_QUIET: Duration = Duration::from_millis(150);

/// Rows one notch of the mouse wheel moves.
const WHEEL_ROWS: i64 = 3;

/// Why the console could not start.
#[derive(Debug)]
pub struct ConsoleError(pub String);

/// Restores the terminal when dropped, so an error return leaves a usable shell.
struct TerminalGuard {
    mouse: bool,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if self.mouse {
            let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        }
        ratatui::restore();
    }
}

/// Turn mouse reporting on, and off again in the panic hook ahead of ratatui's restore, so a
/// panic does not leave the shell receiving mouse escapes.
fn capture_mouse() -> Result<(), ConsoleError> {
    crossterm::execute!(std::io::stdout(), EnableMouseCapture)
        .map_err(|e| ConsoleError(format!("cannot turn on the mouse: {e}")))?;
    let restore = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        restore(info);
    }));
    Ok(())
}

/// What the console runs with, checked before the terminal is touched.
#[derive(Debug)]
pub struct Prepared {
    /// The keymap of `[console] keys` over the defaults.
    pub keymap: Keymap,
    /// The theme `[console]` and `NO_COLOR` select.
    pub theme: Theme,
    /// `[console] mouse`.
    pub mouse: bool,
}

/// Checks done before the terminal is touched: the theme and keymap of `[console]` (of the
/// config this client was given: a service's config never decides how a console looks),
/// then a terminal on stdout.
pub fn prepare(settings: &ConsoleSettings, source: &Path) -> Result<Prepared, ConsoleError> {
    let keymap = Keymap::with_overrides(&settings.keys)
        .map_err(|e| ConsoleError(format!("{}: {e}", source.display())))?;
    let caps = crate::ui::theme::TerminalCaps::detect(|name| std::env::var(name).ok());
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !caps.colour;
    let ascii = settings.ascii_borders || !caps.unicode;
    let theme = Theme::select(settings.theme.as_deref(), no_color, ascii)
        .map_err(|e| ConsoleError(format!("{}: {e}", source.display())))?;
    if !std::io::stdout().is_terminal() {
        return Err(ConsoleError(
            "the console needs a terminal, and standard output is not one; use the commands instead (`retractor --help`)".into(),
        ));
    }
    Ok(Prepared {
        keymap,
        theme,
        mouse: settings.mouse,
    })
}

/// Run the console over `tasks` (embedded, or a service's API) until the user quits.
pub async fn run(tasks: Arc<Tasks>, prepared: Prepared) -> Result<(), ConsoleError> {
    let Prepared {
        keymap,
        theme,
        mouse,
    } = prepared;
    let api = Arc::clone(tasks.api());
    let me = api.whoami().await.map_err(|e| ConsoleError(e.message))?;
    let tenants = api.tenants().await.map_err(|e| ConsoleError(e.message))?;
    let (width, height) =
        crossterm::terminal::size().map_err(|e| ConsoleError(format!("terminal size: {e}")))?;
    let mut terminal = ratatui::try_init()
        .map_err(|e| ConsoleError(format!("cannot set up the terminal: {e}")))?;
    let _guard = TerminalGuard { mouse };
    if mouse {
        capture_mouse()?;
    }
    let actor = format!("{} ({})", me.login, me.role);
    let mut app = App::new(keymap, width, height, chrono::Utc::now(), actor);
    app.tenants = tenants.into_iter().map(|t| t.name).collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let first = app.start();
    dispatch(&tasks, &tx, first);
    let mut input = EventStream::new();
    // Stopped when `run` returns, however it returns.
    let sampler = AbortOnDrop(tokio::spawn(sample_jobs(Arc::clone(&tasks), tx.clone())));
    let approvals = AbortOnDrop(tokio::spawn(sample_approvals(
        Arc::clone(&tasks),
        tx.clone(),
    )));
    // Embedded, this console is the engine: the policies decide here too, as in `worker
    // --follow`. Against a service, the service's decider does.
    let (stop_deciding, stop) = tokio::sync::watch::channel(false);
    let decider = tasks
        .worker()
        .map(|engine| AbortOnDrop(tokio::spawn(decide_and_run(Arc::clone(engine), stop))));
    // Start-up figures for the log (the README's first-frame numbers come from here).
    let started = std::time::Instant::now();
    let mut first_frame_logged = false;
    let mut first_page_logged = false;
    loop {
        if app.dirty {
            draw(&mut terminal, &app, &theme)?;
            app.dirty = false;
            if !first_frame_logged {
                first_frame_logged = true;
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    "console: first frame"
                );
            }
            if !first_page_logged && !app.messages.rows.is_empty() {
                first_page_logged = true;
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    total = app.messages.total,
                    "console: first page of the log drawn"
                );
            }
        }
        if app.quit {
            break;
        }
        let event = tokio::select! {
            term = input.next() => match term {
                Some(Ok(TermEvent::Key(key))) => {
                    panic_if_asked_by_a_test();
                    app.now = chrono::Utc::now();
                    Event::Key(key)
                }
                Some(Ok(TermEvent::Mouse(m))) => match m.kind {
                    MouseEventKind::ScrollDown => Event::Scroll(WHEEL_ROWS),
                    MouseEventKind::ScrollUp => Event::Scroll(-WHEEL_ROWS),
                    MouseEventKind::Down(MouseButton::Left) => {
                        Event::Click(ratatui::layout::Position::new(m.column, m.row))
                    }
                    _ => continue,
                },
                Some(Ok(TermEvent::Resize(w, h))) => Event::Resize(w, h),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(ConsoleError(format!("reading the terminal: {e}"))),
                None => break,
            },
            Some(reply) = rx.recv() => reply,
        };
        if let Event::Fatal(why) = event {
            return Err(ConsoleError(why));
        }
        let commands = app::update(&mut app, event);
        dispatch(&tasks, &tx, commands);
    }
    drop(sampler);
    drop(approvals);
    // A decision under way finishes or leaves nothing (its claim is given back): stop asks
    // first, the abort on drop ends what is left.
    let _ = stop_deciding.send(true);
    drop(decider);
    Ok(())
}

/// The policy decider of an embedded console, and the runner of the jobs it writes: the
/// console runs only jobs it follows, and nobody here follows a policy's job but this.
async fn decide_and_run(
    engine: Arc<crate::engine::Engine>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let decide = {
        let engine = Arc::clone(&engine);
        async move {
            if let Err(e) = crate::policy::run_decider(engine, Some(stop)).await {
                tracing::warn!("console policy decider stopped: {e}");
            }
        }
    };
    let run = async {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            let queued = match engine.store().jobs(POLICY_JOBS_LOOKED_AT) {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!("console policy jobs: {e}");
                    continue;
                }
            };
            for job in queued.iter().filter(|j| {
                j.status == crate::model::JobStatus::Queued && j.initiated_by.starts_with("policy:")
            }) {
                let options = crate::engine::RunOptions {
                    job: Some(job.id),
                    follow: false,
                };
                if let Err(e) = engine.run(options).await {
                    tracing::warn!(job = job.id, "console policy job run failed: {e}");
                }
                engine.forget_conversation_searches();
            }
        }
    };
    tokio::join!(decide, run);
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The jobs sampler: asks for the jobs on its own task (never on the UI loop) and sends a
/// sample only when it differs from the last; stops when the console is gone.
///
/// It samples the list rather than joining the per-job feeds (`Api::watch`) because the
/// Operations view shows every recent job, including ones other analysts start after the
/// console opened: one `jobs` request a tick covers them all, where a feed per job would need
/// a request per job to learn that a new one exists.
async fn sample_jobs(tasks: Arc<Tasks>, tx: mpsc::UnboundedSender<Event>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_jobs: Option<Vec<Job>> = None;
    loop {
        tick.tick().await;
        match tasks.sample_jobs().await {
            Ok(jobs) if last_jobs.as_ref() != Some(&jobs) => {
                last_jobs = Some(jobs.clone());
                let sample = Event::Jobs {
                    jobs,
                    at: chrono::Utc::now(),
                };
                if tx.send(sample).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("jobs sample: {e}"),
        }
    }
}

/// The approvals sampler: reads the waiting requests on its own task about once a second and
/// sends them only when they changed, so an idle console stays idle.
async fn sample_approvals(tasks: Arc<Tasks>, tx: mpsc::UnboundedSender<Event>) {
    let mut tick = tokio::time::interval(SAMPLE_APPROVALS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last: Option<Vec<crate::store::ApprovalRecord>> = None;
    loop {
        tick.tick().await;
        match tasks.sample_approvals().await {
            Ok(records) if last.as_ref() != Some(&records) => {
                last = Some(records.clone());
                if tx.send(Event::Approvals(records)).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("approvals sample: {e}"),
        }
    }
}

/// Debug builds only: `RETRACTOR_CONSOLE_TEST_PANIC=1` panics on the first key, so the tmux
/// test can check that the panic hook gives the terminal back (main screen, cooked mode).
fn panic_if_asked_by_a_test() {
    #[cfg(debug_assertions)]
    if std::env::var_os("RETRACTOR_CONSOLE_TEST_PANIC").is_some_and(|v| v == "1") {
        panic!("test panic requested by RETRACTOR_CONSOLE_TEST_PANIC");
    }
}

/// Draw one frame inside a synchronized update, so the terminal shows it at once.
fn draw(
    terminal: &mut ratatui::DefaultTerminal,
    app: &App,
    theme: &Theme,
) -> Result<(), ConsoleError> {
    let fail = |e: std::io::Error| ConsoleError(format!("drawing: {e}"));
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate).map_err(fail)?;
    terminal.draw(|f| ui::draw(f, app, theme)).map_err(fail)?;
    crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate).map_err(fail)?;
    Ok(())
}

/// Hand commands to tokio tasks; their replies come back on `tx`.
fn dispatch(tasks: &Arc<Tasks>, tx: &mpsc::UnboundedSender<Event>, commands: Vec<Command>) {
    for command in commands {
        if command == Command::Quit {
            continue;
        }
        let tasks = Arc::clone(tasks);
        let tx = tx.clone();
        let watch_tx = tx.clone();
        let work = tokio::spawn(async move {
            for event in tasks.perform_after_quiet(command, PLAN_QUIET).await {
                let run = match &event {
                    Event::Submitted(Ok(job)) => vec![*job],
                    // Approved here: this console follows the job like one it submitted.
                    Event::ApprovalAnswered { result: Ok(r), .. } => r.job.into_iter().collect(),
                    // Left unfinished by an engine that stopped: this console runs them now.
                    Event::Resumed(jobs) => jobs.clone(),
                    _ => Vec::new(),
                };
                let _ = tx.send(event);
                for job in run {
                    let _ = tx.send(tasks.run_job(job).await);
                }
            }
        });
        // A panic in a task has run the panic hook (terminal restored): stop the console
        // rather than draw on a terminal that is no longer ours.
        tokio::spawn(async move {
            if let Err(e) = work.await
                && e.is_panic()
            {
                let _ = watch_tx.send(Event::Fatal(
                    "the console stopped: background work panicked (its message is printed above)"
                        .into(),
                ));
            }
        });
    }
}
