//! `check`: each tenant's connection and permissions.

use serde_json::json;

use super::super::args::CheckArgs;
use super::super::output::{Table, print_json};
use super::super::{CliError, Context, exit};

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
    let store_ok = engine.store().message_count().map(|n| {
        format!(
            "store {}: ok, {n} logged messages",
            engine.store().path().display()
        )
    });
    if ctx.json {
        print_json(&json!({
            "tenants": results.iter().map(|(n, k, ok, d)| json!({"name": n, "kind": k, "ok": ok, "detail": d})).collect::<Vec<_>>(),
        }));
    } else {
        if let Ok(s) = &store_ok {
            println!("{s}");
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
