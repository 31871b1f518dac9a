//! The console's state and its pure `update(state, event) -> commands` (the Elm shape).
//!
//! Nothing here does I/O: the runtime (`crate::console`) turns terminal input and engine replies
//! into [`Event`]s, calls [`update`], and carries out the [`Command`]s it returns on tokio
//! tasks. Every reply carries the request id it answers; a reply whose id is no longer the one
//! awaited is stale and dropped. Attacker-controlled text is sanitised here, as it enters the
//! state, so no widget ever sees it raw.

pub mod cmdline;
mod conversation;
pub mod forensics;
pub mod help;
pub mod keymap;
pub mod layout;
pub mod lists;
mod marks;
pub mod pending;
mod report;
mod restore;
mod rows;
mod update;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use ratatui_textarea::TextArea;

use crate::engine::{DepthCount, SweepRequest};
use crate::model::{Action, Job, JobItem, LoggedMessage};
use crate::store::{AuditEntry, MessageDetail, PageAnchor};
use crate::trust::verify::AnchoredVerdict;

pub use forensics::{EvidenceState, ForensicLine, Tone};
pub use keymap::{KeyAction, Keymap};
pub use lists::{AUDIT_LIMIT, AuditFilter, AuditView, OpenJob};
pub use marks::Marks;
pub use pending::{ApprovalDialog, ApprovalRow, PendingView};
pub use rows::{AuditRow, ItemRow, JobRow, MessageRow, RecipientRow, shown};
pub use update::update;

/// A request id: replies carry the id of the request they answer.
pub type ReqId = u64;

/// The top-level views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Messages,
    Operations,
    Audit,
    /// Requests waiting for a second person's approval.
    Pending,
}

/// The tabs of the message detail pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Summary,
    Recipients,
    Conversation,
    Headers,
    /// The evidence of a copy: route, verdicts, URLs, attachments (loaded when first opened).
    Forensics,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Summary,
        Tab::Recipients,
        Tab::Conversation,
        Tab::Headers,
        Tab::Forensics,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Summary => "Summary",
            Tab::Recipients => "Recipients",
            Tab::Conversation => "Conversation",
            Tab::Headers => "Headers",
            Tab::Forensics => "Forensics",
        }
    }
}

/// Where keys go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The view's list (messages, jobs, audit records).
    List,
    /// The Messages search bar or the Audit filter.
    Search,
    /// The message detail pane.
    Detail,
    /// The reason / ticket field of the retract tab.
    Reason,
    /// The `:` command line.
    CommandLine,
}

/// What a confirmation dialog will do when confirmed.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    Retract(RetractSpec),
    /// The marked messages' retractions, confirmed in one dialog; one job each.
    RetractMarked(Vec<RetractSpec>),
    Sweep(SweepRequest),
    /// Exactly the copies the dialog named: these items' pulls of this message, for these
    /// recipients (empty: every recipient, and the dialog said so).
    RestoreMessage {
        message: i64,
        recipients: Vec<String>,
        items: Vec<i64>,
        reason: Option<String>,
    },
    RestoreJob {
        job: i64,
        reason: Option<String>,
    },
    CancelJob {
        job: i64,
    },
    /// Report the message as a false negative or positive (`f` / `F`).
    Report {
        message: i64,
        kind: crate::api::ReportKind,
        reason: Option<String>,
    },
    Quit,
}

/// A modal dialog asking before something changes mailboxes (or quits).
#[derive(Debug)]
pub struct Confirm {
    pub title: String,
    /// Sanitised lines naming the action and the counts.
    pub lines: Vec<String>,
    pub pending: Pending,
    /// `true` when the OK button has focus; Cancel has it first.
    pub ok_focused: bool,
    /// For hard-delete: the word that must be typed, and what has been typed.
    pub word: Option<TypedWord>,
    /// What the two buttons say, when "Cancel"/"Confirm" would read the same or backwards
    /// (cancelling a job: "Keep running" / "Cancel job").
    pub choices: Option<Choices>,
    /// For restores: the optional reason (a ticket), typed in the dialog itself.
    pub reason: Option<TextArea<'static>>,
    /// Keys go to the reason field (after `e`, until Enter or Esc); otherwise `y`/`n` answer.
    pub editing_reason: bool,
}

