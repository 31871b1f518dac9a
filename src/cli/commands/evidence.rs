//! `retractor evidence REF [--export FILE.zip|DIR]`: a message's evidence, shown inert
//! (sanitized, URLs defanged), or written as a package (raw EML, evidence JSON, manifest).

use serde_json::json;

use super::super::args::EvidenceArgs;
use super::super::output::print_json;
use super::super::{CliError, Context, exit};
use crate::api::EvidenceView;
use crate::forensics::{Attachment, Evidence};
use crate::model::text::sanitize;

mod package;

pub async fn run(ctx: &Context, a: EvidenceArgs) -> Result<u8, CliError> {
    if let Some(destination) = &a.export {
        return export(ctx, &a.reference, destination).await;
    }
    let view = ctx.read_only_api()?.evidence(&a.reference).await?;
    if ctx.json {
        print_json(&evidence_json(&view));
    } else {
        print_text(&view);
    }
    Ok(exit::OK)
}

async fn export(ctx: &Context, reference: &str, destination: &str) -> Result<u8, CliError> {
    let target = package::Target::parse(destination)?;
    // Checked before the copy is read, so a taken name costs no audit record.
    target.must_be_free()?;
    let export = ctx
        .api()?
        .export_evidence(&crate::api::ExportRequest {
            reference: reference.to_string(),
            destination: target.display(),
        })
        .await?;
    let manifest = package::write(&target, &export)?;
    if ctx.json {
        print_json(&json!({ "export": manifest }));
    } else if !ctx.quiet {
        println!("exported to {}", sanitize(&target.display()));
        for f in manifest["files"].as_array().into_iter().flatten() {
            println!(
                "  {}  {}",
                f["sha256"].as_str().unwrap_or(""),
                f["name"].as_str().unwrap_or("")
            );
        }
    }
    Ok(exit::OK)
}

/// The CONTRACT's `evidence` object, with the copy it came from.
pub(crate) fn evidence_json(view: &EvidenceView) -> serde_json::Value {
    let mut v = serde_json::to_value(&view.evidence).unwrap_or_default();
    v["source"] = serde_json::to_value(&view.source).unwrap_or_default();
    json!({ "evidence": v })
}

fn print_text(view: &EvidenceView) {
    let e: &Evidence = &view.evidence;
    let s = &view.source;
    println!("Message   {}", sanitize(&e.message_id));
    println!("From      {}", sanitize(&e.from));
    println!("Subject   {}", sanitize(&e.subject));
    println!(
        "Copy      {} {} folder {} ({} bytes, sha256 {})",
        sanitize(&s.kind),
        sanitize(&s.mailbox),
        sanitize(&s.folder),
        e.size,
        e.sha256
    );
    let a = &e.auth;
    let verdict = |v: &Option<String>| sanitize(v.as_deref().unwrap_or("-"));
    println!(
        "Auth      spf={} dkim={} dmarc={} arc={} (by {})",
        verdict(&a.spf),
        verdict(&a.dkim),
        verdict(&a.dmarc),
        verdict(&a.arc),
        sanitize(if a.authserv_id.is_empty() {
            "-"
        } else {
            &a.authserv_id
        })
    );
    println!("\nRoute (origin first)");
    for (i, hop) in e.route.iter().enumerate() {
        println!(
            "  {}. from {} [{}] by {} at {}{}",
            i + 1,
            sanitize(or_dash(&hop.from)),
            sanitize(or_dash(&hop.address)),
            sanitize(or_dash(&hop.by)),
            hop.at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into()),
            hop.delay_secs
                .map(|d| format!(" (+{d}s)"))
                .unwrap_or_default()
        );
    }
    println!("\nURLs (defanged)");
    for u in &e.urls {
        println!("  [{}] {}", sanitize(&u.part), sanitize(&u.defanged));
    }
    println!("\nAttachments");
    for att in &e.attachments {
        print_attachment(att, 1);
    }
    println!("\nHeaders");
    for h in &e.headers {
        println!("  {}: {}", sanitize(&h.name), sanitize(&h.value));
    }
}

fn print_attachment(a: &Attachment, depth: usize) {
    let indent = "  ".repeat(depth);
    let mismatch = if !a.declared_type.is_empty() && a.declared_type != a.detected_type {
        "  (declared and detected differ)"
    } else {
        ""
    };
    println!(
        "{indent}{}  {} bytes  declared {}  detected {}{mismatch}",
        sanitize(or_dash(&a.name)),
        a.size,
        sanitize(or_dash(&a.declared_type)),
        a.detected_type
    );
    println!(
        "{indent}  sha256 {}{}",
        a.sha256.as_deref().unwrap_or("-"),
        if a.note.is_empty() {
            String::new()
        } else {
            format!("  ({})", sanitize(&a.note))
        }
    );
    for n in &a.nested {
        print_attachment(n, depth + 1);
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}
