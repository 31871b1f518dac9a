//! `check`: each tenant's connection and permissions.

use std::path::Path;

use serde_json::json;

use super::super::args::CheckArgs;
use super::super::output::{Table, print_json};
use super::super::{CliError, Context, exit};
use crate::config::paths;
use crate::model::text::sanitize;
use crate::store::{STORE_DIR_MODE, STORE_FILE_MODE, loose_modes};

/// Files retractor keeps that others could read: the store (log, audit, evidence of
/// hard-deleted mail), its directory, and the debug log (which must also not be a link).
fn file_warnings(store: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut warnings: Vec<String> = loose_modes(store)
        .into_iter()
        .map(|(path, mode)| {
            let wanted = if path.is_dir() {
                STORE_DIR_MODE
            } else {
                STORE_FILE_MODE
            };
            format!(
                "{} is mode {mode:04o}, open to other users; chmod {wanted:o} it (or {:o} for a group that shares the store)",
                path.display(),
                wanted | (wanted >> 3)
            )
        })
        .collect();
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

pub async fn check(ctx: &Context, a: CheckArgs) -> Result<u8, CliError> {
    let engine = ctx.engine()?;
    let config = engine.config().clone();
    if let Some(t) = &a.tenant
        && config.tenant(t).is_none()
    {
        return Err(CliError::bad_input(format!("--tenant {t}: unknown tenant")));
    }
    let mut results = Vec::new();
    for (name, tenant) in &config.tenants {
        if a.tenant.as_ref().is_some_and(|t| t != name) {
            continue;
        }
        let (ok, detail) = match engine.backend(name) {
            Ok(b) => {
                let r = b.check().await;
                (r.ok, r.detail)
            }
            Err(why) => (false, why),
        };
        results.push((name.clone(), tenant.kind.clone(), ok, detail));
    }
    let warnings = file_warnings(engine.store().path());
    // Without the service's key nothing stops a caller from claiming any role in a config of
    // their own: say so, every time.
    let (authority, authority_line) = match engine.store().signer() {
        Some(key) => (
            crate::store::AUTHORITY_SERVICE,
            format!(
                "roles are enforced by the service (key {})",
                key.public().fingerprint()
            ),
        ),
        None => (
            crate::store::AUTHORITY_ADVISORY,
            "roles are advisory (no service)".to_string(),
        ),
    };
    let store_ok = engine.store().message_count().map(|n| {
        format!(
            "store {}: ok, {n} logged messages",
            engine.store().path().display()
        )
    });
    if ctx.json {
        print_json(&json!({
            "tenants": results.iter().map(|(n, k, ok, d)| json!({"name": n, "kind": k, "ok": ok, "detail": d})).collect::<Vec<_>>(),
            "warnings": warnings,
            "authority": authority,
        }));
    } else {
        if let Ok(s) = &store_ok {
            println!("{s}");
        }
        println!("{authority_line}");
        for w in &warnings {
            println!("warning: {}", sanitize(w));
        }
        let mut t = Table::new(vec!["TENANT", "KIND", "OK", "DETAIL"], vec![20, 8, 6, 0]);
        for (n, k, ok, d) in &results {
            t.row(vec![
                n.clone(),
                k.clone(),
                if *ok { "ok".into() } else { "FAILED".into() },
                d.clone(),
            ]);
        }
        t.print();
    }
    Ok(if results.iter().all(|r| r.2) && store_ok.is_ok() {
        exit::OK
    } else {
        exit::ERROR
    })
}