/// A dialog's two button labels: the one that changes nothing, and the one that acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choices {
    pub back: &'static str,
    pub act: &'static str,
}

/// The word a dialog is confirmed by (the engine's), and the field it is typed in.
#[derive(Debug)]
pub struct TypedWord {
    pub expected: &'static str,
    pub typed: TextArea<'static>,
}

/// Overlays above the views.
#[derive(Debug, Default)]
pub enum Overlay {
    #[default]
    None,
    /// The help of the place the keys go to; `scroll` is its first line on screen.
    Help {
        scroll: usize,
    },
    Confirm(Box<Confirm>),
    /// Approving or rejecting a request of the Pending view (its reason is typed here).
    Approval(Box<ApprovalDialog>),
}

/// A retraction as the retract tab describes it, ready to plan.
#[derive(Clone, Debug, PartialEq)]
pub struct RetractSpec {
    pub message: i64,
    /// Included recipients (raw addresses; the engine checks them).
    pub recipients: Vec<String>,
    /// Excluded recipients.
    pub exclude: Vec<String>,
    pub depth: u32,
    pub action: Action,
    pub reason: Option<String>,
}

/// A restore of the open message's pulled copies, as `u` asked for it, awaiting its plan.
#[derive(Clone, Debug, PartialEq)]
pub struct RestoreAsk {
    pub message: i64,
    /// The recipients ticked on the retract tab (raw addresses); empty with `whole`.
    pub recipients: Vec<String>,
    /// The retract tab was not open: every pulled copy, and the dialog says so.
    pub whole: bool,
    pub reason: Option<String>,
    /// Sanitised, for the dialog.
    pub subject: String,
}

/// What a restore would put back: the items whose pulls it undoes and their mailboxes.
#[derive(Clone, Debug, PartialEq)]
pub struct RestorePreview {
    pub items: Vec<i64>,
    /// One raw address per copy, in plan order.
    pub mailboxes: Vec<String>,
}

/// The planner's preview of a retraction.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// What the engine's empty-plan rule says when the plan acts on nothing.
    pub empty: Option<String>,
    pub by_depth: Vec<DepthCount>,
    /// Copies that would be acted on.
    pub actionable: usize,
    /// Distinct mailboxes over all depths.
    pub mailboxes: usize,
    /// Copies an earlier job already put where the action puts them (not counted as to do).
    pub already_there: usize,
    pub notes: Vec<String>,
    /// The copies that would be acted on, in plan order (a sweep's dialog lists them).
    pub copies: Vec<PlannedCopy>,
    /// The replies and forwards (depth 1 or more) the plan reached, logged or found in the
    /// mailboxes, by depth then Message-ID (the Conversation tab marks where each was found).
    pub descendants: Vec<PlannedDescendant>,
}

/// One copy a plan would act on, as a confirmation lists it (raw: sanitised when shown).
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCopy {
    pub mailbox: String,
    pub folder: Option<String>,
    pub message_id: String,
}

/// The retract tab of the open message.
#[derive(Debug)]
pub struct RetractForm {
    pub recipients: Vec<RecipientRow>,
    pub cursor: usize,
    /// Index of the first recipient on screen.
    pub top: usize,
    pub action: Action,
    pub depth: u32,
    pub reason: TextArea<'static>,
    pub preview: Option<Result<Preview, String>>,
    pub preview_req: ReqId,
}

impl RetractForm {
    /// Lines the counts take above the recipient list: one per depth of the preview.
    pub fn depth_lines(&self) -> u16 {
        self.preview
            .as_ref()
            .and_then(|p| p.as_ref().ok())
            .map_or(0, |p| p.by_depth.len() as u16)
    }
}

/// The open message: summary, recipients, conversation, headers.
#[derive(Debug)]
pub struct Detail {
    pub id: i64,
    pub req: ReqId,
    pub loaded: Option<DetailData>,
    pub tab: Tab,
    pub form: Option<RetractForm>,
    /// Scroll of the Conversation / Headers tabs.
    pub scroll: usize,
    /// The jobs sample time of the last reload a job's progress asked for.
    pub refreshed_at: Option<DateTime<Utc>>,
    /// The Forensics tab's evidence: `None` until the tab is first opened for this message.
    pub evidence: Option<EvidenceState>,
}

