//! The debug log: a private file, opened without following links, one line per entry.
//!
//! Log lines carry text from hostile places (server replies, subjects, a query error's caret
//! diagram). A raw newline in it would start a line that looks like an entry of its own, so
//! every entry is escaped to one line where it is written, whatever the call site logged.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::fmt::MakeWriter;

use crate::config::paths;

/// Start logging to `$XDG_STATE_HOME/retractor/retractor.log`; `None` (no logging) when the
/// file cannot be opened safely. Debug logs go to a file, never the screen (the console
/// owns the terminal).
pub(super) fn init(level: Option<&str>) -> Option<WorkerGuard> {
    let filter = level
        .map(str::to_string)
        .or_else(|| std::env::var("RETRACTOR_LOG").ok())
        .unwrap_or_else(|| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(filter).ok()?;
    let file = open_log(&paths::log_file()).ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(OneLineWriter(writer))
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Open (or create) the log for appending: its directory made 0700 when created here, the
/// file 0600 whatever the umask, and a link or a non-file at its name refused (`O_NOFOLLOW`,
/// and `O_NONBLOCK` so a FIFO planted there cannot block the open).
pub fn open_log(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::other(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    Ok(file)
}

/// Hands the formatter a writer that keeps each entry on one line.
struct OneLineWriter(NonBlocking);

impl<'a> MakeWriter<'a> for OneLineWriter {
    type Writer = OneLine<NonBlocking>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLine(self.0.clone())
    }
}

/// The formatter writes one whole entry per `write` call (it formats into a buffer first);
/// this escapes every control character in it but the final newline.
struct OneLine<W>(W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(one_line(buf).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `entry` as one line: newlines, other controls and bidi marks escaped, one `\n` at the end.
fn one_line(entry: &[u8]) -> String {
    let text = String::from_utf8_lossy(entry);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let mut line = crate::model::text::sanitize(body);
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_entry_with_newlines_stays_one_line() {
        let entry =
            b"2026-11-20T10:00:00Z WARN retractor: query error at column 1\n  frm:x\n  ^^^\n";
        let line = one_line(entry);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.ends_with("^^^\n"), "{line}");
        assert!(line.contains("\\x0a  frm:x"), "{line}");
        assert_eq!(one_line(b"plain\n"), "plain\n");
    }

    #[test]
    fn the_log_is_private_and_never_opened_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("state/retractor.log");
        let file = open_log(&log).unwrap();
        drop(file);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(&dir.path().join("state")), 0o700);

        let target = dir.path().join("victim");
        std::fs::write(&target, "precious").unwrap();
        let linked = dir.path().join("state/linked.log");
        std::os::unix::fs::symlink(&target, &linked).unwrap();
        assert!(open_log(&linked).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    }
}
