//! Configuration: TOML loading with key-accurate errors, XDG paths, per-kind tenant settings.
//!
//! Unknown keys are errors that name the key and the table they sit in, so a typo such as
//! `quarantine_mailbx` never silently falls back to a default.

pub mod alerts;
pub mod ews;
mod folders;
pub mod gmail;
pub mod graph;
pub mod imap;
mod kinds;
pub mod maildir;
pub mod net;
pub mod paths;
pub mod policy;
pub mod redact;
pub mod reevaluation;
pub mod secret;
mod service;
mod store;
pub mod submissions;
mod trust;

pub use policy::{ApprovalSettings, Mode, PolicySettings, Rule};
pub use service::{DEFAULT_SOCKET, ServiceSettings, TrustedKeySetting};
pub use store::{PostgresStore, SslMode, TeamStoreKeys};
pub use submissions::SubmissionSettings;
pub use trust::{AuditSettings, DEFAULT_WITNESS_EVERY};

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::{Role, address_domain, normalize_address};
use store::RawStore;

pub use kinds::BackendSettings;
pub use maildir::{MaildirFolders, MaildirSettings};

/// A configuration problem: which file, which key, what is wrong.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The whole configuration, with relative paths already resolved against the file's directory.
#[derive(Clone, Debug)]
pub struct Config {
    pub file: PathBuf,
    pub store_path: PathBuf,
    /// `[store] url`: a PostgreSQL store (team mode) instead of the SQLite file.
    pub team_store: Option<PostgresStore>,
    pub access: Access,
    pub engine: EngineSettings,
    pub tenants: BTreeMap<String, Tenant>,
    /// The `[console]` table: theme, borders, key remapping.
    pub console: ConsoleSettings,
    /// The `[audit]` table: the witness.
    pub audit: AuditSettings,
    /// The `[service]` table: the socket of `retractor serve`, its group, its key directory.
    pub service: ServiceSettings,
    /// The alert intakes: `[alerts]`, `[alerts.tap]`, `[alerts.defender]`.
    pub alerts: alerts::AlertsSettings,
    /// The `[policy]` table: rails, rules and the notify command of auto-pull.
    pub policy: PolicySettings,
    /// The `[approvals]` table: what waits for a second person.
    pub approvals: ApprovalSettings,
    /// The `[submissions]` table: the abuse mailbox users report phish to, when present.
    pub submissions: Option<SubmissionSettings>,
    /// The `[reevaluation]` table: hunts for the live indicators.
    pub reevaluation: reevaluation::ReevaluationSettings,
}

/// The `[console]` table. Key names and action names are checked when the console starts
/// (`app::keymap`), so an error there names the key and the action.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSettings {
    /// `default` (16 colours) or `mono`; NO_COLOR in the environment forces `mono`.
    #[serde(default)]
    pub theme: Option<String>,
    /// Draw borders with `+-|` instead of box-drawing characters.
    #[serde(default)]
    pub ascii_borders: bool,
    /// Action name -> key or list of keys; replaces that action's default keys.
    #[serde(default)]
    pub keys: BTreeMap<String, ConsoleKeys>,
    /// Opt in to the mouse: the wheel scrolls the list or pane under focus, clicks select, open
    /// and switch views and tabs (never answer a dialog). Off by default,
    /// so the terminal's own selection (copying a Message-ID) keeps working.
    #[serde(default)]
    pub mouse: bool,
}

/// One key (`"R"`) or several (`["j", "Down"]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ConsoleKeys {
    One(String),
    Many(Vec<String>),
}

impl ConsoleKeys {
    /// The keys as a list.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            ConsoleKeys::One(k) => vec![k.clone()],
            ConsoleKeys::Many(ks) => ks.clone(),
        }
    }
}

/// OS login to role mapping.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    #[serde(default = "default_role")]
    pub default_role: Role,
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
}

/// A login the map does not name gets the least privilege: reading. Granting more is a
/// decision the operator writes down (`default_role` or `roles`), never an accident.
fn default_role() -> Role {
    Role::Viewer
}

impl Default for Access {
    fn default() -> Self {
        Access {
            default_role: default_role(),
            roles: BTreeMap::new(),
        }
    }
}

impl Access {
    pub fn role_of(&self, login: &str) -> Role {
        self.roles.get(login).copied().unwrap_or(self.default_role)
    }
}