/// What the store and the mailbox said about the open message (sanitised).
#[derive(Debug, Clone)]
pub struct DetailData {
    pub row: MessageRow,
    pub message_id: String,
    pub tenant: String,
    pub size: Option<u64>,
    pub conversation: Vec<ConversationLine>,
    pub headers: Vec<HeaderLine>,
    /// Which copy the headers were read from ("from the quarantine copy in ..."), or why
    /// none could be read; sanitised.
    pub headers_from: String,
    /// The replies and forwards the retract tab's latest plan found in the mailboxes and the
    /// log does not have (sanitised), and the depth it searched to: `None` until a plan at
    /// depth 1 or more answered (only a plan searches the mailboxes, every one of the
    /// tenant, so the Conversation tab does not start one of its own).
    pub found_in_mailboxes: Option<(u32, Vec<PlannedDescendant>)>,
}

impl DetailData {
    /// The Conversation or Headers tab as (label, text) lines, before wrapping: the one
    /// source for drawing them and for how far they scroll.
    pub fn tab_lines(&self, tab: Tab) -> Vec<(String, String)> {
        match tab {
            Tab::Conversation => self.conversation_lines(),
            Tab::Headers => std::iter::once(("Copy read: ".to_string(), self.headers_from.clone()))
                .chain(
                    self.headers
                        .iter()
                        .map(|h| (format!("{}: ", h.name), h.value.clone())),
                )
                .collect(),
            Tab::Summary | Tab::Recipients | Tab::Forensics => Vec::new(),
        }
    }
}

/// A logged reply or forward of the open message (sanitised, but for its Message-ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationLine {
    pub depth: u32,
    pub from: String,
    pub subject: String,
    /// Raw: to tell the plan's descendants the log has from those only the mailboxes had
    /// (never drawn).
    pub message_id: String,
}

/// A reply or forward of the open message a retract plan reached: its Message-ID (raw from
/// the plan, sanitised once it enters the detail), its depth, in how many mailboxes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDescendant {
    pub depth: u32,
    pub message_id: String,
    pub mailboxes: usize,
}

/// One header of a copy of the open message, as a mailbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLine {
    pub name: String,
    pub value: String,
}

/// The virtualised message table: only one page of rows is held.
#[derive(Debug, Default)]
pub struct MessageList {
    /// The query that was run (raw text, as typed).
    pub query: String,
    pub total: u64,
    /// Absolute index of the selected row.
    pub selected: usize,
    /// Absolute index of the first row on screen.
    pub top: usize,
    /// Absolute index of `rows[0]`.
    pub page_offset: usize,
    pub rows: Vec<MessageRow>,
    /// Why the search found nothing (sanitised), shown in the empty table.
    pub empty_because: Option<String>,
    /// The search request awaited, and the offset it asked for.
    pub req: ReqId,
    pub loading: bool,
    /// `j`/`k` in the detail pane moved the selection onto a row not held yet: open it in
    /// this tab when its page arrives.
    pub follow: Option<Tab>,
}

/// The Operations view.
#[derive(Debug, Default)]
pub struct Operations {
    pub jobs: Vec<JobRow>,
    pub selected: usize,
    /// Time of the jobs sample (rate and ETA are computed against it).
    pub sampled_at: Option<DateTime<Utc>>,
    /// The job whose items are open.
    pub open: Option<OpenJob>,
    /// Index of the first job on screen.
    pub top: usize,
}

/// A plan asked for before a dialog can name its counts: the request awaited and what it asks.
#[derive(Clone, Debug, PartialEq)]
pub struct Awaited<T> {
    pub req: ReqId,
    pub request: T,
}

/// Where the query being typed stops parsing, and why (sanitised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character column, as the query parser reports it.
    pub column: usize,
    pub message: String,
}

