//! The results of one suite run: JSON for the record, a Markdown table for people, and the README section.

use serde::Serialize;

use crate::pipeline::Step;
use crate::procs::Memory;
use crate::stats::Summary;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub postgres: String,
    pub nats_server: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Baselines {
    pub grpc_echo: Summary,
    pub pgbench_registry_write: Summary,
    pub jetstream_publish: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct DisclosureAtScale {
    pub append_backlog: u64,
    pub append_per_second: f64,
    pub log_entries: u64,
    /// Seconds the benchmark log took to build; 0 when an earlier run's log was reused.
    pub build_seconds: f64,
    /// One caller at a time: the latency of a proof.
    pub proof_latency: Summary,
    /// Many callers: how many proofs per second.
    pub proof_throughput: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenarios {
    pub pricing_preview: Summary,
    pub registry_get: Summary,
    pub registry_create: Summary,
    /// The review service's write: a scenario application created (read model, row, audit row).
    pub review_create: Summary,
    /// The review service's read: a scenario application with its party check.
    pub review_get: Summary,
    /// The evaluation service's write: three indicator scores computed and recorded (row and audit row).
    pub evaluation_record: Summary,
    /// The evaluation service's scoring: the exact weighted total, grade and calculation steps.
    pub evaluation_calculate: Summary,
    pub pipeline: Vec<Step>,
    pub pipeline_highest_sustained_rate: f64,
    pub disclosure: DisclosureAtScale,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceMemory {
    pub service: String,
    pub idle_mib: f64,
    /// Highest resident memory over the run (VmHWM).
    pub peak_mib: f64,
}

impl ServiceMemory {
    pub fn new(service: &str, idle: Memory, end: Memory) -> Self {
        Self {
            service: service.to_owned(),
            idle_mib: idle.rss_mib,
            peak_mib: end.peak_mib,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub date: String,
    pub quick: bool,
    pub machine: Machine,
    pub concurrency: usize,
    pub seconds_per_scenario: f64,
    pub baselines: Baselines,
    pub scenarios: Scenarios,
    pub memory: Vec<ServiceMemory>,
    pub targets: Vec<TargetCheck>,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl Results {
    /// Judges the targets against this run.
    pub fn check_targets(&mut self) {
        let (b, s) = (&self.baselines, &self.scenarios);
        let mut t = Vec::new();
        let preview = ratio(s.pricing_preview.throughput, b.grpc_echo.throughput);
        t.push(check(
            "pricing preview / gRPC echo",
            "≥ 0.80×",
            format!("{preview:.2}×"),
            preview >= 0.8,
        ));
        let read = ratio(s.registry_get.throughput, b.grpc_echo.throughput);
        t.push(check(
            "registry read / gRPC echo",
            "≥ 0.60×",
            format!("{read:.2}×"),
            read >= 0.6,
        ));
        let write = ratio(s.registry_create.throughput, b.pgbench_registry_write.throughput);
        t.push(check(
            "registry write / pgbench",
            "≥ 0.50×",
            format!("{write:.2}×"),
            write >= 0.5,
        ));
        let p99 = s.registry_create.p99_ms;
        t.push(check(
            "registry write p99",
            "≤ 20 ms",
            format!("{p99:.1} ms"),
            p99 <= 20.0,
        ));
        let at_1000 = s
            .pipeline
            .iter()
            .find(|st| (st.target_rate - 1000.0).abs() < 1e-9);
        t.push(match at_1000 {
            Some(st) => check(
                "pipeline p99 at 1,000 events/s",
                "≤ 100 ms, sustained",
                format!(
                    "{:.1} ms, {:.0} writes/s{}",
                    st.p99_ms,
                    st.writes.throughput,
                    if st.sustained { "" } else { ", not sustained" }
                ),
                st.p99_ms <= 100.0 && st.sustained,
            ),
            None => check(
                "pipeline p99 at 1,000 events/s",
                "≤ 100 ms",
                "not run".into(),
                false,
            ),
        });
        let lost: u64 = s.pipeline.iter().map(|st| st.lost).sum();
        t.push(check(
            "pipeline loss",
            "0",
            format!(
                "{lost} of {}",
                s.pipeline.iter().map(|st| st.committed).sum::<u64>()
            ),
            lost == 0,
        ));
        let proof = &s.disclosure.proof_latency;
        t.push(check(
            &format!("inclusion proof p99 at {} entries", s.disclosure.log_entries),
            "≤ 2 ms (at 1M)",
            format!("{:.2} ms", proof.p99_ms),
            proof.p99_ms <= 2.0 && s.disclosure.log_entries >= 1_000_000,
        ));
        let heaviest = self
            .memory
            .iter()
            .max_by(|a, c| a.idle_mib.total_cmp(&c.idle_mib))
            .map(|m| (m.service.clone(), m.idle_mib))
            .unwrap_or_default();
        t.push(check(
            "idle resident memory, largest",
            "< 40 MB each",
            format!("{:.1} MiB ({})", heaviest.1, heaviest.0),
            heaviest.1 * 1.048_576 < 40.0,
        ));
        self.targets = t;
    }

    /// The summary table: each scenario with its baseline and ratio, then the targets and memory.
    pub fn markdown(&self) -> String {
        let (b, s) = (&self.baselines, &self.scenarios);
        let m = &self.machine;
        let mut out = format!(
            "Run {date}{quick} on {cpu}, {cores} cores, {mem:.0} GiB; {pg}; nats-server {nats}. \
             Concurrency {c}, {secs} s per scenario.\n\n",
            date = self.date,
            quick = if self.quick {
                " (quick smoke run, not representative)"
            } else {
                ""
            },
            cpu = m.cpu,
            cores = m.cores,
            mem = m.memory_gib,
            pg = m.postgres,
            nats = m.nats_server,
            c = self.concurrency,
            secs = self.seconds_per_scenario,
        );
        out.push_str("| scenario | throughput | p50 | p99 | p99.9 | baseline | ratio |\n");
        out.push_str("|---|---:|---:|---:|---:|---|---:|\n");
        let row = |name: &str, x: &Summary, base: Option<(&str, &Summary)>| {
            let (bname, r) = match base {
                Some((n, bs)) => (
                    n.to_owned(),
                    format!("{:.2}×", ratio(x.throughput, bs.throughput)),
                ),
                None => ("".to_owned(), "".to_owned()),
            };
            format!(
                "| {name} | {:.0}/s | {:.2} ms | {:.2} ms | {:.2} ms | {bname} | {r} |\n",
                x.throughput, x.p50_ms, x.p99_ms, x.p999_ms
            )
        };
        out.push_str(&row("baseline: gRPC echo (tonic)", &b.grpc_echo, None));
        out.push_str(&row(
            "baseline: pgbench state+audit+outbox",
            &b.pgbench_registry_write,
            None,
        ));
        out.push_str(&row(
            "baseline: JetStream publish with ack",
            &b.jetstream_publish,
            None,
        ));
        out.push_str(&row(
            "pricing PreviewMaxAllowedRevenue",
            &s.pricing_preview,
            Some(("gRPC echo", &b.grpc_echo)),
        ));
        out.push_str(&row(
            "registry GetResource",
            &s.registry_get,
            Some(("gRPC echo", &b.grpc_echo)),
        ));
        out.push_str(&row(
            "registry CreateResource",
            &s.registry_create,
            Some(("pgbench", &b.pgbench_registry_write)),
        ));
        out.push_str(&row(
            "review CreateScenarioApplication",
            &s.review_create,
            Some(("pgbench", &b.pgbench_registry_write)),
        ));
        out.push_str(&row(
            "review GetScenarioApplication",
            &s.review_get,
            Some(("gRPC echo", &b.grpc_echo)),
        ));
        out.push_str(&row(
            "evaluation RecordIndicatorScores",
            &s.evaluation_record,
            Some(("pgbench", &b.pgbench_registry_write)),
        ));
        out.push_str(&row(
            "evaluation CalculateEvaluationResult",
            &s.evaluation_calculate,
            Some(("gRPC echo", &b.grpc_echo)),
        ));
        out.push_str(&row(
            &format!(
                "disclosure inclusion proof, 1 caller, {} entries",
                s.disclosure.log_entries
            ),
            &s.disclosure.proof_latency,
            None,
        ));
        out.push_str(&row(
            &format!(
                "disclosure inclusion proof, {} callers",
                s.disclosure.proof_throughput.concurrency
            ),
            &s.disclosure.proof_throughput,
            None,
        ));
        out.push_str(&format!(
            "\nDisclosure append from a backlog of {} events: {:.0} entries/s.\n\n",
            s.disclosure.append_backlog, s.disclosure.append_per_second
        ));
        out.push_str("| pipeline rate | writes/s | committed | in log | lost | commit→entry p50 | p99 | max | sustained |\n");
        out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for st in &s.pipeline {
            out.push_str(&format!(
                "| {:.0}/s | {:.0} | {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {} |\n",
                st.target_rate,
                st.writes.throughput,
                st.committed,
                st.disclosed,
                st.lost,
                st.p50_ms,
                st.p99_ms,
                st.max_ms,
                if st.sustained { "yes" } else { "no" }
            ));
        }
        out.push_str(&format!(
            "\nHighest sustained pipeline rate with zero loss: {:.0} events/s.\n\n",
            s.pipeline_highest_sustained_rate
        ));
        out.push_str("| service | idle RSS | peak RSS |\n|---|---:|---:|\n");
        for mem in &self.memory {
            out.push_str(&format!(
                "| {} | {:.1} MiB | {:.1} MiB |\n",
                mem.service, mem.idle_mib, mem.peak_mib
            ));
        }
        out.push_str("\n| target | goal | measured | met |\n|---|---|---|---|\n");
        for t in &self.targets {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                t.what,
                t.target,
                t.measured,
                if t.met { "yes" } else { "**no**" }
            ));
        }
        out
    }
}

fn check(what: &str, target: &str, measured: String, met: bool) -> TargetCheck {
    TargetCheck {
        what: what.to_owned(),
        target: target.to_owned(),
        measured,
        met,
    }
}

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

/// Replaces the text between the README's bench markers with `table`; the markers must be there.
pub fn replace_section(readme: &str, table: &str) -> anyhow::Result<String> {
    let start = readme
        .find(BEGIN)
        .ok_or_else(|| anyhow::anyhow!("the README has no {BEGIN} marker"))?;
    let end = readme
        .find(END)
        .filter(|e| *e > start)
        .ok_or_else(|| anyhow::anyhow!("the README has no {END} marker after {BEGIN}"))?;
    Ok(format!(
        "{}{BEGIN}\n{}{}",
        &readme[..start],
        table.trim_end().to_owned() + "\n",
        &readme[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_section_is_replaced_between_its_markers_only() {
        let readme =
            "# pdop\n\n## Benchmarks\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\n\nafter\n";
        let updated = replace_section(readme, "| new |").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            updated,
            "# pdop\n\n## Benchmarks\n<!-- bench:begin -->\n| new |\n<!-- bench:end -->\n\nafter\n"
        );
        assert!(replace_section("no markers", "x").is_err());
    }
}