/// Limits and retry policy of the engine.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// Items in flight at once per tenant to start with; the engine grows it while the
    /// tenant answers as fast as before and nothing is throttled.
    pub concurrency: usize,
    /// The most items in flight at once per tenant that adaptive growth may reach; unset:
    /// [`DEFAULT_MAX_CONCURRENCY`] or `concurrency`, whichever is more (see
    /// [`EngineSettings::concurrency_ceiling`]).
    pub max_concurrency: Option<usize>,
    /// Items in flight at once against one mailbox.
    pub per_mailbox: usize,
    /// Attempts per item before a retryable failure becomes final.
    pub max_attempts: u32,
    /// First back-off delay; doubles each attempt, with jitter.
    pub backoff_ms: u64,
    /// A claim older than this, by a worker that is not alive, is taken over.
    pub lease_secs: u64,
}

impl EngineSettings {
    /// Bounds that keep the engine sane: a lease shorter than a few heartbeats would take
    /// live workers' items away from them.
    fn validate(&self) -> Result<(), String> {
        let check = |name: &str, value: u64, low: u64, high: u64| {
            if (low..=high).contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{name} = {value}: must be between {low} and {high}"
                ))
            }
        };
        check("concurrency", self.concurrency as u64, 1, 1024)?;
        if let Some(ceiling) = self.max_concurrency {
            check("max_concurrency", ceiling as u64, 1, 4096)?;
            if ceiling < self.concurrency {
                return Err(format!(
                    "max_concurrency = {ceiling} is below concurrency = {}: the ceiling of the \
                     adaptive limit must be at least where it starts",
                    self.concurrency
                ));
            }
        }
        check("per_mailbox", self.per_mailbox as u64, 1, 64)?;
        check("max_attempts", u64::from(self.max_attempts), 1, 100)?;
        check("backoff_ms", self.backoff_ms, 1, 600_000)?;
        check("lease_secs", self.lease_secs, 10, 86_400)
    }
}

/// The ceiling of the adaptive per-tenant concurrency when `max_concurrency` is not set.
pub const DEFAULT_MAX_CONCURRENCY: usize = 512;

impl EngineSettings {
    /// The most items per tenant adaptive growth may reach: `max_concurrency`, or when unset
    /// [`DEFAULT_MAX_CONCURRENCY`], never below `concurrency` (an older config that raised
    /// `concurrency` alone keeps its level).
    pub fn concurrency_ceiling(&self) -> usize {
        self.max_concurrency
            .unwrap_or(DEFAULT_MAX_CONCURRENCY.max(self.concurrency))
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            concurrency: 16,
            max_concurrency: None,
            per_mailbox: 4,
            max_attempts: 5,
            backoff_ms: 200,
            lease_secs: 120,
        }
    }
}

/// One tenant: a set of mailboxes on one mail system.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub name: String,
    pub kind: String,
    pub domains: Vec<String>,
    pub mailboxes: Vec<String>,
    pub holds: Vec<String>,
    pub quarantine_mailbox: Option<String>,
    pub quarantine_folder_per_recipient: bool,
    pub backend: BackendSettings,
}

