//! Parsing shared by the review RPCs: required text, documents, date ranges, demands, decisions' grounds and
//! supplement requests. Each adds violations naming the field (the edge check has already bounded lengths and
//! refused control characters).

use chrono::NaiveDate;
use pdop_kit::Violations;
use pdop_kit::convert::{naive_date, optional_date};
use pdop_proto::common::{Date, DateRange, DocumentRef};
use pdop_proto::review::v1::{DataDemand, MissingItem, SecurityMeasure, SupplementRequest};

use crate::domain::Error;
use crate::domain::scenario::Decision;

pub fn required(text: &str, field: &str, v: &mut Violations) {
    if text.trim().is_empty() {
        v.add(field, "is required");
    }
}

pub use pdop_kit::edge::document;

pub fn date_range(r: Option<&DateRange>, field: &str, v: &mut Violations) {
    let Some(r) = r else { return };
    let start = r.start_date.as_ref().map(|d| (d, naive_date(d)));
    let end = r.end_date.as_ref().map(|d| (d, naive_date(d)));
    if let Some((_, None)) = start {
        v.add(format!("{field}.start"), "is not a calendar date");
    }
    if let Some((_, None)) = end {
        v.add(format!("{field}.end"), "is not a calendar date");
    }
    if let (Some((_, Some(s))), Some((_, Some(e)))) = (start, end)
        && e < s
    {
        v.add(format!("{field}.end"), "must not be before the start");
    }
}

pub fn demands(demands: &[DataDemand], field: &str, v: &mut Violations) {
    let mut seen = Vec::new();
    for (i, d) in demands.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if pdop_kit::names::parse(&d.resource, "resources").is_none() {
            v.add(format!("{at}.resource"), pdop_kit::names::expected("resources"));
        } else if seen.contains(&d.resource) {
            v.add(
                format!("{at}.resource"),
                "is demanded twice; one demand per resource",
            );
        }
        seen.push(d.resource.clone());
        required(&d.necessity, &format!("{at}.necessity"), v);
        document(
            d.subject_authorization.as_ref(),
            &format!("{at}.subject_authorization"),
            v,
        );
    }
}

pub fn security_measures(measures: &[SecurityMeasure], field: &str, v: &mut Violations) {
    for (i, m) in measures.iter().enumerate() {
        if m.kind == 0 {
            v.add(format!("{field}[{i}].kind"), "must be set");
        }
        required(&m.description, &format!("{field}[{i}].description"), v);
    }
}

/// A rejection or revocation states reasons and basis (R-RV-04, S-HN Art.15).
pub fn grounds(
    reasons: String,
    basis: String,
    document_ref: Option<DocumentRef>,
    late_explanation: String,
) -> Result<Decision, Error> {
    let mut v = Violations::new();
    required(&reasons, "reasons", &mut v);
    required(&basis, "basis", &mut v);
    document(document_ref.as_ref(), "decision_document", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    Ok(Decision {
        reasons,
        basis,
        document: document_ref,
        late_explanation,
        ..Default::default()
    })
}

/// R-RV-05: every missing item in one notice; a due date, when set, is not in the past.
pub fn supplement(
    items: Vec<MissingItem>,
    note: String,
    due_date: Option<Date>,
    today: NaiveDate,
) -> Result<SupplementRequest, Error> {
    let mut v = Violations::new();
    if items.is_empty() {
        v.add("items", "must list every missing or defective item (一次性告知)");
    }
    for (i, item) in items.iter().enumerate() {
        required(&item.item, &format!("items[{i}].item"), &mut v);
        required(&item.description, &format!("items[{i}].description"), &mut v);
    }
    match optional_date(due_date.as_ref()) {
        Ok(Some(d)) if d < today => v.add("due_date", "must not be in the past"),
        Ok(_) => {}
        Err(e) => v.add("due_date", e),
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    Ok(SupplementRequest {
        items,
        note,
        due_date,
        requested: None,
    })
}
