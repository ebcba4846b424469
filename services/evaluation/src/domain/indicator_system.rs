//! Indicator systems (评价指标体系, §3.2): DRAFT → PUBLISHED → RETIRED. A draft is checked for shape when it is
//! written (INVALID_ARGUMENT), and for the rules of a usable system when it is published (FAILED_PRECONDITION):
//! weights summing to exactly 1, contiguous bands, strictly decreasing thresholds ending at 0, the scheme matching
//! the profile's grades (R-EV-07) and the dimensions a seed names. All weights, bands and thresholds are
//! configuration: no published weights exist (R-EV-05).

use std::collections::HashSet;

use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::uow::{Call, Change};
use pdop_proto::common::JurisdictionRef;
use pdop_proto::evaluation::events::v1 as ev;
use pdop_proto::evaluation::v1::{
    Dimension, EvaluationSubjectKind, Indicator, IndicatorSystem, IndicatorSystemState as State,
    ScoringMethod,
};
use pdop_rules::Profile;
use pdop_rules::profiles::{OrgRole, SubjectKind};
use rust_decimal::Decimal;

use super::decimals;
use super::error::{Error, ErrorReason, require_state};
use super::grading;

pub const COLLECTION: &str = "indicatorSystems";

pub fn state_of(s: &IndicatorSystem) -> State {
    State::try_from(s.state).unwrap_or_default()
}

pub fn subject_kind(value: i32) -> Option<SubjectKind> {
    match EvaluationSubjectKind::try_from(value).unwrap_or_default() {
        EvaluationSubjectKind::Operator => Some(SubjectKind::Operator),
        EvaluationSubjectKind::Developer => Some(SubjectKind::Developer),
        EvaluationSubjectKind::ImplementingAgency => Some(SubjectKind::ImplementingAgency),
        EvaluationSubjectKind::DataProvider => Some(SubjectKind::DataProvider),
        EvaluationSubjectKind::Unspecified => None,
    }
}

fn token_role(org: OrgRole) -> Role {
    match org {
        OrgRole::DataAuthority => Role::DataAuthority,
        OrgRole::ImplementingAgency => Role::ImplementingAgency,
        OrgRole::Operator => Role::Operator,
        OrgRole::DataProvider => Role::DataProvider,
        OrgRole::IndustryRegulator => Role::IndustryRegulator,
    }
}

/// §3.3: the profile must evaluate `kind`, and the caller must hold the role that evaluates it.
pub fn may_evaluate(profile: &Profile, kind: SubjectKind, caller: &Caller) -> Result<(), Error> {
    let subjects = profile.evaluation.subjects.as_ref();
    let rule = profile.evaluation.subject(kind).ok_or_else(|| {
        Error::refused(
            ErrorReason::SubjectKindNotEvaluated,
            format!(
                "profile {} does not evaluate {kind} organizations ({})",
                profile.id,
                subjects.map_or("no evaluation.subjects", |s| s.source.as_str())
            ),
        )
    })?;
    if caller.has_role(token_role(rule.evaluator)) {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::SubjectKindNotEvaluated,
        format!(
            "in profile {} {kind} organizations are evaluated by the {} ({})",
            profile.id,
            rule.evaluator,
            subjects.map_or("", |s| s.source.as_str())
        ),
    ))
}

/// Whether a text is a stable key: lower_snake_case ASCII, 1–64 characters.
fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn key(key: &str, field: &str, seen: &mut HashSet<String>, v: &mut Violations) {
    if !is_key(key) {
        v.add(field, "must be a lower_snake_case key of at most 64 characters");
    } else if !seen.insert(key.to_owned()) {
        v.add(
            field,
            format!("{key:?} is used twice; keys are unique in a system"),
        );
    }
}

fn fraction(d: Option<&pdop_proto::common::Decimal>, field: &str, v: &mut Violations) -> Option<Decimal> {
    let value = decimals::required(d, field, v)?;
    if value < Decimal::ZERO || value > Decimal::ONE {
        v.add(field, "must be a fraction in [0, 1]");
    }
    Some(value)
}