impl Tenant {
    /// Whether an address belongs to this tenant (its domain is one of the tenant's).
    pub fn owns(&self, address: &str) -> bool {
        let domain = address_domain(address);
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub fn on_hold(&self, mailbox: &str) -> bool {
        self.holds.iter().any(|h| h.eq_ignore_ascii_case(mailbox))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    access: Access,
    #[serde(default)]
    engine: EngineSettings,
    #[serde(default)]
    tenants: BTreeMap<String, toml::Table>,
    #[serde(default)]
    console: ConsoleSettings,
    #[serde(default)]
    audit: AuditSettings,
    #[serde(default)]
    service: ServiceSettings,
    #[serde(default)]
    alerts: toml::Table,
    #[serde(default)]
    policy: policy::RawPolicy,
    #[serde(default)]
    approvals: policy::RawApprovals,
    #[serde(default)]
    submissions: Option<submissions::RawSubmissions>,
    #[serde(default)]
    reevaluation: reevaluation::RawReevaluation,
}

/// Keys every tenant has, whatever its kind.
#[derive(Deserialize)]
struct CommonTenant {
    kind: String,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    mailboxes: Vec<String>,
    #[serde(default)]
    mailboxes_file: Option<PathBuf>,
    #[serde(default)]
    holds: Vec<String>,
    #[serde(default)]
    quarantine_mailbox: Option<String>,
    #[serde(default = "yes")]
    quarantine_folder_per_recipient: bool,
}

fn yes() -> bool {
    true
}

/// Keys every tenant takes, whatever its kind (the rest go to the kind's parser).
pub(super) const COMMON_KEYS: [&str; 7] = [
    "kind",
    "domains",
    "mailboxes",
    "mailboxes_file",
    "holds",
    "quarantine_mailbox",
    "quarantine_folder_per_recipient",
];

impl Config {
    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        let config = Self::parse(&text, path)?;
        Ok(config)
    }

    /// Parse config text; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| err(describe_toml_error(&e)))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let team_store = raw.store.postgres(&base).map_err(err)?;
        let store_path = base.join(raw.store.path.unwrap_or_else(|| "retractor.db".into()));
        raw.engine
            .validate()
            .map_err(|m| err(format!("[engine] {m}")))?;
        let mut tenants = BTreeMap::new();
        for (name, table) in raw.tenants {
            let tenant = parse_tenant(&name, table, &base)
                .map_err(|m| err(with_tenant_line(text, &name, m)))?;
            tenants.insert(name, tenant);
        }
        folders::check_domains_are_unique(&tenants).map_err(err)?;
        let audit = raw
            .audit
            .resolve(&base)
            .map_err(|m| err(format!("[audit] {m}")))?;
        let service = raw.service.resolve(&base).map_err(err)?;
        let store_dir = store_path.parent().unwrap_or(&base).to_path_buf();
        let alerts = alerts::parse(raw.alerts, &base, &store_dir).map_err(err)?;
        if let Some(defender) = &alerts.defender {
            match tenants.get(&defender.tenant).map(|t| &t.backend) {
                Some(BackendSettings::Graph(_)) => {}
                Some(_) => {
                    return Err(err(format!(
                        "[alerts.defender] tenant = \"{}\": not a tenant of kind graph",
                        defender.tenant
                    )));
                }
                None => {
                    return Err(err(format!(
                        "[alerts.defender] tenant = \"{}\": no such [tenants.{}]",
                        defender.tenant, defender.tenant
                    )));
                }
            }
        }
        let tenant_names: Vec<&str> = tenants.keys().map(String::as_str).collect();
        let policy = raw.policy.resolve(&tenant_names, &base).map_err(err)?;
        let approvals = raw.approvals.resolve().map_err(err)?;
        let submissions = raw
            .submissions
            .map(|s| s.resolve(&tenant_names, &base))
            .transpose()
            .map_err(err)?;
        let reevaluation = raw.reevaluation.resolve().map_err(err)?;
        Ok(Config {
            submissions,
            reevaluation,
            alerts,
            policy,
            approvals,
            audit,
            file: path.to_path_buf(),
            store_path,
            team_store,
            access: raw.access,
            engine: raw.engine,
            tenants,
            console: raw.console,
            service,
        })
    }

    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.get(name)
    }

    /// Whether `mailbox` is `tenant`'s abuse mailbox (`[submissions]`): it holds users'
    /// reports, never a target of any plan.
    pub fn is_abuse_mailbox(&self, tenant: &str, mailbox: &str) -> bool {
        self.submissions
            .as_ref()
            .is_some_and(|s| s.tenant == tenant && s.mailbox.eq_ignore_ascii_case(mailbox))
    }

    /// The tenant whose domains contain this address.
    pub fn tenant_for_address(&self, address: &str) -> Option<&Tenant> {
        self.tenants.values().find(|t| t.owns(address))
    }
}

