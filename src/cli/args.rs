//! The command line of CONTRACT.md, as clap definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::help;

/// Post-delivery email remediation: find delivered mail, pull it back, prove who did it.
#[derive(Debug, Parser)]
#[command(
    name = "retractor",
    version,
    about,
    propagate_version = true,
    long_about = "Post-delivery email remediation: find delivered mail, pull it back, prove who did it.\n\n\
        Without a command, opens the console on the configured tenants. Exit codes: 0 done, \
        1 error, 2 bad usage or input, 3 partial (some items failed), 4 refused (role, or no \
        confirmation).",
    after_help = "Start with `retractor demo`; `retractor COMMAND --help` explains each command with examples."
)]
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
    #[command(after_help = help::DEMO_EXAMPLES)]
    Demo(DemoArgs),
    /// Search the message log.
    #[command(long_about = help::SEARCH, after_help = help::SEARCH_EXAMPLES)]
    Search(SearchArgs),
    /// One message: recipients with their state, conversation by depth, headers.
    #[command(
        long_about = format!("One message: recipients with their state, conversation by depth, headers.\n\n{}", help::REF),
        after_help = help::SHOW_EXAMPLES
    )]
    Show(ShowArgs),
    /// A message's evidence: headers, routing path, authentication verdicts, URLs and
    /// attachments with hashes; `--export` writes an evidence package.
    Evidence(EvidenceArgs),
    /// Pull a logged message back out of its recipients' mailboxes.
    #[command(
        long_about = format!(
            "Pull a logged message back out of its recipients' mailboxes (every actionable \
             recipient unless --recipient narrows it), and with --depth its replies and \
             forwards. Without --yes it asks on a terminal and refuses (exit 4) elsewhere; \
             without --wait the job is queued for a running engine (the console or \
             `retractor worker`).\n\n{}",
            help::REF
        ),
        after_help = help::RETRACT_EXAMPLES
    )]
    Retract(RetractArgs),
    /// Put pulled messages back where they were.
    #[command(
        long_about = format!(
            "Put pulled copies back where they were: a message's (REF, optionally only some \
             recipients) or everything one job pulled (--job). Hard-deleted copies cannot \
             come back.\n\n{}",
            help::REF
        ),
        after_help = help::RESTORE_EXAMPLES
    )]
    Restore(RestoreArgs),
    /// Find matches in every mailbox of a tenant and act on them.
    #[command(
        long_about = format!(
            "Search and destroy: find matches in every mailbox of a tenant, not only what \
             the log knows, and act on them. Filters combine (all must match); at least one \
             of --message-id, --from, --subject is needed (--since alone needs --all); more \
             than --max-items copies (default 1,000) is refused (exit 4).\n\n{}",
            help::WHEN
        ),
        after_help = help::SWEEP_EXAMPLES
    )]
    Sweep(SweepArgs),
    /// List jobs, or one job with its items.
    #[command(
        long_about = "List jobs (newest first), or one job with its items: per mailbox the \
            result and the folders each copy went from and to. --watch follows a job until \
            it finishes, and says so (exit 1) when no engine is running it.",
        after_help = help::JOBS_EXAMPLES
    )]
    Jobs(JobsArgs),
    /// Stop a job: done items stay done, queued ones end cancelled.
    #[command(after_help = "Example:\n  retractor cancel 42")]
    Cancel(CancelArgs),
    /// The audit trail, or `audit verify` to check its hash chain.
    #[command(
        long_about = format!(
            "The audit trail: every request, decision and act, oldest first (the newest \
             --limit records of what the filters select), or `audit verify` to check its \
             hash chain, signatures and witness.\n\n{}",
            help::WHEN
        ),
        after_help = help::AUDIT_EXAMPLES
    )]
    Audit(AuditArgs),
    /// Load a message log.
    #[command(after_help = help::INGEST_EXAMPLES)]
    Ingest(IngestArgs),
    /// Build the log from the mailboxes themselves.
    #[command(after_help = help::INDEX_EXAMPLES)]
    Index(IndexArgs),
    /// Test each tenant's connection and permissions.
    #[command(after_help = help::CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Run queued jobs without a console.
    #[command(after_help = help::WORKER_EXAMPLES)]
    Worker(WorkerArgs),
    /// Run the engine as a service on a Unix socket (`[service] socket`), with its own worker;
    /// clients use `--connect`. Config default: /etc/retractor/config.toml.
    #[command(after_help = help::SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// The alert webhook of `retractor serve` (`[service.webhook]`).
    Webhook(WebhookArgs),
    /// Shell completions (bash, zsh, fish) on stdout.
    #[command(after_help = help::COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// The man page (roff) on stdout: retractor(1), or one command's.
    #[command(after_help = help::MANPAGE_EXAMPLES)]
    Manpage(ManpageArgs),
    /// Submit alerts (JSON lines): each line checked, the good ones stored, the policies decide.
    Alert(AlertArgs),
    /// Approval requests waiting for a second person.
    Pending(PendingArgs),
    /// Approve a waiting request (never your own).
    Approve(ApproveArgs),
    /// Reject a waiting request, with the reason.
    Reject(RejectArgs),
    /// What alerts would do (`policy test`) / what the policies did (`policy report`).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read the abuse mailbox's phish reports now (`[submissions]`): each original raised as
    /// an alert, each report moved to the processed folder.
    #[command(
        long_about = "Read the abuse mailbox's phish reports now ([submissions]): each new \
            report's original (attached whole, an ARF report, or an inline forward found back \
            in the reporter's mailbox) becomes an alert of classification `reported`, or \
            `phish` past the threshold, and the report moves to the processed folder. A \
            malformed report is named and left in the inbox (exit 3). --wait: the policies \
            decide on the alerts before the command returns, and the decisions are printed.",
        after_help = "Examples:\n  retractor submissions\n  retractor submissions --wait --json"
    )]
    Submissions(SubmissionsArgs),
    /// Report a message as a false negative (malicious) or false positive (clean).
    #[command(
        long_about = format!(
            "Report a logged message as a false negative (it is malicious) or a false \
             positive (it is clean): its disposition in the log is set (malicious / clean), \
             the report is audited, and it reaches the policies as an alert (source \
             analyst, id report:<log id>; a false positive withdraws it, so what a rule \
             pulled for it is restored under the rules).\n\n{}",
            help::REF
        ),
        after_help = "Examples:\n  retractor report 302 --false-negative --reason TICKET-1\n  \
                      retractor report '<abc@example.com>' --false-positive"
    )]
    Report(ReportArgs),
    /// Indicators of compromise: add, import a feed, list, remove.
    #[command(subcommand)]
    Ioc(IocCommand),
    /// Hunt the log for the live indicators now; matches go to the policies as alerts.
    Hunt(HuntArgs),
    /// The store itself: `store copy --to URL` copies the SQLite store into PostgreSQL.
    #[command(subcommand)]
    Store(StoreCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Copy the SQLite store ([store] path) into an empty PostgreSQL database, every table:
    /// the log and its search index, jobs, items, evidence, the audit trail (it verifies on
    /// the target), alerts, approvals, reports, indicators. A database that holds rows is
    /// refused; on any error nothing is left in it.
    #[command(
        after_help = "Example:\n  retractor store copy --to postgresql://retractor_owner@db.corp.test/retractor \\\n    --password-env RTX_DB_PASSWORD --ca-file /etc/retractor/db-ca.pem"
    )]
    Copy(StoreCopyArgs),
}