/// The whole console state.
#[derive(Debug)]
pub struct App {
    pub keymap: Keymap,
    pub view: View,
    pub focus: Focus,
    pub overlay: Overlay,
    pub width: u16,
    pub height: u16,
    pub search: TextArea<'static>,
    /// The inline error of the query being typed: (column, message).
    pub search_error: Option<QueryError>,
    pub messages: MessageList,
    pub detail: Option<Detail>,
    pub ops: Operations,
    pub audit: AuditView,
    pub pending: PendingView,
    pub command_line: TextArea<'static>,
    /// A one-line message for the status bar (errors, results of commands).
    pub flash: Option<String>,
    /// Jobs this process runs: quitting asks first while any is running.
    pub running: BTreeSet<i64>,
    /// Confirmed requests whose job is still being planned and written (a `:sweep` reads
    /// every mailbox first): quitting asks first while any is.
    pub submitting: usize,
    /// The restore whose plan is awaited (to name its count and recipients), by request id.
    pub restore: Option<Awaited<RestoreAsk>>,
    /// The messages marked in the log (`Space`) and how `r` retracts them together.
    pub marks: Marks,
    /// The clock used to check relative query terms (`since:2h`); set by the runtime.
    pub now: DateTime<Utc>,
    /// The actor and role shown in the status line (`alice (responder)`).
    pub actor: String,
    /// The configured tenants (`:tenant` completes and checks against them); set by the
    /// runtime.
    pub tenants: Vec<String>,
    /// `:tenant NAME`: the log shows this tenant's messages only.
    pub tenant: Option<String>,
    /// The sweep whose plan (a read of every mailbox) is awaited, by request id.
    pub sweep: Option<Awaited<SweepRequest>>,
    next_req: ReqId,
    /// Set by `update` whenever what is drawn may have changed; the runtime clears it.
    pub dirty: bool,
    pub quit: bool,
}

/// Input to [`update`]: terminal events and engine replies.
#[derive(Debug)]
pub enum Event {
    Key(crossterm::event::KeyEvent),
    /// Mouse wheel (only with `[console] mouse = true`): rows to move, down positive.
    Scroll(i64),
    /// A left click (only with `[console] mouse = true`) at a cell of the screen.
    Click(ratatui::layout::Position),
    Resize(u16, u16),
    /// A page of the log; `offset` is the absolute index of its first row; `total` is
    /// counted only when the request asked for it.
    Page {
        req: ReqId,
        offset: usize,
        total: Option<u64>,
        rows: Vec<LoggedMessage>,
        /// Why nothing matched (the api's explanation), for the empty table.
        empty_because: Option<String>,
    },
    SearchFailed {
        req: ReqId,
        error: String,
    },
    Detail {
        req: ReqId,
        result: Result<Box<DetailReply>, String>,
    },
    Preview {
        req: ReqId,
        result: Result<Preview, String>,
    },
    /// The plans of the marked messages' retractions, in the order asked for.
    MarkedPlanned {
        req: ReqId,
        results: Vec<Result<Preview, String>>,
    },
    /// What a `:sweep` found in the tenant's mailboxes.
    SweepPlanned {
        req: ReqId,
        result: Result<Preview, String>,
    },
    /// A new jobs sample (sent only when it differs from the last).
    Jobs {
        jobs: Vec<Job>,
        at: DateTime<Utc>,
    },
    JobItems {
        req: ReqId,
        job: i64,
        items: Vec<JobItem>,
        /// Subjects of the items' messages by Message-ID (raw), as far as the log has them.
        subjects: std::collections::HashMap<String, String>,
    },
    Audit {
        req: ReqId,
        entries: Vec<AuditEntry>,
        verdict: AnchoredVerdict,
    },
    /// A job this process submitted (and now runs), or why it could not.
    Submitted(Result<i64, String>),
    /// What a restore asked for with `u` would put back.
    RestorePlanned {
        req: ReqId,
        result: Result<RestorePreview, String>,
    },
    /// Jobs an engine that stopped left unfinished, which this console now runs.
    Resumed(Vec<i64>),
    /// A job this process ran has finished running, with how it ended when it could be read.
    JobFinished {
        job: i64,
        outcome: Option<JobOutcome>,
    },
    /// A cancel or other one-shot request reports back.
    Notice(String),
    /// The requests waiting for approval (sampled about once a second, sent on change).
    Approvals(Vec<crate::store::ApprovalRecord>),
    /// The answer to an approve or reject: the settled request, or the refusal verbatim.
    ApprovalAnswered {
        req: ReqId,
        result: Result<Box<crate::store::ApprovalRecord>, String>,
    },
    /// The evidence of the open message, for its Forensics tab.
    Evidence {
        req: ReqId,
        result: Result<Box<crate::api::EvidenceView>, String>,
    },
    /// Background work panicked: the panic hook has already given the terminal back, so the
    /// runtime stops (never reaches `update`).
    Fatal(String),
}