fn parse_tenant(name: &str, mut table: toml::Table, base: &Path) -> Result<Tenant, String> {
    let at = format!("[tenants.{name}]");
    let mut specific = toml::Table::new();
    for key in table.keys().cloned().collect::<Vec<_>>() {
        if !COMMON_KEYS.contains(&key.as_str())
            && let Some(v) = table.remove(&key)
        {
            specific.insert(key, v);
        }
    }
    let common: CommonTenant = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("{at}: {}", e.message().trim()))?;
    let kind = kinds::find(&common.kind).ok_or_else(|| {
        format!(
            "{at} kind = \"{}\": unknown kind; expected one of {}",
            common.kind,
            kinds::names().join(", ")
        )
    })?;
    let mut mailboxes: Vec<String> = common
        .mailboxes
        .iter()
        .map(|m| normalize_address(m))
        .collect();
    if let Some(file) = &common.mailboxes_file {
        let file = base.join(file);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("{at} mailboxes_file = {}: {e}", file.display()))?;
        mailboxes.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(normalize_address),
        );
    }
    let backend = match kind.parse {
        Some(parse) => parse(specific, &kinds::KindContext::new(&at, base, kind))?,
        None => BackendSettings::NotYetSupported,
    };
    Ok(Tenant {
        name: name.to_string(),
        kind: common.kind,
        domains: common
            .domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
        mailboxes,
        holds: common.holds.iter().map(|m| normalize_address(m)).collect(),
        quarantine_mailbox: common.quarantine_mailbox.map(|m| normalize_address(&m)),
        quarantine_folder_per_recipient: common.quarantine_folder_per_recipient,
        backend,
    })
}

/// Tenant tables are checked after TOML parsing, where positions are gone: find the line of
/// the offending key (else of the table header) in the text, so the message names it.
fn with_tenant_line(text: &str, tenant: &str, message: String) -> String {
    let header = format!("[tenants.{tenant}]");
    let rest = message.strip_prefix(&header).unwrap_or(&message);
    let key = match rest.strip_prefix(' ') {
        // `[tenants.x] kind = "pop3": ...`
        Some(r) if r.contains(" = ") => r.split(' ').next(),
        // `[tenants.x]: unknown field `quarantine_mailbx`, ...`
        _ => rest
            .split('`')
            .nth(1)
            .filter(|_| rest.contains("unknown field") || rest.contains("unknown key")),
    };
    let mut inside = false;
    let mut found = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            inside = line == header;
            if inside && found.is_none() {
                found = Some(n + 1);
            }
            continue;
        }
        let this_key = line.split('=').next().map(|k| k.trim().trim_matches('"'));
        if inside && key.is_some() && this_key == key {
            found = Some(n + 1);
            break;
        }
    }
    match found {
        Some(line) => format!("at line {line}: {message}"),
        None => message,
    }
}

