//! The steps, one `async fn(&mut Platform, &mut Province)` each, in lifecycle order (see [`ALL`]).

pub mod disclosure;
pub mod evaluation;
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
pub const ALL: [&str; 23] = [
    "jurisdictions",
    "organizations",
    "resource",
    "registration",
    "registration_coded",
    "implementation_plan",
    "operator_agreement",
    "scenario",
    "data_use",
    "product",
    "compliance_review",
    "listed",
    "pricing_case",
    "cost_survey",
    "calculation",
    "max_allowed_revenue",
    "cap_and_specific_prices",
    "annual_check",
    "evaluation",
    "rectification",
    "disclosure_log",
    "verified",
    "annual_report",
];

type Step<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Runs the step named `step` (one of [`ALL`]) for province `j`.
pub async fn run(step: &str, p: &mut crate::Platform, j: &mut crate::Province) -> anyhow::Result<()> {
    // Each step's future on the heap, so adding steps does not grow the test thread's stack (debug builds).
    let future: Step<'_> = match step {
        "jurisdictions" => Box::pin(registry::jurisdictions(p, j)),
        "organizations" => Box::pin(registry::organizations(p, j)),
        "resource" => Box::pin(registry::resource(p, j)),
        "registration" => Box::pin(registry::registration(p, j)),
        "registration_coded" => Box::pin(registry::registration_coded(p, j)),
        "implementation_plan" => Box::pin(registry::implementation_plan(p, j)),
        "operator_agreement" => Box::pin(registry::operator_agreement(p, j)),
        "scenario" => Box::pin(review::scenario(p, j)),
        "data_use" => Box::pin(review::data_use(p, j)),
        "product" => Box::pin(registry::product(p, j)),
        "compliance_review" => Box::pin(review::compliance_review(p, j)),
        "listed" => Box::pin(registry::listed(p, j)),
        "pricing_case" => Box::pin(pricing::pricing_case(p, j)),
        "cost_survey" => Box::pin(pricing::cost_survey(p, j)),
        "calculation" => Box::pin(pricing::calculation(p, j)),
        "max_allowed_revenue" => Box::pin(pricing::max_allowed_revenue(p, j)),
        "cap_and_specific_prices" => Box::pin(pricing::cap_and_specific_prices(p, j)),
        "annual_check" => Box::pin(pricing::annual_check(p, j)),
        "evaluation" => Box::pin(evaluation::evaluation(p, j)),
        "rectification" => Box::pin(evaluation::rectification(p, j)),
        "disclosure_log" => Box::pin(disclosure::disclosure_log(p, j)),
        "verified" => Box::pin(disclosure::verified(p, j)),
        "annual_report" => Box::pin(disclosure::annual_report(p, j)),
        other => anyhow::bail!("no step {other}"),
    };
    future.await
}
