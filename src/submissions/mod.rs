//! Phish submissions (issue 15): users report phish to an abuse mailbox (`[submissions]`),
//! and each report's original becomes an alert the policies decide on.
//!
//! - [`extract`]: the original inside a report (attached whole, ARF, inline forward), pure;
//! - [`run`]: one pass over the abuse mailbox's inbox: each new report read, its original
//!   looked up, raised as an alert (`reported`, or `phish` past the threshold) through the
//!   one alert intake, recorded, and moved to the processed folder; the service's loop.
//! - [`reply`]: the optional reply to the reporter, rendered from the template.

pub mod extract;
pub mod reply;
pub mod run;

pub use run::{
    ReportOutcome, SubmissionsRequest, SubmissionsRun, process, process_and_decide, run_loop,
};

/// The alert source of every alert a report raises.
pub const SOURCE: &str = "submission";
