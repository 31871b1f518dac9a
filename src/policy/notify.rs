//! `notify_command`: told of every decision (its JSON on standard input), for chat and
//! ticketing. It runs beside the decider, bounded by `notify_timeout`; a failure is logged
//! and never holds up or undoes a pull.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::model::text::sanitize;

/// Run `command` (argv, no shell) with `json` on stdin, in the background.
pub fn spawn(command: &[String], timeout: Duration, json: String) {
    let Some((program, args)) = command.split_first() else {
        return;
    };
    let (program, args) = (program.clone(), args.to_vec());
    tokio::spawn(async move {
        if let Err(why) = run(&program, &args, timeout, json.as_bytes()).await {
            tracing::warn!(program = %sanitize(&program), "notify_command failed: {}", sanitize(&why));
        }
    });
}

/// Run it and wait, at most `timeout`; the error in words.
pub async fn run(
    program: &str,
    args: &[String],
    timeout: Duration,
    input: &[u8],
) -> Result<(), String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start: {e}"))?;
    let mut stdin = child.stdin.take();
    let work = async {
        if let Some(stdin) = stdin.as_mut() {
            // A command that does not read its input is its own business.
            let _ = stdin.write_all(input).await;
        }
        drop(stdin.take());
        child.wait().await
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("exited with {status}")),
        Ok(Err(e)) => Err(format!("wait: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "still running after {}s: killed",
                timeout.as_secs()
            ))
        }
    }
}
