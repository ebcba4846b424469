//! A lead's decision on any reviewable resource (审核决定): its words as parsed, and the record kept in the
//! resource's history (R-RV-04: rejection and revocation carry reasons and basis).

use pdop_kit::convert::audit_info;
use pdop_kit::uow::Call;
use pdop_proto::review::v1::{ReviewDecision, ReviewOutcome};

/// The words of a decision, parsed by the handler.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub reasons: String,
    pub basis: String,
    pub conditions: Vec<String>,
    pub document: Option<pdop_proto::common::DocumentRef>,
    pub late_explanation: String,
}

impl Decision {
    /// The decision as kept, closing `round`; `materials_revision` is what a product review decided on (M-3).
    pub fn record(
        self,
        call: &Call,
        outcome: ReviewOutcome,
        round: i32,
        materials_revision: i32,
    ) -> ReviewDecision {
        ReviewDecision {
            outcome: outcome as i32,
            reasons: self.reasons,
            basis: self.basis,
            conditions: self.conditions,
            decision_document: self.document,
            late: false,
            late_explanation: self.late_explanation,
            review_round: round,
            decided: Some(audit_info(&call.caller, call.now)),
            materials_revision,
        }
    }
}

/// R-RV-05: a return for supplement whose due date passed without a resubmission lets the lead reject (S-YN
/// Art.13(二) "在规定时限内完成补充或修正"; elsewhere by analogy, inferred).
pub fn lapsed(request: Option<&pdop_proto::review::v1::SupplementRequest>, today: chrono::NaiveDate) -> bool {
    request
        .and_then(|r| r.due_date.as_ref())
        .and_then(pdop_kit::convert::naive_date)
        .is_some_and(|due| today > due)
}
