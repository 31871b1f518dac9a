//! The command line of CONTRACT.md, as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Post-delivery email remediation: find delivered mail, pull it back, prove who did it.
#[derive(Debug, Parser)]
#[command(name = "retractor", version, about, propagate_version = true)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/retractor/config.toml).
    #[arg(long, global = true, value_name = "PATH", env = "RETRACTOR_CONFIG")]
    pub config: Option<PathBuf>,
    /// Run the command through the `retractor serve` listening on this Unix socket: the
    /// service holds the store and the secrets and knows you by your uid. A `--config` given
    /// too then only chooses the console's theme and keys.
    #[arg(long, global = true, value_name = "SOCKET", env = "RETRACTOR_CONNECT")]
    pub connect: Option<PathBuf>,
    /// Machine output on stdout; errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only what scripts need.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Debug log level (the log goes to a file under $XDG_STATE_HOME/retractor).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the self-contained demo tenant and open it.
    Demo(DemoArgs),
    /// Search the message log.
    Search(SearchArgs),
    /// One message: recipients with their state, conversation by depth, headers.
    Show(ShowArgs),
    /// A message's evidence: headers, routing path, authentication verdicts, URLs and
    /// attachments with hashes; `--export` writes an evidence package.
    Evidence(EvidenceArgs),
    /// Pull a logged message back out of its recipients' mailboxes.
    Retract(RetractArgs),
    /// Put pulled messages back where they were.
    Restore(RestoreArgs),
    /// Find matches in every mailbox of a tenant and act on them.
    Sweep(SweepArgs),
    /// List jobs, or one job with its items.
    Jobs(JobsArgs),
    /// Stop a job: done items stay done, queued ones end cancelled.
    Cancel(CancelArgs),
    /// The audit trail, or `audit verify` to check its hash chain.
    Audit(AuditArgs),
    /// Load a message log.
    Ingest(IngestArgs),
    /// Build the log from the mailboxes themselves.
    Index(IndexArgs),
    /// Test each tenant's connection and permissions.
    Check(CheckArgs),
    /// Run queued jobs without a console.
    Worker(WorkerArgs),
    /// Run the engine as a service on a Unix socket (`[service] socket`), with its own worker;
    /// clients use `--connect`. Config default: /etc/retractor/config.toml.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to create the demo (default: $XDG_DATA_HOME/retractor/demo).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Delete an existing demo in DIR first.
    #[arg(long)]
    pub reset: bool,
    /// Only create the demo and print its config path.
    #[arg(long)]
    pub no_tui: bool,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query: free words, field:value terms, "quoted phrases", -negation. Options may come
    /// before or after it; a query that starts with `-` goes after `--` or in quotes with a
    /// leading space (`' -status:retracted'`).
    #[arg(value_name = "QUERY", num_args = 0..)]
    pub query: Vec<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A log id or a Message-ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// How deep to follow the conversation.
    #[arg(long, default_value_t = 3)]
    pub depth: u32,
}

#[derive(Debug, Args)]
pub struct EvidenceArgs {
    /// A log id or a Message-ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Write an evidence package (raw EML, evidence JSON, manifest with hashes) to a new
    /// FILE.zip or a new directory; recorded in the audit.
    #[arg(long, value_name = "FILE.zip|DIR")]
    pub export: Option<String>,
}

/// Options shared by the commands that change mailboxes.
#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Run the job in this process and print it when finished.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct RetractArgs {
    #[arg(value_name = "REF")]
    pub reference: String,
    #[arg(long, value_name = "ACTION")]
    pub action: String,
    /// Only these recipients (repeatable; default: every actionable recipient).
    #[arg(long = "recipient", value_name = "ADDR")]
    pub recipients: Vec<String>,
    /// Never touch these mailboxes, at any depth (repeatable).
    #[arg(long = "exclude", value_name = "ADDR")]
    pub exclude: Vec<String>,
    /// Also pull replies and forwards, this many levels deep.
    #[arg(long, default_value_t = 0)]
    pub depth: u32,
    /// Refuse (exit 4) when the plan would act on more copies than this (default: no cap).
    #[arg(long, value_name = "N")]
    pub max_items: Option<u64>,
    /// Why, or the ticket number: recorded in the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[arg(
        value_name = "REF",
        required_unless_present = "job",
        conflicts_with = "job"
    )]
    pub reference: Option<String>,
    /// Restore everything this job pulled.
    #[arg(long, value_name = "JOB")]
    pub job: Option<i64>,
    #[arg(long = "recipient", value_name = "ADDR")]
    pub recipients: Vec<String>,
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[arg(long, value_name = "T")]
    pub tenant: String,
    #[arg(long = "message-id", value_name = "ID")]
    pub message_ids: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// A URL a text or HTML part links to (repeatable: any of them).
    #[arg(long = "url", value_name = "U")]
    pub urls: Vec<String>,
    /// A domain a linked URL's host is, or is below (repeatable).
    #[arg(long = "url-domain", value_name = "D")]
    pub url_domains: Vec<String>,
    /// The From address's domain, or a domain above it (repeatable).
    #[arg(long = "sender-domain", value_name = "D")]
    pub sender_domains: Vec<String>,
    /// SHA-256 of an attachment or of a file inside an attached archive (repeatable).
    #[arg(long = "attachment-sha256", value_name = "H")]
    pub attachment_sha256: Vec<String>,
    /// Filename of an attachment or of a file inside an attached archive (repeatable).
    #[arg(long = "attachment-name", value_name = "N")]
    pub attachment_names: Vec<String>,
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Sweep on --since alone, with no content filter: every message received since then.
    #[arg(long)]
    pub all: bool,
    /// Refuse (exit 4) when the sweep finds more copies than this (default: 1,000).
    #[arg(long, value_name = "N")]
    pub max_items: Option<u64>,
    #[arg(long, value_name = "ACTION")]
    pub action: String,
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[arg(value_name = "JOB")]
    pub job: Option<i64>,
    /// Keep printing progress until the job (or every job) is finished.
    #[arg(long)]
    pub watch: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    #[arg(value_name = "JOB")]
    pub job: i64,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub verify: Option<AuditCommand>,
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    #[arg(long, value_name = "JOB")]
    pub job: Option<i64>,
    #[arg(long, default_value_t = 200)]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain (every record intact, in order, none missing), the records'
    /// signatures, and the store against the witness.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The witness file to check the store against (default: `[audit] witness`).
    #[arg(long, value_name = "PATH")]
    pub witness: Option<PathBuf>,
    /// The service's public key (default: `service.pub` in `[service] key_dir`, else the
    /// store's directory).
    #[arg(long, value_name = "PUBFILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum IngestFormat {
    Jsonl,
    Postfix,
    #[value(name = "m365-trace")]
    M365Trace,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[arg(long, value_enum)]
    pub format: IngestFormat,
    /// A file, or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Log every record under this tenant.
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    #[arg(long, value_name = "T")]
    pub tenant: String,
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Keep running and pick up new jobs as they come.
    #[arg(long)]
    pub follow: bool,
}
