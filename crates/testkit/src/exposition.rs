//! Reading a service's `/metrics` (OpenMetrics text) in tests.

use std::collections::BTreeSet;

/// The label names of every sample line of an exposition.
pub fn label_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| Some(&l[l.find('{')? + 1..l.rfind('}')?]))
        .flat_map(|labels| labels.split("\",").filter_map(|pair| pair.split('=').next()))
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The labels of an exposition that the Prometheus Operator would rename `exported_<name>` when it scrapes.
pub fn clashing_labels(exposition: &str) -> Vec<String> {
    let names = label_names(exposition);
    pdop_kit::metrics::OPERATOR_LABELS
        .iter()
        .filter(|l| names.contains(**l))
        .map(|l| (*l).to_owned())
        .collect()
}