/// How a job this console ran ended (raw text: sanitised when shown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutcome {
    pub status: String,
    pub counts: crate::model::JobCounts,
    /// (mailbox, error) of each failed item, in the job's order.
    pub failures: Vec<(String, String)>,
}

/// The store's answer for the detail pane.
#[derive(Debug)]
pub struct DetailReply {
    pub detail: MessageDetail,
    pub conversation: Vec<crate::store::ConversationEntry>,
    /// Raw (sanitised as it enters the state).
    pub headers: Vec<HeaderLine>,
    /// Which copy the headers were read from; `None` when none could be read.
    pub headers_source: Option<crate::engine::CopySource>,
    /// Why no copy could be read (raw).
    pub headers_problem: Option<String>,
}

/// Work for the runtime.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Read a page of the log: `offset` is the absolute index of the page's first row and
    /// `anchor` how the store finds it cheaply; `count` asks for the total too.
    Search {
        req: ReqId,
        query: String,
        anchor: PageAnchor,
        offset: usize,
        limit: usize,
        count: bool,
    },
    LoadDetail {
        req: ReqId,
        id: i64,
    },
    Preview {
        req: ReqId,
        spec: RetractSpec,
    },
    /// Plan each marked message's retraction to show the totals before asking.
    PlanMarked {
        req: ReqId,
        specs: Vec<RetractSpec>,
    },
    /// Plan a sweep (reads every mailbox of its tenant) to show its counts before asking.
    PlanSweep {
        req: ReqId,
        request: SweepRequest,
    },
    /// Plan a restore to name its count and recipients before asking.
    PlanRestore {
        req: ReqId,
        message: i64,
        recipients: Vec<String>,
    },
    /// Plan, submit and run in this process.
    Submit(Pending),
    /// Find the jobs an engine that stopped left unfinished (the console runs them).
    ResumeAbandoned,
    LoadJobItems {
        req: ReqId,
        job: i64,
    },
    /// Read the audit trail (`query` as the filter asks, one record more than the view
    /// shows) and verify the chain.
    LoadAudit {
        req: ReqId,
        query: crate::api::AuditQuery,
    },
    /// Read the requests waiting for approval now (the sampler reads them about once a second).
    LoadApprovals,
    /// Approve or reject a request as this console's caller (the api enforces who may).
    AnswerApproval {
        req: ReqId,
        answer: crate::api::ApprovalAnswer,
    },
    /// Read the open message's evidence for the Forensics tab.
    LoadEvidence {
        req: ReqId,
        id: i64,
    },
    Quit,
}

impl App {
    /// A fresh console of the given size, the first search not yet asked for (see [`App::start`]).
    pub fn new(keymap: Keymap, width: u16, height: u16, now: DateTime<Utc>, actor: String) -> App {
        App {
            keymap,
            view: View::Messages,
            focus: Focus::List,
            overlay: Overlay::None,
            width,
            height,
            search: single_line(""),
            search_error: None,
            messages: MessageList::default(),
            detail: None,
            ops: Operations::default(),
            audit: AuditView::default(),
            pending: PendingView::default(),
            command_line: single_line(""),
            flash: None,
            running: BTreeSet::new(),
            submitting: 0,
            restore: None,
            marks: Marks::default(),
            now,
            actor,
            tenants: Vec::new(),
            tenant: None,
            sweep: None,
            next_req: 0,
            dirty: true,
            quit: false,
        }
    }

