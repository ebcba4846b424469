//! Drives one call from `concurrency` workers for a duration or a count, closed-loop (each worker waits for its
//! answer before the next call) or paced to a total rate. Warm-up calls are made first and not recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// Tokio's clock, so tests with paused time see the deadlines move.
use tokio::time::Instant;

use futures_util::future::BoxFuture;
use tokio::time::MissedTickBehavior;

use crate::stats::Summary;

/// One call of the load, given its unique number (for unique ids); an error is its gRPC code.
pub type CallFn = Arc<dyn Fn(u64) -> BoxFuture<'static, Result<(), tonic::Code>> + Send + Sync>;

/// When a phase ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    After(Duration),
    Count(u64),
}

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub concurrency: usize,
    pub stop: Stop,
    pub warmup: Duration,
    /// Calls per second over all workers; `None` drives as fast as answers come.
    pub rate: Option<f64>,
}

#[derive(Default)]
struct Worker {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

/// Runs the warm-up, then the measured phase, and summarizes the measured phase.
pub async fn drive(load: Load, call: CallFn) -> Summary {
    let numbers = Arc::new(AtomicU64::new(0));
    if !load.warmup.is_zero() {
        phase(load, Stop::After(load.warmup), numbers.clone(), call.clone()).await;
    }
    let started = Instant::now();
    let workers = phase(load, load.stop, numbers, call).await;
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    let mut errors = BTreeMap::new();
    for w in workers {
        latencies.extend(w.latencies_us);
        for (code, n) in w.errors {
            *errors.entry(code).or_insert(0) += n;
        }
    }
    Summary::new(load.concurrency, elapsed, latencies, errors)
}

async fn phase(load: Load, stop: Stop, numbers: Arc<AtomicU64>, call: CallFn) -> Vec<Worker> {
    let concurrency = load.concurrency.max(1);
    let deadline = match stop {
        Stop::After(d) => Some(Instant::now() + d),
        Stop::Count(_) => None,
    };
    let first = numbers.load(Ordering::Relaxed);
    let limit = match stop {
        Stop::Count(n) => Some(first + n),
        Stop::After(_) => None,
    };
    // Each worker paces itself at its share of the total rate.
    let period = load
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(concurrency as f64 / r));
    let mut tasks = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let (numbers, call) = (numbers.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut w = Worker::default();
            let mut ticks = period.map(|p| {
                // Spread the workers' first calls over one period instead of sending them together.
                let offset = p.mul_f64(i as f64 / concurrency as f64);
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + offset, p);
                t.set_missed_tick_behavior(MissedTickBehavior::Delay);
                t
            });
            loop {
                if let Some(t) = ticks.as_mut() {
                    t.tick().await;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let n = numbers.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|l| n >= l) {
                    break;
                }
                let started = Instant::now();
                match call(n).await {
                    Ok(()) => w
                        .latencies_us
                        .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
                    Err(code) => *w.errors.entry(format!("{code:?}")).or_insert(0) += 1,
                }
            }
            w
        }));
    }
    let mut workers = Vec::with_capacity(concurrency);
    for t in tasks {
        // A worker only ends by returning; a panic inside a call is a bug to see, not to hide.
        match t.await {
            Ok(w) => workers.push(w),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    workers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(fail_every: u64) -> CallFn {
        Arc::new(move |n| {
            Box::pin(async move {
                if fail_every > 0 && n % fail_every == 0 {
                    Err(tonic::Code::Unavailable)
                } else {
                    Ok(())
                }
            })
        })
    }

    #[tokio::test]
    async fn a_count_makes_exactly_that_many_calls_after_the_warmup() {
        let load = Load {
            concurrency: 8,
            stop: Stop::Count(1000),
            warmup: Duration::ZERO,
            rate: None,
        };
        let s = drive(load, counting(10)).await;
        assert_eq!(s.ok + s.errors.values().sum::<u64>(), 1000);
        assert_eq!(s.errors.get("Unavailable"), Some(&100));
        assert_eq!(s.ok, 900);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_paces_the_calls() {
        // Paused time: the pacing is checked by the number of calls, not by the wall clock.
        let load = Load {
            concurrency: 4,
            stop: Stop::After(Duration::from_secs(2)),
            warmup: Duration::ZERO,
            rate: Some(100.0),
        };
        let s = drive(load, counting(0)).await;
        assert!((196..=204).contains(&s.ok), "{} calls at 100/s for 2 s", s.ok);
    }
}