fn indicator(ind: &Indicator, at: &str, seen: &mut HashSet<String>, v: &mut Violations) {
    key(&ind.key, &format!("{at}.key"), seen, v);
    if ind.display_name.trim().is_empty() {
        v.add(format!("{at}.display_name"), "is required");
    }
    fraction(ind.weight.as_ref(), &format!("{at}.weight"), v);
    let max = decimals::required(ind.max_score.as_ref(), &format!("{at}.max_score"), v);
    if max.is_some_and(|m| m <= Decimal::ZERO) {
        v.add(format!("{at}.max_score"), "must be above 0");
    }
    let method = ScoringMethod::try_from(ind.scoring_method).unwrap_or_default();
    match method {
        ScoringMethod::Unspecified => v.add(format!("{at}.scoring_method"), "must be set"),
        ScoringMethod::Banded if ind.bands.is_empty() => {
            v.add(format!("{at}.bands"), "a BANDED indicator needs its bands")
        }
        ScoringMethod::Proportional => {
            let target = decimals::required(ind.target.as_ref(), &format!("{at}.target"), v);
            if target.is_some_and(|t| t <= Decimal::ZERO) {
                v.add(format!("{at}.target"), "must be above 0");
            }
        }
        ScoringMethod::Deduction => {
            let per = decimals::required(
                ind.deduction_per_occurrence.as_ref(),
                &format!("{at}.deduction_per_occurrence"),
                v,
            );
            if per.is_some_and(|p| p <= Decimal::ZERO) {
                v.add(format!("{at}.deduction_per_occurrence"), "must be above 0");
            }
        }
        _ => {}
    }
    for (b, band) in ind.bands.iter().enumerate() {
        let at = format!("{at}.bands[{b}]");
        decimals::required(band.lower.as_ref(), &format!("{at}.lower"), v);
        decimals::optional(band.upper.as_ref(), &format!("{at}.upper"), v);
        let score = decimals::required(band.score.as_ref(), &format!("{at}.score"), v);
        if let (Some(score), Some(max)) = (score, max)
            && (score < Decimal::ZERO || score > max)
        {
            v.add(format!("{at}.score"), "must be within [0, max_score]");
        }
    }
}

/// The shape of a draft (INVALID_ARGUMENT): names, keys unique, decimals exact, methods complete.
pub fn check_shape(s: &IndicatorSystem, field: &str, v: &mut Violations) {
    if s.display_name.trim().is_empty() {
        v.add(format!("{field}.display_name"), "is required");
    }
    if subject_kind(s.subject_kind).is_none() {
        v.add(format!("{field}.subject_kind"), "must be set");
    }
    if !(2000..=2100).contains(&s.year) {
        v.add(format!("{field}.year"), "must be a year between 2000 and 2100");
    }
    if s.dimensions.is_empty() {
        v.add(
            format!("{field}.dimensions"),
            "at least one dimension is required",
        );
    }
    let mut seen = HashSet::new();
    for (d, dim) in s.dimensions.iter().enumerate() {
        let at = format!("{field}.dimensions[{d}]");
        key(&dim.key, &format!("{at}.key"), &mut seen, v);
        if dim.display_name.trim().is_empty() {
            v.add(format!("{at}.display_name"), "is required");
        }
        fraction(dim.weight.as_ref(), &format!("{at}.weight"), v);
        if dim.indicators.is_empty() {
            v.add(format!("{at}.indicators"), "at least one indicator is required");
        }
        for (i, ind) in dim.indicators.iter().enumerate() {
            indicator(ind, &format!("{at}.indicators[{i}]"), &mut seen, v);
        }
    }
    for (i, veto) in s.veto_items.iter().enumerate() {
        let at = format!("{field}.veto_items[{i}]");
        key(&veto.key, &format!("{at}.key"), &mut seen, v);
        if veto.kind == 0 {
            v.add(format!("{at}.kind"), "must be set");
        }
        if veto.display_name.trim().is_empty() {
            v.add(format!("{at}.display_name"), "is required");
        }
    }
    let grading = s.grading.clone().unwrap_or_default();
    if grading.kind == 0 {
        v.add(format!("{field}.grading.kind"), "must be set");
    }
    for (i, t) in grading.thresholds.iter().enumerate() {
        let at = format!("{field}.grading.thresholds[{i}]");
        if t.grade == 0 {
            v.add(format!("{at}.grade"), "must be set");
        }
        let min = decimals::required(t.min_score.as_ref(), &format!("{at}.min_score"), v);
        if min.is_some_and(|m| m < Decimal::ZERO || m > Decimal::ONE_HUNDRED) {
            v.add(format!("{at}.min_score"), "must be within [0, 100]");
        }
    }
    if !s.supersedes.is_empty() && pdop_kit::names::parse(&s.supersedes, COLLECTION).is_none() {
        v.add(
            format!("{field}.supersedes"),
            pdop_kit::names::expected(COLLECTION),
        );
    }
}