    /// The first requests: the whole log, newest first, the audit trail, and the jobs an
    /// engine that stopped left unfinished (resumed here).
    pub fn start(&mut self) -> Vec<Command> {
        let mut out = vec![self.run_search(String::new())];
        out.push(self.load_audit());
        out.push(Command::ResumeAbandoned);
        out
    }

    fn req(&mut self) -> ReqId {
        self.next_req += 1;
        self.next_req
    }

    /// Rows of the message table on screen now.
    pub fn page_rows(&self) -> usize {
        let table = layout::messages_split(self.width, self.height, self.detail.is_some()).table;
        layout::table_rows(table).max(1)
    }

    /// The query the store runs: the one typed, narrowed to the `:tenant` when one is set.
    pub fn scoped_query(&self) -> String {
        match &self.tenant {
            Some(t) if t.chars().any(char::is_whitespace) => {
                format!("{} tenant:\"{t}\"", self.messages.query)
            }
            Some(t) => format!("{} tenant:{t}", self.messages.query),
            None => self.messages.query.clone(),
        }
    }

    /// The screen between the view bar and the status line.
    fn body(&self) -> ratatui::layout::Rect {
        layout::bands(ratatui::layout::Rect::new(0, 0, self.width, self.height))[1]
    }

    /// Jobs the Operations table shows at once.
    pub fn jobs_visible(&self) -> usize {
        let jobs = layout::operations_areas(self.body(), self.ops.open.is_some()).jobs;
        layout::table_rows(jobs.height)
    }

    /// Items of the open job its table shows at once (under its filter line).
    pub fn items_visible(&self) -> usize {
        layout::operations_areas(self.body(), true)
            .items
            .map_or(1, |items| {
                layout::table_rows(layout::items_areas(items)[1].height)
            })
    }

    /// Records the Audit table shows at once.
    pub fn audit_visible(&self) -> usize {
        layout::table_rows(layout::audit_areas(self.body())[2].height)
    }

    /// Recipients the retract tab's list shows at once (its counts take a line per depth).
    pub fn recipients_visible(&self) -> usize {
        let pane = layout::messages_areas(self.body(), self.width, self.height, true)[2];
        let depth_lines = self
            .detail
            .as_ref()
            .and_then(|d| d.form.as_ref())
            .map_or(0, RetractForm::depth_lines);
        let inner = pane.inner(ratatui::layout::Margin::new(1, 1));
        usize::from(layout::recipients_areas(inner, depth_lines)[3].height)
    }

    /// How far the Conversation or Headers tab can scroll: its lines less the pane's height.
    pub fn detail_scroll_max(&self) -> usize {
        let Some(d) = &self.detail else {
            return 0;
        };
        let pane = layout::messages_areas(self.body(), self.width, self.height, true)[2];
        let width = pane.width.saturating_sub(2);
        let count = |lines: &[(String, String)]| -> usize {
            lines
                .iter()
                .map(|(label, text)| layout::wrap_ranges(&format!("{label}{text}"), width).len())
                .sum()
        };
        let rows: usize = match (d.tab, &d.evidence) {
            (Tab::Forensics, Some(EvidenceState::Loaded(lines))) => count(
                &lines
                    .iter()
                    .map(|l| (l.label.clone(), l.text.clone()))
                    .collect::<Vec<_>>(),
            ),
            (Tab::Forensics, _) => 0,
            _ => d
                .loaded
                .as_ref()
                .map_or(0, |data| count(&data.tab_lines(d.tab))),
        };
        rows.saturating_sub(usize::from(pane.height.saturating_sub(2)))
    }

    /// The selected message row, when its page is loaded.
    pub fn selected_message(&self) -> Option<&MessageRow> {
        let m = &self.messages;
        m.selected
            .checked_sub(m.page_offset)
            .and_then(|i| m.rows.get(i))
    }
}

/// A one-line text input.
pub fn single_line(text: &str) -> TextArea<'static> {
    let mut t = TextArea::new(vec![text.to_string()]);
    t.move_cursor(ratatui_textarea::CursorMove::End);
    t
}

/// The text of a one-line input.
pub fn input_text(t: &TextArea<'_>) -> String {
    t.lines().join(" ")
}
