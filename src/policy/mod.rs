//! Auto-pull: alerts come in, the policies decide, jobs run at once or wait for a second
//! person (DESIGN.md, "Auto-pull").
//!
//! - [`intake`]: the store-backed [`crate::model::AlertSink`] every intake hands alerts to;
//! - [`rules`]: which `[policy.rules.NAME]` an alert falls under;
//! - [`rails`]: what no rule may override (window, blast radius, protected and already-acted
//!   mailboxes);
//! - [`decide`]: the verdict, pure: facts in, verdict out;
//! - [`act`]: the decider loop `serve`, `worker --follow` and the console run: claim a
//!   revision, gather the facts (the log, else a Message-ID search of the recipients'
//!   mailboxes), plan, and write the decision with its job or approval request at once;
//! - [`hunt`]: re-evaluation, the live indicators hunted in the log and (`mailbox_hunt`)
//!   in the mailboxes, each match an alert;
//! - [`notify`]: `notify_command`, never in the way of a pull.

pub mod act;
pub mod decide;
pub mod hunt;
pub mod intake;
mod mailbox_hunt;
pub mod notify;
pub mod rails;
pub mod report;
pub mod rules;

pub use act::{Decider, Outcome, run_decider};
pub use intake::Intake;

#[cfg(test)]
mod tests;
