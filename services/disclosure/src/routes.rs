//! Which public facts of the other services become entries (EntryKind, DOMAIN §7), with the payload type, the
//! title and where the discloser (披露主体) is found in the payload. Facts not listed here are not public.

use pdop_proto::disclosure::v1::EntryKind;
use prost_reflect::DynamicMessage;

pub struct Route {
    pub subject: &'static str,
    /// Full protobuf name of the payload.
    pub message: &'static str,
    pub kind: EntryKind,
    pub title: &'static str,
    /// Field names holding the discloser, in order of preference (searched through nested messages).
    pub discloser: &'static [&'static str],
    /// Whether a fact of the subject is public; `None`: every fact is.
    pub publish_if: Option<fn(&DynamicMessage) -> bool>,
    /// The only payload fields published, as paths of proto field names (`evaluation.subject`); `None`: every
    /// field but the private ones (render.rs).
    pub fields: Option<&'static [&'static str]>,
}

impl Route {
    /// Whether this fact becomes an entry.
    pub fn applies(&self, payload: &DynamicMessage) -> bool {
        self.publish_if.is_none_or(|publish| publish(payload))
    }

    /// This route, public only for facts `publish` accepts.
    const fn publish_if(self, publish: fn(&DynamicMessage) -> bool) -> Self {
        Self {
            publish_if: Some(publish),
            ..self
        }
    }

    /// This route, publishing only the payload fields at `paths`.
    const fn only_fields(self, paths: &'static [&'static str]) -> Self {
        Self {
            fields: Some(paths),
            ..self
        }
    }
}

/// Whether the top-level string field `field` of `payload` is non-empty.
fn is_set(payload: &DynamicMessage, field: &str) -> bool {
    payload
        .get_field_by_name(field)
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
}

const fn route(
    subject: &'static str,
    message: &'static str,
    kind: EntryKind,
    title: &'static str,
    discloser: &'static [&'static str],
) -> Route {
    Route {
        subject,
        message,
        kind,
        title,
        discloser,
        publish_if: None,
        fields: None,
    }
}

use EntryKind as K;

const AGENCY: &[&str] = &["implementing_agency", "authorizing_entity"];
const OPERATOR: &[&str] = &["operator"];