/// toml's messages carry a line/column and a source excerpt; keep them on one tidy line.
fn describe_toml_error(e: &toml::de::Error) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(_) => {
            // The Display form starts with "TOML parse error at line L, column C".
            let full = e.to_string();
            let location = full
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("TOML parse error ");
            format!("{location}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/retractor/config.toml"))
    }

    #[test]
    fn a_config_without_policy_or_approvals_gets_their_defaults() {
        let cfg =
            parse("[tenants.demo]\nkind = \"maildir\"\nroot = \"m\"\ndomains = [\"d.test\"]\n")
                .map_err(|e| e.to_string());
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cfg.policy, PolicySettings::default());
        assert_eq!(cfg.approvals, ApprovalSettings::default());
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let cfg = parse(
            "[store]\npath = \"r.db\"\n[tenants.demo]\nkind = \"maildir\"\nroot = \"mail\"\ndomains = [\"Demo.Test\"]\n",
        )
        .map_err(|e| e.to_string());
        let cfg = cfg.as_ref().map_err(String::as_str);
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cfg.store_path, PathBuf::from("/etc/retractor/r.db"));
        let t = &cfg.tenants["demo"];
        assert!(t.owns("bob@demo.test"));
        match &t.backend {
            BackendSettings::Maildir(m) => assert_eq!(m.root, PathBuf::from("/etc/retractor/mail")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unknown_keys_are_named_with_their_place() {
        let e = parse(
            "[tenants.demo]\nkind = \"maildir\"\nroot = \"m\"\nquarantine_mailbx = \"q@x\"\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.contains("[tenants.demo]") && e.contains("quarantine_mailbx") && e.contains("line 4"),
            "{e}"
        );
        let e = parse("[store]\npth = \"x\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("pth") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn graph_tenants_parse_and_their_unknown_keys_are_named_with_their_line() {
        let cfg = parse(
            "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\n",
        )
        .map_err(|e| e.to_string());
        assert!(
            matches!(
                cfg.map(|c| c.tenants["m365"].backend.clone()),
                Ok(BackendSettings::Graph(_))
            ),
            "graph settings"
        );
        let e = parse(
            "[tenants.m365]\nkind = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"\ngraph_endpiont = \"x\"\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.contains("graph_endpiont") && e.contains("line 6") && e.contains("graph_endpoint"),
            "{e}"
        );
    }

    #[test]
    fn engine_limits_are_bounded() {
        let e = parse("[engine]\nlease_secs = 0\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("lease_secs = 0"), "{e}");
        assert!(parse("[engine]\nconcurrency = 100000\n").is_err());
        assert!(parse("[engine]\nper_mailbox = 4\n").is_ok());
        let e = parse("[engine]\nconcurrency = 32\nmax_concurrency = 8\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("max_concurrency = 8") && e.contains("concurrency = 32"),
            "{e}"
        );
        assert!(parse("[engine]\nmax_concurrency = 0\n").is_err());
        let ceiling = |text: &str| parse(text).map(|c| c.engine.concurrency_ceiling()).ok();
        assert_eq!(ceiling(""), Some(DEFAULT_MAX_CONCURRENCY));
        assert_eq!(ceiling("[engine]\nconcurrency = 600\n"), Some(600));
        assert_eq!(ceiling("[engine]\nmax_concurrency = 64\n"), Some(64));
    }

    #[test]
    fn an_unmapped_login_may_only_read() {
        let cfg = parse("[store]\npath = \"r.db\"\n").map_err(|e| e.to_string());
        assert_eq!(
            cfg.map(|c| c.access.role_of("nobody-mapped")),
            Ok(Role::Viewer)
        );
        let cfg = parse("[access]\nroles = { alice = \"responder\" }\n").map_err(|e| e.to_string());
        let cfg = cfg.as_ref().map_err(String::as_str);
        assert_eq!(cfg.map(|c| c.access.role_of("bob")), Ok(Role::Viewer));
        assert_eq!(cfg.map(|c| c.access.role_of("alice")), Ok(Role::Responder));
    }

    #[test]
    fn unknown_kinds_and_roles_are_refused() {
        let e = parse("[tenants.x]\nkind = \"pop3\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown kind") && e.contains("line 2"), "{e}");
        let e = parse("[access]\nroles = { bob = \"god\" }\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("god"), "{e}");
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// The shipped example documents every key; it must stay a valid config.
    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let cfg = Config::load(&path).map_err(|e| e.to_string());
        let cfg = match cfg {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(cfg.tenants.len(), 5);
        assert!(matches!(
            cfg.tenants["gws"].backend,
            BackendSettings::Gmail(_)
        ));
        assert_eq!(cfg.access.role_of("alice"), Role::Responder);
        assert!(cfg.tenants["demo"].on_hold("counsel@demo.test"));
        assert!(matches!(
            cfg.tenants["corp"].backend,
            BackendSettings::Imap(_)
        ));
        assert!(matches!(
            cfg.tenants["exch"].backend,
            BackendSettings::Ews(_)
        ));
    }

    /// The commented `trusted_keys` line of the example parses, and its bounds are checked.
    #[test]
    fn trusted_keys_parse_with_their_bounds_and_a_bad_bound_is_named() {
        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"),
        )
        .unwrap();
        let line = example
            .lines()
            .find_map(|l| l.strip_prefix("# trusted_keys = "))
            .expect("the example documents trusted_keys");
        let dir = Path::new("/etc/retractor/config.toml");
        let cfg = Config::parse(&format!("[service]\ntrusted_keys = {line}\n"), dir).unwrap();
        let t = &cfg.service.trusted_keys[0];
        assert_eq!((t.last_record, t.last_job), (Some(51234), Some(812)));
        let relative =
            Config::parse("[service]\ntrusted_keys = [{ file = \"old.pub\" }]\n", dir).unwrap();
        assert_eq!(
            relative.service.trusted_keys[0].file,
            Path::new("/etc/retractor/old.pub")
        );
        let e = Config::parse(
            "[service]\ntrusted_keys = [{ file = \"old.pub\", last_record = 0 }]\n",
            dir,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("trusted_keys entry 1: last_record must be 1 or more"),
            "{e}"
        );
    }
}
