//! What a load produced: throughput, latency percentiles (nearest rank, of successful calls) and errors by code.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub concurrency: usize,
    pub seconds: f64,
    pub ok: u64,
    /// Failed calls by gRPC code name.
    pub errors: BTreeMap<String, u64>,
    /// Successful calls per second.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    pub fn new(
        concurrency: usize,
        elapsed: Duration,
        mut latencies_us: Vec<u64>,
        errors: BTreeMap<String, u64>,
    ) -> Self {
        latencies_us.sort_unstable();
        let seconds = elapsed.as_secs_f64();
        let ok = latencies_us.len() as u64;
        Self {
            concurrency,
            seconds,
            ok,
            errors,
            throughput: if seconds > 0.0 { ok as f64 / seconds } else { 0.0 },
            p50_ms: percentile_ms(&latencies_us, 0.50),
            p99_ms: percentile_ms(&latencies_us, 0.99),
            p999_ms: percentile_ms(&latencies_us, 0.999),
            max_ms: latencies_us.last().map_or(0.0, |m| *m as f64 / 1000.0),
        }
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }

    /// One line: `12345 ok in 10.0 s = 1234.5/s, p50 1.20 ms, p99 3.40 ms, p99.9 5.00 ms, max 9.10 ms, errors: …`.
    pub fn line(&self) -> String {
        let errors = if self.errors.is_empty() {
            "no errors".to_owned()
        } else {
            let list: Vec<String> = self.errors.iter().map(|(c, n)| format!("{c} {n}")).collect();
            format!("errors: {}", list.join(", "))
        };
        format!(
            "{} ok in {:.1} s = {:.1}/s at concurrency {}, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, {errors}",
            self.ok,
            self.seconds,
            self.throughput,
            self.concurrency,
            self.p50_ms,
            self.p99_ms,
            self.p999_ms,
            self.max_ms
        )
    }
}

/// Nearest-rank percentile of sorted microseconds, in milliseconds; 0 when there are none.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let us: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 0.50), 500.0);
        assert_eq!(percentile_ms(&us, 0.99), 990.0);
        assert_eq!(percentile_ms(&us, 0.999), 999.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
        assert_eq!(percentile_ms(&[7000], 0.999), 7.0);
    }

    #[test]
    fn throughput_counts_successes_only() {
        let errors = BTreeMap::from([("Internal".to_owned(), 5)]);
        let s = Summary::new(2, Duration::from_secs(2), vec![1000; 10], errors);
        assert_eq!(s.throughput, 5.0);
        assert_eq!(s.failed(), 5);
        assert!(s.line().contains("errors: Internal 5"), "{}", s.line());
    }
}