pub const ROUTES: &[Route] = &[
    route(
        "pdop.registry.registration.notice_started",
        "pdop.registry.events.v1.RegistrationNoticeStarted",
        K::RegistrationNotice,
        "登记公示",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.coded",
        "pdop.registry.events.v1.RegistrationCoded",
        K::RegistrationResult,
        "登记结果",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.terminated",
        "pdop.registry.events.v1.RegistrationTerminated",
        K::RegistrationResult,
        "登记终止",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.renewed",
        "pdop.registry.events.v1.RegistrationRenewed",
        K::RegistrationChange,
        "登记续期",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.cancelled",
        "pdop.registry.events.v1.RegistrationCancelled",
        K::RegistrationChange,
        "登记注销",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.revoked",
        "pdop.registry.events.v1.RegistrationRevoked",
        K::RegistrationChange,
        "登记撤销",
        &["registrant"],
    ),
    route(
        "pdop.registry.registration.objection_resolved",
        "pdop.registry.events.v1.RegistrationObjectionResolved",
        K::ObjectionOutcome,
        "登记异议处理结果",
        &[],
    ),
    route(
        "pdop.registry.implementation_plan.filed",
        "pdop.registry.events.v1.ImplementationPlanFiled",
        K::ImplementationPlan,
        "实施方案备案",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.signed",
        "pdop.registry.events.v1.AgreementSigned",
        K::AgreementSigned,
        "授权运营协议签订",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.renewed",
        "pdop.registry.events.v1.AgreementRenewed",
        K::AgreementChanged,
        "授权运营协议续期",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.suspended",
        "pdop.registry.events.v1.AgreementSuspended",
        K::AgreementChanged,
        "授权运营暂停",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.resumed",
        "pdop.registry.events.v1.AgreementResumed",
        K::AgreementChanged,
        "授权运营恢复",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.terminated",
        "pdop.registry.events.v1.AgreementTerminated",
        K::AgreementEnded,
        "授权运营终止",
        AGENCY,
    ),
    route(
        "pdop.registry.agreement.expired",
        "pdop.registry.events.v1.AgreementExpired",
        K::AgreementEnded,
        "授权运营到期",
        AGENCY,
    ),
    route(
        "pdop.registry.product.listed",
        "pdop.registry.events.v1.ProductListed",
        K::ProductListed,
        "产品和服务上架",
        OPERATOR,
    ),
    route(
        "pdop.registry.product.withdrawn",
        "pdop.registry.events.v1.ProductWithdrawn",
        K::ProductWithdrawn,
        "产品和服务下架",
        OPERATOR,
    ),
    route(
        "pdop.registry.blacklist_entry.added",
        "pdop.registry.events.v1.BlacklistEntryAdded",
        K::BlacklistMeasure,
        "信用约束措施",
        &["imposed_by"],
    ),
    route(
        "pdop.registry.blacklist_entry.lifted",
        "pdop.registry.events.v1.BlacklistEntryLifted",
        K::BlacklistLifted,
        "信用约束解除",
        &[],
    ),
    route(
        "pdop.registry.organization.incident_recorded",
        "pdop.registry.events.v1.SecurityIncidentRecorded",
        K::SecurityIncident,
        "安全事件",
        &["organization"],
    ),
    route(
        "pdop.pricing.cap_price.published",
        "pdop.pricing.events.v1.CapPricePublished",
        K::CapPrice,
        "上限收费标准",
        &["authorizing_entity"],
    ),
    route(
        "pdop.pricing.specific_price.published",
        "pdop.pricing.events.v1.SpecificPricePublished",
        K::SpecificPrice,
        "具体收费标准",
        OPERATOR,
    ),
    // An ended cap or price (product withdrawn, period over) is disclosed as its own entry of the same kind, so
    // the public sees that the published standard no longer applies.
    route(
        "pdop.pricing.cap_price.ended",
        "pdop.pricing.events.v1.CapPriceEnded",
        K::CapPrice,
        "上限收费标准终止",
        &["authorizing_entity"],
    ),
    route(
        "pdop.pricing.specific_price.ended",
        "pdop.pricing.events.v1.SpecificPriceEnded",
        K::SpecificPrice,
        "具体收费标准终止",
        OPERATOR,
    ),
    route(
        "pdop.review.developer_admission.notice_started",
        "pdop.review.events.v1.DeveloperAdmissionNoticeStarted",
        K::DeveloperNotice,
        "开发主体公示",
        OPERATOR,
    ),
    route(
        "pdop.review.developer_admission.admitted",
        "pdop.review.events.v1.DeveloperAdmitted",
        K::DeveloperResult,
        "开发主体准入",
        OPERATOR,
    ),
    // Only a rejection after a public-notice objection is published; a qualification-review rejection has no public
    // entry (REVIEW-EVALUATION §2.7, §3.11; DEVELOPER_RESULT: "admitted or rejected after objection").
    route(
        "pdop.review.developer_admission.rejected",
        "pdop.review.events.v1.DeveloperAdmissionRejected",
        K::DeveloperResult,
        "开发主体未准入",
        OPERATOR,
    )
    .publish_if(|event| is_set(event, "objection")),
    route(
        "pdop.review.developer_admission.objection_resolved",
        "pdop.review.events.v1.DeveloperAdmissionObjectionResolved",
        K::ObjectionOutcome,
        "开发主体异议处理结果",
        &[],
    ),
    route(
        "pdop.evaluation.evaluation.completed",
        "pdop.evaluation.events.v1.EvaluationCompleted",
        K::EvaluationResult,
        "评价结果",
        &["evaluating_organization"],
    )
    // R-EV-08: subject, year, grade and the rectification outcome only; never the score, veto, override,
    // consequences, opinion, order, campaign, agreement or period (REVIEW-EVALUATION §3.11).
    .only_fields(&[
        "evaluation.subject",
        "evaluation.year",
        "grade",
        "rectification_pending",
        "re_evaluation",
    ]),
];

pub fn find(subject: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.subject == subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_names_a_known_payload_once() {
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r.subject), "{} twice", r.subject);
            assert!(
                crate::leaf::pool().get_message_by_name(r.message).is_some(),
                "{} is not a known message",
                r.message
            );
        }
    }

    // An allowlisted path that names no field would silently publish nothing of it.
    #[test]
    fn every_allowlisted_path_names_a_field_of_the_payload() {
        for r in ROUTES {
            for path in r.fields.unwrap_or_default() {
                let mut message = crate::leaf::pool().get_message_by_name(r.message);
                let mut last = None;
                for name in path.split('.') {
                    last = message.as_ref().and_then(|m| m.get_field_by_name(name));
                    message = last.as_ref().and_then(|f| f.kind().as_message().cloned());
                }
                assert!(
                    last.is_some(),
                    "{}: {path} is not a field of {}",
                    r.subject,
                    r.message
                );
            }
        }
    }
}
