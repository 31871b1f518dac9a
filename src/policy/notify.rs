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

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["-c".into(), script.into()]
    }

    #[tokio::test]
    async fn the_command_reads_the_json_and_its_failures_are_put_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let got = dir.path().join("got.json");
        let long = Duration::from_secs(10);
        let script = format!("cat > '{}'", got.display());
        run("/bin/sh", &sh(&script), long, b"{\"decision\":{}}")
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&got).unwrap(), "{\"decision\":{}}");
        let err = run("/bin/sh", &sh("exit 3"), long, b"").await.unwrap_err();
        assert!(err.contains("exited with"), "{err}");
        let err = run("/nonexistent/soc-notify", &[], long, b"")
            .await
            .unwrap_err();
        assert!(err.starts_with("cannot start"), "{err}");
        let started = std::time::Instant::now();
        let err = run("/bin/sh", &sh("exec sleep 30"), Duration::from_secs(1), b"")
            .await
            .unwrap_err();
        assert!(err.contains("killed"), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the timeout held"
        );
    }
}
