//! The steps, one `async fn(&mut Platform, &mut Province)` each, in lifecycle order (see [`ALL`]).

pub mod disclosure;
pub mod pricing;
pub mod registry;
pub mod review;

use pdop_proto::common::DocumentRef;

pub(crate) fn doc(title: &str) -> Option<DocumentRef> {
    Some(DocumentRef {
        uri: format!("https://docs.example/{title}.pdf"),
        title: title.into(),
        ..Default::default()
    })
}

pub(crate) use pdop_kit::convert::date;

/// Every step, in lifecycle order; [`run`] runs one by name. A new step is one function and one line in each.
pub const ALL: [&str; 19] = [
    "jurisdictions",
    "organizations",
    "resource",
    "registration",
    "registration_coded",
    "implementation_plan",
    "operator_agreement",
    "product",
    "compliance_review",
    "listed",
    "pricing_case",
    "cost_survey",
    "calculation",
    "max_allowed_revenue",
    "cap_and_specific_prices",
    "annual_check",
    "disclosure_log",
    "verified",
    "annual_report",
];

/// Runs the step named `step` (one of [`ALL`]) for province `j`.
pub async fn run(step: &str, p: &mut crate::Platform, j: &mut crate::Province) -> anyhow::Result<()> {
    match step {
        "jurisdictions" => registry::jurisdictions(p, j).await,
        "organizations" => registry::organizations(p, j).await,
        "resource" => registry::resource(p, j).await,
        "registration" => registry::registration(p, j).await,
        "registration_coded" => registry::registration_coded(p, j).await,
        "implementation_plan" => registry::implementation_plan(p, j).await,
        "operator_agreement" => registry::operator_agreement(p, j).await,
        "product" => registry::product(p, j).await,
        "compliance_review" => review::compliance_review(p, j).await,
        "listed" => registry::listed(p, j).await,
        "pricing_case" => pricing::pricing_case(p, j).await,
        "cost_survey" => pricing::cost_survey(p, j).await,
        "calculation" => pricing::calculation(p, j).await,
        "max_allowed_revenue" => pricing::max_allowed_revenue(p, j).await,
        "cap_and_specific_prices" => pricing::cap_and_specific_prices(p, j).await,
        "annual_check" => pricing::annual_check(p, j).await,
        "disclosure_log" => disclosure::disclosure_log(p, j).await,
        "verified" => disclosure::verified(p, j).await,
        "annual_report" => disclosure::annual_report(p, j).await,
        other => anyhow::bail!("no step {other}"),
    }
}
