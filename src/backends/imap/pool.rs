//! Logged-in sessions kept per mailbox and reused across items, under a per-tenant limit on
//! open connections. An idle session of another mailbox is closed to make room, so the
//! limit holds however many mailboxes a job touches.

use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::conn::Conn;
use crate::backends::{BackendError, ErrorKind};

/// A connection and its place under the tenant's connection limit.
pub struct Session {
    pub conn: Conn,
    _permit: OwnedSemaphorePermit,
}

/// Idle sessions by mailbox, and the permits that bound open connections.
pub struct Pool {
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Session>>,
    /// Wakes a waiter when a session goes idle: idle sessions keep their permits, so a
    /// waiter on the semaphore alone would wait forever once every permit sits idle.
    returned: Notify,
}

impl Pool {
    pub fn new(max_connections: usize) -> Pool {
        Pool {
            permits: Arc::new(Semaphore::new(max_connections)),
            idle: Mutex::new(Vec::new()),
            returned: Notify::new(),
        }
    }

    /// An idle session of `user`, or a permit to open a new one.
    pub async fn checkout(&self, user: &str) -> Result<Result<Session, Permit>, BackendError> {
        loop {
            if let Some(session) = self.take_idle(|s| s.conn.user == user) {
                return Ok(Ok(session));
            }
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => return Ok(Err(Permit(permit))),
                Err(_) => {
                    // Close the oldest idle session (of another mailbox) to make room.
                    if self.take_idle(|_| true).is_some() {
                        continue;
                    }
                    tokio::select! {
                        permit = Arc::clone(&self.permits).acquire_owned() => {
                            let permit = permit.map_err(|_| {
                                BackendError::new(ErrorKind::Internal, "pool closed")
                            })?;
                            return Ok(Err(Permit(permit)));
                        }
                        // A session went idle: reuse it or close it for room.
                        () = self.returned.notified() => continue,
                    }
                }
            }
        }
    }

    /// Give a session back for reuse.
    pub fn checkin(&self, session: Session) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
        self.returned.notify_one();
    }

    /// Close every idle session (e.g. after the server restarted).
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn take_idle(&self, wanted: impl Fn(&Session) -> bool) -> Option<Session> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().position(wanted)?;
        Some(idle.remove(at))
    }
}

/// Leave to open one connection.
pub struct Permit(OwnedSemaphorePermit);

impl Permit {
    pub fn session(self, conn: Conn) -> Session {
        Session {
            conn,
            _permit: self.0,
        }
    }
}
