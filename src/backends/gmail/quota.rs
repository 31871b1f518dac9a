//! Gmail's quota units: what each method costs (Google's per-method table) and a meter that
//! keeps one user's (or the whole project's) spending within a budget per rolling minute, so
//! the client slows itself down rather than earn `userRateLimitExceeded`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The Gmail and Directory methods this backend calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    MessagesList,
    MessagesGet,
    MessagesModify,
    MessagesTrash,
    MessagesUntrash,
    MessagesDelete,
    MessagesImport,
    LabelsList,
    LabelsCreate,
    ThreadsGet,
    /// Admin SDK Directory: not counted in Gmail's units.
    UsersList,
}

impl Method {
    /// Quota units, from developers.google.com/workspace/gmail/api/reference/quota.
    pub fn units(self) -> u32 {
        match self {
            Method::MessagesList
            | Method::MessagesGet
            | Method::MessagesModify
            | Method::MessagesTrash
            | Method::MessagesUntrash
            | Method::LabelsCreate => 5,
            Method::MessagesDelete | Method::ThreadsGet => 10,
            Method::MessagesImport => 25,
            Method::LabelsList => 1,
            Method::UsersList => 0,
        }
    }
}

/// Units spent within the last minute, against a budget.
pub struct QuotaMeter {
    budget: u32,
    window: Duration,
    /// Each spending within the window, and their sum (kept, not recounted: the project's
    /// meter holds tens of thousands of entries in a large retraction).
    spent: Mutex<(VecDeque<(Instant, u32)>, u32)>,
}

impl QuotaMeter {
    /// A meter allowing `budget` units per rolling minute.
    pub fn per_minute(budget: u32) -> QuotaMeter {
        QuotaMeter {
            budget: budget.max(1),
            window: Duration::from_secs(60),
            spent: Mutex::new((VecDeque::new(), 0)),
        }
    }

    /// Spend `units`, first waiting until the last minute's spending leaves room for them.
    pub async fn spend(&self, units: u32) {
        if units == 0 {
            return;
        }
        let units = units.min(self.budget);
        loop {
            let wait = {
                let mut guard = self.spent.lock().unwrap_or_else(|e| e.into_inner());
                let (spent, total) = &mut *guard;
                let now = Instant::now();
                while let Some((at, u)) = spent.front().copied() {
                    if now.duration_since(at) < self.window {
                        break;
                    }
                    spent.pop_front();
                    *total -= u;
                }
                if *total + units <= self.budget {
                    spent.push_back((now, units));
                    *total += units;
                    return;
                }
                // Wait until enough of the oldest spending leaves the window.
                let mut freed = 0;
                let mut until = now;
                for (at, u) in spent.iter() {
                    freed += u;
                    until = *at + self.window;
                    if *total - freed + units <= self.budget {
                        break;
                    }
                }
                until.saturating_duration_since(now)
            };
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_googles() {
        assert_eq!(Method::MessagesList.units(), 5);
        assert_eq!(Method::MessagesDelete.units(), 10);
        assert_eq!(Method::MessagesImport.units(), 25);
        assert_eq!(Method::LabelsList.units(), 1);
    }

    #[tokio::test]
    async fn spending_past_the_budget_waits_for_the_window() {
        let meter = QuotaMeter {
            budget: 10,
            window: Duration::from_millis(600),
            spent: Mutex::new((VecDeque::new(), 0)),
        };
        let started = Instant::now();
        meter.spend(5).await;
        meter.spend(5).await;
        assert!(started.elapsed() < Duration::from_millis(300));
        meter.spend(5).await;
        assert!(
            started.elapsed() >= Duration::from_millis(590),
            "{:?}",
            started.elapsed()
        );
    }
}
