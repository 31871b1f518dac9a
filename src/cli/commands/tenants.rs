//! `check`: each tenant's connection and permissions.

use serde_json::json;

use super::super::args::CheckArgs;
use super::super::output::{Column, Table, print_json};
use super::super::{CliError, Context, exit};
use crate::api::{Authority, Identity};
use crate::config::paths;
use crate::model::text::sanitize;

/// The debug log is this process's own file, in either mode: it must not be readable by
/// others, nor a link.
fn log_file_warnings() -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut warnings = Vec::new();
    let log = paths::log_file();
    match std::fs::symlink_metadata(&log) {
        Ok(meta) if meta.file_type().is_symlink() => warnings.push(format!(
            "{} is a symbolic link; the debug log is not written through it (remove it)",
            log.display()
        )),
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => warnings.push(format!(
            "{} is mode {:04o}; chmod 600 it",
            log.display(),
            meta.permissions().mode() & 0o7777
        )),
        _ => {}
    }
    warnings
}

/// What the caller is told about who enforces their role.
pub(super) fn authority_line(me: &Identity) -> String {
    match me.authority {
        Authority::Advisory => format!(
            "roles are advisory: no service ({} as {}, from the config this process opened)",
            me.login, me.role
        ),
        Authority::Service => format!("roles enforced by the service: {} as {}", me.login, me.role),
    }
}

pub async fn check(ctx: &Context, a: CheckArgs) -> Result<u8, CliError> {
    let api = ctx.api()?;
    let results = api.check(a.tenant.as_deref()).await?;
    // Said in the text only: the JSON shape of `check` is the CONTRACT's.
    let me = api.whoami().await?;
    let status = api.store_status().await?;
    let mut warnings = status.warnings.clone();
    warnings.extend(log_file_warnings());
    let store_ok = status
        .messages
        .as_ref()
        .map(|n| format!("store {}: ok, {n} logged messages", status.path));
    if ctx.json {
        print_json(&json!({
            "tenants": results.iter().map(|r| json!({"name": r.tenant, "kind": r.kind, "ok": r.ok, "detail": r.detail})).collect::<Vec<_>>(),
            "warnings": warnings,
            "authority": me.authority,
        }));
    } else {
        if let Ok(s) = &store_ok {
            println!("{}", sanitize(s));
        }
        println!("{}", sanitize(&authority_line(&me)));
        for w in &warnings {
            println!("warning: {}", sanitize(w));
        }
        let mut t = Table::new(vec![
            Column::text("TENANT"),
            Column::whole("KIND"),
            Column::whole("OK"),
            Column::text("DETAIL"),
        ]);
        for r in &results {
            t.row(vec![
                r.tenant.clone(),
                r.kind.clone(),
                if r.ok { "ok".into() } else { "FAILED".into() },
                r.detail.clone(),
            ]);
        }
        t.print();
    }
    Ok(if results.iter().all(|r| r.ok) && store_ok.is_ok() {
        exit::OK
    } else {
        exit::ERROR
    })
}