fn refused(reason: ErrorReason, message: String) -> Error {
    Error::refused(reason, message)
}

fn sum(weights: impl Iterator<Item = Decimal>) -> Decimal {
    weights.sum()
}

/// Bands must follow each other: sorted by lower bound, each upper bound the next lower bound, only the last open.
fn check_bands(dim: &Dimension, ind: &Indicator) -> Result<(), Error> {
    if ScoringMethod::try_from(ind.scoring_method).unwrap_or_default() != ScoringMethod::Banded {
        return Ok(());
    }
    let mut bands: Vec<(Decimal, Option<Decimal>)> = ind
        .bands
        .iter()
        .map(|b| {
            let upper = b.upper.as_ref().filter(|u| !u.value.is_empty());
            (
                decimals::stored(b.lower.as_ref()),
                upper.map(|u| decimals::stored(Some(u))),
            )
        })
        .collect();
    bands.sort_by_key(|(lower, _)| *lower);
    for pair in bands.windows(2) {
        let ((_, upper), (next_lower, _)) = (pair[0], pair[1]);
        if upper != Some(next_lower) {
            return Err(refused(
                ErrorReason::Scale,
                format!(
                    "the bands of {}.{} are not contiguous: a band ending at {} is followed by one starting at {next_lower}",
                    dim.key,
                    ind.key,
                    upper.map_or("(no bound)".to_owned(), |u| u.to_string())
                ),
            ));
        }
    }
    for (lower, upper) in &bands {
        if upper.is_some_and(|u| u <= *lower) {
            return Err(refused(
                ErrorReason::Scale,
                format!("a band of {}.{} ends before it starts", dim.key, ind.key),
            ));
        }
    }
    Ok(())
}