/// Where `store copy` writes: the target's `[store]` keys as flags, with the same checks.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("password").args(["password_env", "password_file", "password_command"])))]
pub struct StoreCopyArgs {
    /// The PostgreSQL database: postgresql://user@host:port/database (no password in it).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The environment variable holding the database password.
    #[arg(long, value_name = "VAR")]
    pub password_env: Option<String>,
    /// A file (0600) holding the database password.
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<String>,
    /// A command that prints the database password.
    #[arg(long, value_name = "COMMAND")]
    pub password_command: Option<String>,
    /// disable, require, verify-ca or verify-full (the default).
    #[arg(long, value_name = "MODE")]
    pub sslmode: Option<String>,
    /// The CA that signed the database server's certificate (default: the system's roots).
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SubmissionsArgs {
    /// Decide the raised alerts before returning, and print the decisions.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("verdict").required(true).args(["false_negative", "false_positive"])))]
pub struct ReportArgs {
    /// A log id or a Message-ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// The message is malicious: the gateway let it through.
    #[arg(long)]
    pub false_negative: bool,
    /// The message is clean: it was called malicious by mistake.
    #[arg(long)]
    pub false_positive: bool,
    /// Why (a ticket), recorded in the audit and the alert.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Decide the raised alerts before returning, and print the decisions.
    #[arg(long)]
    pub wait: bool,
}

/// `ioc add|import|list|remove`.
#[derive(Debug, clap::Subcommand)]
pub enum IocCommand {
    /// Add one indicator.
    Add {
        /// sender, sender-domain, url, url-domain, attachment-sha256, attachment-name or subject.
        #[arg(value_name = "KIND")]
        kind: String,
        #[arg(value_name = "VALUE")]
        value: String,
        /// Where it came from.
        #[arg(long, value_name = "S", default_value = "manual")]
        source: String,
        /// When it stops counting: a span from now (30d) or a date / RFC 3339 time.
        #[arg(long, value_name = "30d|DATE")]
        expires: Option<String>,
        /// What a match implies (default phish).
        #[arg(long, value_name = "C")]
        classification: Option<String>,
    },
    /// Import a feed: every value checked first, stored together or not at all.
    Import {
        /// A file, or - for standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// lines, csv, stix or misp.
        #[arg(long, value_name = "FORMAT")]
        format: String,
        /// The kind of every value of a plain list (default: inferred per line).
        #[arg(long, value_name = "K")]
        kind: Option<String>,
        /// Where it came from (default: the file's name).
        #[arg(long, value_name = "S")]
        source: Option<String>,
    },
    /// The stored indicators.
    List,
    /// Remove one indicator by its id, or --all.
    Remove {
        #[arg(
            value_name = "ID",
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        id: Option<i64>,
        #[arg(long)]
        all: bool,
    },
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: CompletionShell,
}

#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// One command's page (`retractor-COMMAND(1)`) instead of retractor(1).
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct AlertArgs {
    /// A file of JSON lines, or - for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct PendingArgs {}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's number, as `pending` prints it.
    #[arg(value_name = "REQUEST")]
    pub id: i64,
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The request's number, as `pending` prints it.
    #[arg(value_name = "REQUEST")]
    pub id: i64,
    #[arg(long, value_name = "TEXT", required = true)]
    pub reason: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// What each alert of the file would do now, rails included; acts on nothing.
    Test {
        #[arg(value_name = "ALERTS-FILE")]
        file: PathBuf,
    },
    /// Pulls, requests, approvals, rejections, restores and alert-to-pull times.
    Report {
        /// WHEN: RFC 3339 or relative (7d).
        #[arg(long, default_value = "7d", value_name = "WHEN")]
        since: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {}

#[derive(Debug, Args)]
pub struct WebhookArgs {
    #[command(subcommand)]
    pub command: WebhookCommand,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Read a bearer token on standard input and print the `sha256:HEX` that
    /// `[service.webhook] tokens` keeps for it (the config never holds the token).
    HashToken,
}

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
    /// The query: free words, field:value terms, "quoted phrases", -negation (also first:
    /// `search -status:retracted`). Options may come before or after it.
    #[arg(value_name = "QUERY", num_args = 0..)]
    pub query: Vec<String>,
    /// At most this many messages, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A log id (from `search`) or a Message-ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// How many levels of logged replies and forwards to list.
    #[arg(long, value_name = "N", default_value_t = 3)]
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
    /// The message: a log id (from `search`) or a Message-ID.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// What to do with each copy.
    #[arg(long, value_name = "ACTION", value_parser = help::ActionNames)]
    pub action: String,
    /// Only these recipients (repeatable; default: every actionable recipient).
    #[arg(long = "recipient", value_name = "ADDR")]
    pub recipients: Vec<String>,
    /// Never touch these mailboxes, at any depth (repeatable).
    #[arg(long = "exclude", value_name = "ADDR")]
    pub exclude: Vec<String>,
    /// Also pull replies and forwards, this many levels deep (found in the mailboxes too).
    #[arg(long, value_name = "N", default_value_t = 0)]
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
    /// The message whose pulled copies go back: a log id or a Message-ID.
    #[arg(
        value_name = "REF",
        required_unless_present = "job",
        conflicts_with = "job"
    )]
    pub reference: Option<String>,
    /// Restore everything this job pulled.
    #[arg(long, value_name = "JOB")]
    pub job: Option<i64>,
    /// Only these recipients' copies (repeatable; default: every pulled copy).
    #[arg(long = "recipient", value_name = "ADDR")]
    pub recipients: Vec<String>,
    /// Why, or the ticket number: recorded in the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The tenant whose mailboxes are searched (a name from the config).
    #[arg(long, value_name = "T")]
    pub tenant: String,
    /// Copies with this Message-ID (repeatable: any of them).
    #[arg(long = "message-id", value_name = "ID")]
    pub message_ids: Vec<String>,
    /// Copies from this sender (the address, or part of it).
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    /// Copies whose subject contains this text.
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
    /// Copies received since WHEN (RFC 3339, or `90m`, `2h`, `3d` ago).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Sweep on --since alone, with no content filter: every message received since then.
    #[arg(long)]
    pub all: bool,
    /// Refuse (exit 4) when the sweep finds more copies than this (default: 1,000).
    #[arg(long, value_name = "N")]
    pub max_items: Option<u64>,
    /// What to do with each copy.
    #[arg(long, value_name = "ACTION", value_parser = help::ActionNames)]
    pub action: String,
    /// Why, or the ticket number: recorded in the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Print what would be pulled, per mailbox, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub confirm: Confirm,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    /// One job's id (as `retract`, `restore` and `sweep` print it): that job with its items.
    #[arg(value_name = "JOB")]
    pub job: Option<i64>,
    /// Print the job's progress until it finishes (needs JOB); stops with exit 1 when no
    /// engine is running it.
    #[arg(long, requires = "job")]
    pub watch: bool,
    /// List at most this many jobs, newest first.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The job's id.
    #[arg(value_name = "JOB")]
    pub job: i64,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub verify: Option<AuditCommand>,
    /// Records at or after WHEN.
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Records at or before WHEN.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Records of this actor (their login).
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// Records whose action starts with TEXT (quarantine, restore, job-refused, ...;
    /// case-sensitive).
    #[arg(long, value_name = "TEXT")]
    pub action: Option<String>,
    /// Records whose target contains TEXT (a Message-ID, a mailbox; case-sensitive).
    #[arg(long, value_name = "TEXT")]
    pub target: Option<String>,
    /// Records of this job.
    #[arg(long, value_name = "JOB")]
    pub job: Option<i64>,
    /// The newest N records of the selection (printed oldest first).
    #[arg(long, value_name = "N", default_value_t = 200)]
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
    /// A retired key to trust as well, for the records it signed before a key change
    /// (repeatable; beside `[service] trusted_keys` when `--key` is not given).
    #[arg(long = "trusted-key", value_name = "PUBFILE")]
    pub trusted_keys: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum IngestFormat {
    /// One JSON object a line, the CONTRACT's message-log shape.
    Jsonl,
    /// A Postfix maillog: final deliveries, joined by queue id.
    Postfix,
    /// A Microsoft 365 message-trace CSV: `Delivered` rows, joined by Message ID.
    #[value(name = "m365-trace")]
    M365Trace,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The log's format: JSON lines (the CONTRACT's), a Postfix maillog, an M365 message trace (CSV).
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
    /// The tenant whose mailboxes are read.
    #[arg(long, value_name = "T")]
    pub tenant: String,
    /// Only messages received since WHEN (RFC 3339, or `90m`, `2h`, `3d` ago).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this tenant (default: every tenant).
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Keep running and pick up new jobs as they come.
    #[arg(long)]
    pub follow: bool,
}
