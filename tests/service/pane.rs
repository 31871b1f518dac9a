//! A console in a real terminal (a private tmux server), run as an analyst's account through
//! a service's socket: shared by the tests that drive the console through `--connect`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::site::{BIN, Site};

/// A console in a 120x40 tmux pane, run as `user` through the site's socket.
pub struct Pane {
    socket: String,
    pub home: tempfile::TempDir,
}

impl Pane {
    /// A console as `user` on the site's socket.
    pub fn connect(site: &Site, user: &str) -> Pane {
        Pane::connect_to(&site.socket(), user)
    }

    /// A console as `user` on the service listening at `socket` (one host of several).
    pub fn connect_to(socket: &Path, user: &str) -> Pane {
        let home = tempfile::tempdir().expect("home");
        let out = Command::new("chown")
            .arg(format!("{user}:{user}"))
            .arg(home.path())
            .output()
            .expect("chown");
        assert!(out.status.success(), "{out:?}");
        let pane = Pane {
            socket: format!("rsvc-console-{user}-{}", std::process::id()),
            home,
        };
        let h = pane.home.path();
        let command = format!(
            "runuser -u {user} -- env HOME={h} XDG_STATE_HOME={h}/state XDG_CONFIG_HOME={h}/config \
             XDG_DATA_HOME={h}/data TERM=xterm-256color {BIN} --connect {socket} 2> {h}/stderr; \
             echo $? > {h}/exit-status",
            h = h.display(),
            socket = socket.display(),
        );
        pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "console",
            "-x",
            "120",
            "-y",
            "40",
            &command,
            ";",
            "set-option",
            "-g",
            "remain-on-exit",
            "on",
        ]);
        pane
    }

    pub fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux must be installed (.ci/run installs it)");
        assert!(out.status.success(), "tmux {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "console", k]);
            if *k == "Escape" {
                // A key read in the same burst as ESC is parsed as Alt+key (crossterm
                // follows xterm here), and "ESC ESC" as one Esc: let it arrive alone.
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    }

    pub fn wait(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.tmux(&["capture-pane", "-t", "console", "-p"]);
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the pane shows:\n{screen}\n{}",
                self.console_end()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn wait_for(&self, text: &str) -> String {
        self.wait(text, |s| s.contains(text))
    }

    /// The console's exit status and standard error, if it has exited: why a pane went dead.
    fn console_end(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.home.path().join(name));
        match read("exit-status") {
            Ok(status) => format!(
                "the console exited with {}; its stderr: {}",
                status.trim(),
                read("stderr").unwrap_or_default()
            ),
            Err(_) => "the console is still running".into(),
        }
    }

    pub fn exit_status(&self) -> i32 {
        let file = self.home.path().join("exit-status");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if text.ends_with('\n') {
                return text.trim().parse().expect("exit status");
            }
            if Instant::now() >= deadline {
                let screen = self.tmux(&["capture-pane", "-t", "console", "-p"]);
                panic!("the console did not exit; the pane shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Open the one phish on its retract tab (the service plans it for this caller).
    pub fn open_retract_tab(&self) {
        self.wait_for("Messages 1 of 1");
        self.keys(&["Enter"]);
        self.wait_for("Message-ID");
        self.keys(&["r"]);
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}