/// §3.2, R-EV-07: what a system must satisfy to be published under `profile`.
pub fn check_publishable(s: &IndicatorSystem, profile: &Profile) -> Result<(), Error> {
    let total = sum(s.dimensions.iter().map(|d| decimals::stored(d.weight.as_ref())));
    if total != Decimal::ONE {
        return Err(refused(
            ErrorReason::Weights,
            format!("dimension weights sum to {total}, not exactly 1"),
        ));
    }
    for dim in &s.dimensions {
        let total = sum(dim.indicators.iter().map(|i| decimals::stored(i.weight.as_ref())));
        if total != Decimal::ONE {
            return Err(refused(
                ErrorReason::Weights,
                format!(
                    "the indicator weights of dimension {} sum to {total}, not exactly 1",
                    dim.key
                ),
            ));
        }
        for ind in &dim.indicators {
            check_bands(dim, ind)?;
        }
    }
    let scheme = s.grading.clone().unwrap_or_default();
    let kind = grading::kind_of(&scheme);
    let thresholds: Vec<Decimal> = scheme
        .thresholds
        .iter()
        .map(|t| decimals::stored(t.min_score.as_ref()))
        .collect();
    if thresholds.is_empty()
        || thresholds.windows(2).any(|w| w[1] >= w[0])
        || thresholds.last() != Some(&Decimal::ZERO)
    {
        return Err(refused(
            ErrorReason::Scale,
            "grade thresholds must decrease strictly, highest first, and the last must be 0".to_owned(),
        ));
    }
    let allowed = profile.evaluation.grades.as_ref();
    let profile_grades = allowed.map(|g| g.value.as_slice()).unwrap_or_default();
    if !grading::matches_profile(kind, profile_grades) {
        let names: Vec<&str> = profile_grades.iter().map(|g| g.label_zh()).collect();
        return Err(refused(
            ErrorReason::GradingScheme,
            format!(
                "profile {} grades evaluations {} ({}); the scheme {kind:?} gives other grades",
                profile.id,
                names.join(" / "),
                allowed.map_or("no evaluation.grades", |g| g.source.as_str())
            ),
        ));
    }
    let in_scheme = |g: i32| grading::grades(kind).contains(&grading::grade(g));
    let thresholds_ok = scheme.thresholds.iter().all(|t| in_scheme(t.grade));
    let veto_ok = s.veto_items.is_empty() || in_scheme(scheme.veto_grade);
    let rectify_ok = scheme.rectification_grades.iter().all(|g| in_scheme(*g));
    if !(thresholds_ok && veto_ok && rectify_ok) {
        return Err(refused(
            ErrorReason::GradingScheme,
            format!("the thresholds, veto grade and rectification grades must be grades of {kind:?}"),
        ));
    }
    if let Some(kind) = subject_kind(s.subject_kind) {
        for required in profile.evaluation.required_dimensions(kind) {
            if !s.dimensions.iter().any(|d| d.key == required.key) {
                let source = profile.evaluation.dimensions.as_ref();
                return Err(refused(
                    ErrorReason::DimensionMissing,
                    format!(
                        "profile {} requires the dimension {} {} for {kind} organizations ({})",
                        profile.id,
                        required.key,
                        required.display_name,
                        source.map_or("", |s| s.source.as_str())
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn audit(s: &IndicatorSystem) -> serde_json::Value {
    serde_json::json!({ "state": format!("{:?}", state_of(s)), "year": s.year })
}

/// ∅ → DRAFT, owned by the caller's organization.
pub fn create(s: &mut IndicatorSystem, call: &Call, profile_id: &str) -> Change {
    s.owner = call.caller.organization.clone();
    s.profile_id = profile_id.to_owned();
    s.state = State::Draft as i32;
    s.publish_time = None;
    Change::new(&s.name, audit(s))
}

/// Only the owner edits, publishes and retires a system.
pub fn require_owner(s: &IndicatorSystem, caller: &Caller) -> Result<(), Error> {
    if s.owner == caller.organization {
        return Ok(());
    }
    Err(Error::denied(
        ErrorReason::NotAParty,
        format!("{} is owned by {}", s.name, s.owner),
    ))
}

/// DRAFT stays DRAFT; the edited fields were replaced whole by the caller.
pub fn update(s: &IndicatorSystem, caller: &Caller) -> Result<Change, Error> {
    require_owner(s, caller)?;
    require_state(&s.name, state_of(s), &[State::Draft], "an update")?;
    Ok(Change::new(&s.name, audit(s)))
}

/// DRAFT → PUBLISHED, immutable from now on.
pub fn publish(
    s: &mut IndicatorSystem,
    call: &Call,
    profile: &Profile,
    jurisdiction: JurisdictionRef,
) -> Result<Change<ev::IndicatorSystemPublished>, Error> {
    require_owner(s, &call.caller)?;
    require_state(&s.name, state_of(s), &[State::Draft], "publication")?;
    check_publishable(s, profile)?;
    s.state = State::Published as i32;
    s.publish_time = Some(timestamp(call.now));
    let event = ev::IndicatorSystemPublished {
        name: s.name.clone(),
        display_name: s.display_name.clone(),
        jurisdiction: Some(jurisdiction),
        subject_kind: s.subject_kind,
        year: s.year,
        dimension_keys: s.dimensions.iter().map(|d| d.key.clone()).collect(),
        dimension_names: s.dimensions.iter().map(|d| d.display_name.clone()).collect(),
        dimension_weights: s.dimensions.iter().filter_map(|d| d.weight.clone()).collect(),
        veto_item_names: s.veto_items.iter().map(|v| v.display_name.clone()).collect(),
        grading_scheme: s.grading.as_ref().map_or(0, |g| g.kind),
        supersedes: s.supersedes.clone(),
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&s.name, audit(s)).announce(event))
}

/// PUBLISHED → RETIRED; running evaluations keep using it. A system superseded by a newly published one is
/// retired by that publication (the owner need not act twice).
pub fn retire(
    s: &mut IndicatorSystem,
    call: &Call,
    reason: String,
    jurisdiction: JurisdictionRef,
) -> Result<Change<ev::IndicatorSystemRetired>, Error> {
    require_owner(s, &call.caller)?;
    require_state(&s.name, state_of(s), &[State::Published], "retirement")?;
    s.state = State::Retired as i32;
    let event = ev::IndicatorSystemRetired {
        name: s.name.clone(),
        jurisdiction: Some(jurisdiction),
        reason,
        actor: Some(actor(&call.caller)),
    };
    Ok(Change::new(&s.name, audit(s)).announce(event))
}

/// Every indicator of the system with its dimension, in order.
pub fn indicators(s: &IndicatorSystem) -> impl Iterator<Item = (&Dimension, &Indicator)> {
    s.dimensions
        .iter()
        .flat_map(|d| d.indicators.iter().map(move |i| (d, i)))
}
