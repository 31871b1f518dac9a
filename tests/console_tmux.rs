//! The real binary in a private tmux server (`tmux -L <unique> -f /dev/null`): the analyst's
//! path through the demo end to end, the hostile subject rendered inert, and the bandwidth
//! budget (idle writes nothing; one `j` at 120x40 writes at most 1 KB).
//!
//! tmux is a prerequisite: `.ci/run` installs it; these tests fail (not skip) without it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux server of our own, killed on drop.
struct Tmux {
    socket: String,
    home: tempfile::TempDir,
}

const SESSION: &str = "console";

impl Tmux {
    /// Start `retractor demo --dir <tmp>/demo` in a 120x40 pane with HOME and XDG dirs inside a
    /// temporary directory, so the user's files are never touched.
    fn start(name: &str) -> Tmux {
        Tmux::start_with(name, &[])
    }

    fn start_with(name: &str, extra_env: &[&str]) -> Tmux {
        Tmux::start_prepared(name, extra_env, |_| {})
    }

    /// As [`Tmux::start_with`], with `prepare` run on the temporary home before the console
    /// starts (to create the demo and edit its config).
    fn start_prepared(name: &str, extra_env: &[&str], prepare: impl FnOnce(&Path)) -> Tmux {
        let home = tempfile::tempdir().expect("tempdir");
        prepare(home.path());
        let socket = format!("retractor-{name}-{}", std::process::id());
        let t = Tmux { socket, home };
        let demo = t.home.path().join("demo");
        let bin = env!("CARGO_BIN_EXE_retractor");
        let h = t.home.path();
        let mut env = vec![
            format!("HOME={}", h.display()),
            format!("XDG_DATA_HOME={}", h.join("data").display()),
            format!("XDG_STATE_HOME={}", h.join("state").display()),
            format!("XDG_CONFIG_HOME={}", h.join("config").display()),
            "TERM=xterm-256color".to_string(),
        ];
        env.extend(extra_env.iter().map(|e| e.to_string()));
        let mut args: Vec<String> = vec![
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            SESSION.into(),
            "-x".into(),
            "120".into(),
            "-y".into(),
            "40".into(),
        ];
        for e in &env {
            args.push("-e".into());
            args.push(e.clone());
        }
        // The shell reports the exit status in a file: tmux's pane_dead_status is not
        // reliably filled in before the pane is marked dead.
        args.push(format!(
            "{bin} demo --dir {}; echo $? > {}",
            demo.display(),
            t.home.path().join("exit-status").display()
        ));
        args.extend([
            ";".into(),
            "set-option".into(),
            "-g".into(),
            "remain-on-exit".into(),
            "on".into(),
        ]);
        t.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux must be installed (apt-get install tmux; .ci/run does it)");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-t", SESSION, "-p"])
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", SESSION, k]);
            if *k == "Escape" {
                // A key read in the same burst as ESC is parsed as Alt+key (crossterm
                // follows xterm here), and "ESC ESC" as one Esc: let it arrive alone.
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// Poll the pane until `check` holds (15 s at most, polling every 50 ms).
    fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if check(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the pane shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }

    fn pane(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", SESSION, format])
            .trim()
            .to_string()
    }

    fn wait_exit(&self) -> i32 {
        let file = self.home.path().join("exit-status");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.ends_with('\n') {
                return text.trim().parse().expect("exit status");
            }
            assert!(
                Instant::now() < deadline,
                "the console did not exit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Record every byte the program writes to its pty from now on.
    fn record(&self) -> PathBuf {
        let file = self.home.path().join("pane.raw");
        std::fs::write(&file, b"").expect("raw file");
        self.run(&[
            "pipe-pane",
            "-t",
            SESSION,
            "-o",
            &format!("cat >> {}", file.display()),
        ]);
        file
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn size(file: &Path) -> u64 {
    std::fs::metadata(file).map(|m| m.len()).unwrap_or(0)
}

/// Wait until the recording stops growing (150 ms without change, 5 s at most); its size.
fn settled(file: &Path) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = size(file);
    let mut still_since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(30));
        let now = size(file);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(150) {
            break;
        }
    }
    last
}

#[test]
fn analyst_retracts_the_campaign_and_restores_it() {
    let t = Tmux::start("e2e");
    t.wait_for("Messages 1 of");
    let raw = t.record();

    // The hostile subject: visible escapes, never raw control characters.
    t.keys(&["/"]);
    t.type_text("invoice overdue");
    t.keys(&["Enter"]);
    t.wait_for("Messages 1 of 1 ");
    t.keys(&["Enter"]);
    let s = t.wait_for("Message-ID");
    assert!(
        s.contains("Invoice \\x1b[2J\\x1b]0;pwned\\x07 overdue \\u{202e}fdp.exe"),
        "{s}"
    );
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}') && !s.contains('\u{202e}'));
    assert_ne!(
        t.pane("#{pane_title}"),
        "pwned",
        "the OSC title change reached tmux"
    );
    let bytes = std::fs::read(&raw).expect("raw");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains("\u{1b}]0;pwned") && !text.contains("\u{1b}[2J"),
        "raw escape written"
    );

    t.keys(&["Escape"]);
    t.wait("the detail closed", |s| !s.contains("Message-ID"));

    // Find the campaign, open its retract tab, include everyone, raise the depth.
    t.keys(&["/", "C-u"]);
    t.type_text("disposition:malicious");
    t.keys(&["Enter"]);
    t.wait_for("DocuSign: Q4 payroll");
    t.keys(&["Enter"]);
    t.wait_for("Message-ID");
    t.keys(&["r"]);
    t.wait_for("depth 0: +");
    t.keys(&["a"]);
    t.wait(" all excluded", |s| s.contains("[ ]") && !s.contains("[x]"));
    t.keys(&["a"]);
    t.wait("all included", |s| s.contains("[x]") && !s.contains("[ ]"));
    t.keys(&["+", "+"]);
    t.wait_for("depth 2: +");
    t.keys(&["e"]);
    t.type_text("INC-4711");
    t.keys(&["Enter"]);
    t.wait_for("Reason  INC-4711");

    // Run it: the dialog names action and counts, Cancel has focus; y confirms.
    t.keys(&["R"]);
    let s = t.wait_for("Retract (move-to-junk)");
    assert!(
        s.contains("[ Cancel ]") && s.contains("mailboxes will be acted on"),
        "{s}"
    );
    t.keys(&["y"]);

    // Operations shows the job finish; Audit has the record and a verified chain.
    t.keys(&["2"]);
    t.wait("job 1 finished", |s| {
        s.lines().any(|l| {
            l.contains("│1 ")
                && l.contains("retract move-to-junk")
                && (l.contains("done") || l.contains("partial"))
        })
    });
    t.keys(&["3"]);
    let s = t.wait("the audit record", |s| {
        s.contains("chain: verified") && s.contains("INC-4711")
    });
    assert!(s.contains("move-to-junk"), "{s}");

    // Restore the finished job from Operations.
    t.keys(&["2", "g", "u"]);
    t.wait_for("y: Restore");
    t.keys(&["y"]);
    t.wait("the restore job", |s| {
        s.lines().any(|l| {
            l.contains("│2 ")
                && l.contains("restore")
                && (l.contains("done") || l.contains("partial"))
        })
    });
    t.wait("no job running", |s| !s.contains("running]"));

    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn idle_writes_nothing_and_one_j_stays_under_a_kilobyte() {
    let t = Tmux::start("bw");
    t.wait_for("Messages 1 of");
    let raw = t.record();
    // Let the first frame and the first replies land, then measure idle from zero.
    settled(&raw);
    let before = size(&raw);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(size(&raw) - before, 0, "bytes written while idle for 3 s");

    let mut per_key = Vec::new();
    for (key, expect) in [
        ("j", "Messages 2 of"),
        ("k", "Messages 1 of"),
        ("PgDn", "Messages 33 of"),
        ("Tab", "Operations: "),
        ("Tab", "chain: "),
    ] {
        let start = settled(&raw);
        t.keys(&[key]);
        t.wait_for(expect);
        let used = settled(&raw) - start;
        per_key.push((key, used));
    }
    println!("bytes per key at 120x40: {per_key:?}");
    let j = per_key[0].1;
    assert!(j > 0 && j <= 1024, "one j wrote {j} bytes");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

/// Run the binary without a terminal, with HOME and XDG dirs in `home`.
fn headless(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_retractor"))
        .args(args)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run retractor")
}

#[test]
fn without_config_it_says_how_to_start_and_without_a_terminal_it_refuses() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = headless(home.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("retractor demo") && err.contains("config.example.toml"),
        "{err}"
    );

    let demo = home.path().join("demo");
    let out = headless(
        home.path(),
        &["demo", "--dir", demo.to_str().expect("utf-8"), "--no-tui"],
    );
    assert_eq!(out.status.code(), Some(0));
    let config = demo.join("config.toml");
    let out = headless(home.path(), &["--config", config.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("the console needs a terminal"), "{err}");

    // A bad [console] key names the action and the key, before the terminal is touched.
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str("\n[console]\nkeys = { run = \"Hyper-r\" }\n");
    std::fs::write(&config, text).expect("config");
    let out = headless(home.path(), &["--config", config.to_str().expect("utf-8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("[console] keys.run: unknown key 'Hyper-r'"),
        "{err}"
    );
}

#[test]
fn a_panic_gives_the_terminal_back() {
    // Debug builds panic on the first key when asked to (the test hook in src/console).
    let t = Tmux::start_with(
        "panic",
        &["RETRACTOR_CONSOLE_TEST_PANIC=1", "RUST_BACKTRACE=0"],
    );
    t.wait_for("Messages 1 of");
    assert_eq!(
        t.pane("#{alternate_on}"),
        "1",
        "the console uses the alternate screen"
    );
    t.keys(&["j"]);
    assert_eq!(t.wait_exit(), 101, "a panic exits 101");
    let s = t.wait_for("test panic requested");
    assert_eq!(
        t.pane("#{alternate_on}"),
        "0",
        "back on the main screen:\n{s}"
    );
    assert!(
        !s.contains("Messages 1 of"),
        "the console's frame is gone:\n{s}"
    );
}

#[test]
fn the_mouse_is_opt_in_scrolls_the_log_and_is_released_on_exit() {
    // Off by default: the terminal keeps its own selection (copying a Message-ID).
    let t = Tmux::start("nomouse");
    t.wait_for("Messages 1 of");
    assert_eq!(t.pane("#{mouse_any_flag}"), "0", "mouse reporting is off");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);

    let t = Tmux::start_prepared("mouse", &[], |home| {
        let demo = home.join("demo");
        let out = headless(
            home,
            &["demo", "--dir", &demo.display().to_string(), "--no-tui"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = demo.join("config.toml");
        let mut text = std::fs::read_to_string(&config).expect("demo config");
        text.push_str("\n[console]\nmouse = true\n");
        std::fs::write(&config, text).expect("demo config");
    });
    t.wait_for("Messages 1 of");
    assert_eq!(t.pane("#{mouse_any_flag}"), "1", "mouse = true turns it on");
    // Two wheel notches down and one up, as a terminal reports them (SGR 1006).
    for button in [65, 65, 64] {
        t.type_text(&format!("\u{1b}[<{button};20;10M"));
    }
    t.wait_for("Messages 4 of");
    // A left click (press and release, 1-based cells) selects the row under it: the log's
    // sixth row is screen line 12 under the bar, the search bar, the border and the header.
    let click = |column: u16, row: u16| {
        t.type_text(&format!(
            "\u{1b}[<0;{column};{row}M\u{1b}[<0;{column};{row}m"
        ));
    };
    click(20, 12);
    t.wait_for("Messages 6 of");
    // A second click on the selected row opens it, as Enter does.
    click(20, 12);
    t.wait_for("Conversation");
    // The view bar's labels switch views.
    click(24, 1);
    t.wait_for("Operations:");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
    assert_eq!(
        t.pane("#{mouse_any_flag}"),
        "0",
        "mouse reporting is turned off when the console exits"
    );
}

#[test]
fn the_c_locale_gets_ascii_borders() {
    let t = Tmux::start_with("vt100", &["TERM=vt100", "LANG=C", "LC_ALL=", "LC_CTYPE="]);
    t.wait_for("Messages 1 of");
    let raw = t.record();
    settled(&raw);
    // A full repaint (another view and back) draws every border and style again.
    t.keys(&["Tab"]);
    t.wait_for("Operations: ");
    t.keys(&["1"]);
    t.wait_for("Messages 1 of");
    settled(&raw);
    let screen = t.screen();
    assert!(screen.contains("+ Search "), "ASCII borders:\n{screen}");
    assert!(!screen.contains('┌'), "no box drawing:\n{screen}");
    // (tmux sets the pane's TERM itself, over `-e TERM=vt100`: the colour half of the
    // detection is checked by `ui::theme`'s unit test, this test checks the locale half.)
    let bytes = std::fs::read(&raw).expect("raw");
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        !text.contains('┌') && !text.contains('│'),
        "no box drawing written"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}

#[test]
fn an_open_embedded_console_decides_alerts_and_runs_the_policys_job() {
    let t = Tmux::start_prepared("decider", &[], |home| {
        let demo = home.join("demo");
        let out = headless(
            home,
            &["demo", "--dir", &demo.display().to_string(), "--no-tui"],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let config = demo.join("config.toml");
        let mut text = std::fs::read_to_string(&config).expect("demo config");
        text.push_str(
            "\n[policy]\nwindow = \"52w\"\n\n[policy.rules.phish]\nwhen = [\"phish\"]\n\
             action = \"move-to-junk\"\nmode = \"automatic\"\n",
        );
        std::fs::write(&config, text).expect("demo config");
    });
    t.wait_for("Messages 1 of");
    let home = t.home.path();
    let demo = home.join("demo");
    let config = demo.join("config.toml").display().to_string();
    let log = std::fs::read_to_string(demo.join("log.jsonl")).expect("log");
    let first: serde_json::Value =
        serde_json::from_str(log.lines().next().expect("a line")).expect("json");
    let alert = serde_json::json!({"id": "c1", "source": "soar",
        "message_id": first["message_id"], "classification": "phish", "status": "active"});
    let file = home.join("alert.jsonl");
    std::fs::write(&file, format!("{alert}\n")).expect("alert");
    // Only stored here: no worker, no service; the console is the one that decides.
    let out = headless(
        home,
        &["--config", &config, "alert", &file.display().to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = headless(home, &["--config", &config, "--json", "jobs"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("jobs json");
        let done = v["jobs"].as_array().is_some_and(|jobs| {
            jobs.iter()
                .any(|j| j["initiated_by"] == "policy:phish" && j["status"] == "done")
        });
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "no policy job ran: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The footer at 80 columns: whole hints only, none for a key that does nothing on the tab;
/// and after a resize the log fills the taller table again (not scrolled to one row).
#[test]
fn at_80_columns_the_footer_keeps_whole_hints_and_a_resize_keeps_the_table_full() {
    let t = Tmux::start("footer80");
    t.wait_for("Messages 1 of");
    let resize = |w: &str, h: &str| t.run(&["resize-window", "-t", SESSION, "-x", w, "-y", h]);
    resize("80", "24");
    let footer = |s: &str| s.lines().last().unwrap_or("").trim_end().to_string();
    let s = t.wait("the 80-column footer", |s| {
        footer(s).contains("/ search  Enter open") && s.lines().all(|l| l.chars().count() <= 80)
    });
    let list = footer(&s);
    assert!(
        !list.contains("R run") && !list.contains("c cancel"),
        "{list}"
    );
    t.keys(&["/"]);
    t.type_text("disposition:malicious");
    t.keys(&["Enter"]);
    t.wait_for("Messages 1 of 1 ");
    t.keys(&["Enter", "r"]);
    let s = t.wait("the retract tab's footer", |s| footer(s).contains("R run"));
    let tab = footer(&s);
    assert!(tab.contains("Space/a include"), "{tab}");
    // The last hint is whole: a key, a space, a label.
    let last = tab.rsplit("  ").next().unwrap_or("");
    assert!(
        ["back", "run", "help", "reason"]
            .iter()
            .any(|l| last.ends_with(l)),
        "{tab}"
    );
    t.keys(&["Escape", "/", "C-u", "Enter"]);
    let s = t.wait("the whole log", |s| {
        s.contains("Messages 1 of") && !s.contains("Messages 1 of 1 ")
    });
    let total: String = s
        .split("Messages 1 of ")
        .nth(1)
        .unwrap_or("")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let last = format!("Messages {total} of {total}");
    // Down to the end of the log at 80x24, then taller: rows fill the table, not one.
    t.keys(&["G"]);
    t.wait_for(&last);
    resize("200", "50");
    let s = t.wait("the taller table filled", |s| {
        s.lines().filter(|l| l.contains("@")).count() > 30
    });
    assert!(s.contains(&last), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(), 0);
}
