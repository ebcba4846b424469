//! Waking the outbox relay once a transaction that enqueued events has committed.
//!
//! A `NOTIFY` inside the writing transaction would be simpler, but PostgreSQL holds its global notify lock from
//! pre-commit through the commit's WAL flush, so every writing transaction would commit one at a time (pgbench,
//! 32 clients, two inserts per transaction on a 2-core machine: 5,600 commits/s, 2,200 with a NOTIFY in each).
//! Instead the committing process wakes its own relay directly when that relay leads, and otherwise sends one
//! `NOTIFY` after the fact, outside any write, for the leading replica. A lost wake costs at most the relay's
//! poll interval, never an event.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::task::TaskHandle;

/// The channel the leading relay listens on.
pub(crate) const NOTIFY_CHANNEL: &str = "pdop_outbox";

/// Wakes the relay of this service's database; cheap to clone and to call after every commit.
#[derive(Clone, Default)]
pub struct OutboxWaker(Arc<Inner>);

#[derive(Default)]
struct Inner {
    /// Set while this process's relay leads.
    leading: AtomicBool,
    /// Wakes so far (tests check that each commit wakes once).
    wakes: AtomicU64,
    /// The local relay waits on this (a wake before it waits is kept as a permit).
    relay: Notify,
    /// The forwarder waits on this to send a `NOTIFY` to another process's relay.
    remote: Notify,
}

impl std::fmt::Debug for OutboxWaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWaker")
            .field("leading", &self.0.leading.load(Ordering::Relaxed))
            .finish()
    }
}

impl OutboxWaker {
    /// Says that events may have been committed to the outbox. Many wakes before the relay runs count once.
    pub fn wake(&self) {
        self.0.wakes.fetch_add(1, Ordering::Relaxed);
        if self.0.leading.load(Ordering::Acquire) {
            self.0.relay.notify_one();
        } else {
            self.0.remote.notify_one();
        }
    }

    /// How many times [`OutboxWaker::wake`] has been called.
    pub fn wakes(&self) -> u64 {
        self.0.wakes.load(Ordering::Relaxed)
    }

    pub(crate) fn set_leading(&self, leading: bool) {
        self.0.leading.store(leading, Ordering::Release);
    }

    /// Resolves at the next wake (or at once, for a wake that came while the relay was busy).
    pub(crate) async fn woken(&self) {
        self.0.relay.notified().await;
    }

    /// Forwards wakes this process's relay cannot take (it does not lead) as a `NOTIFY`, until stopped.
    pub fn spawn_forwarder(&self, pool: PgPool) -> TaskHandle {
        let waker = self.clone();
        TaskHandle::spawn(|mut stopped| async move {
            loop {
                tokio::select! {
                    _ = waker.0.remote.notified() => {}
                    _ = stopped.changed() => return,
                }
                let sent = sqlx::query("SELECT pg_notify($1, '')")
                    .bind(NOTIFY_CHANNEL)
                    .execute(&pool)
                    .await;
                if let Err(err) = sent {
                    tracing::warn!(%err, "waking the outbox relay failed; it finds the rows at its next poll");
                }
            }
        })
    }
}

/// Marks the relay as leading for as long as it lives, so leadership ends on every way out of the loop.
pub(crate) struct Leading<'a>(&'a OutboxWaker);

impl<'a> Leading<'a> {
    pub(crate) fn new(waker: &'a OutboxWaker) -> Self {
        waker.set_leading(true);
        Self(waker)
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.set_leading(false);
    }
}
