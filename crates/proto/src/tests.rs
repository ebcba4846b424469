use std::collections::HashSet;

use crate::{ALL_EVENTS, Event};

#[test]
fn known_events_carry_their_contract_subject_and_type() {
    use crate::{disclosure, evaluation, registry, review};
    assert_eq!(
        registry::events::v1::RegistrationRefused::SUBJECT,
        "pdop.registry.registration.refused"
    );
    assert_eq!(
        registry::events::v1::RegistrationRefused::TYPE,
        "pdop.registry.registration.refused.v1"
    );
    assert_eq!(
        registry::events::v1::JurisdictionCreated::SUBJECT,
        "pdop.registry.jurisdiction.created"
    );
    assert_eq!(
        disclosure::events::v1::ObjectionFiled::TYPE,
        "pdop.disclosure.objection.filed.v1"
    );
    // The message name and the subject's fact differ here: the subject is the contract.
    assert_eq!(
        evaluation::events::v1::RectificationOrdered::SUBJECT,
        "pdop.evaluation.rectification_order.issued"
    );
    // Stated mid-paragraph, its type wrapping to the next comment line.
    assert_eq!(
        review::events::v1::DeveloperAdmissionNoticeStarted::TYPE,
        "pdop.review.developer_admission.notice_started.v1"
    );
}

#[test]
fn every_subject_belongs_to_its_package_service_and_is_unique() {
    let mut seen = HashSet::new();
    let mut services = HashSet::new();
    for event in ALL_EVENTS {
        let service = event.message.split('.').nth(1).unwrap();
        services.insert(service);
        assert!(
            event.subject.starts_with(&format!("pdop.{service}.")),
            "{} has subject {} outside pdop.{service}.",
            event.message,
            event.subject
        );
        assert_eq!(event.ce_type, format!("{}.v1", event.subject));
        assert!(seen.insert(event.subject), "{} is used twice", event.subject);
    }
    assert_eq!(services.len(), 5, "every service publishes events");
}

#[test]
fn helper_types_of_the_events_packages_are_not_events() {
    let messages: HashSet<&str> = ALL_EVENTS.iter().map(|e| e.message).collect();
    assert!(!messages.contains("pdop.registry.events.v1.AgreementSummary"));
    assert!(!messages.contains("pdop.evaluation.events.v1.CampaignSummary"));
    assert!(messages.contains("pdop.registry.events.v1.AgreementSigned"));
}

#[test]
fn every_subject_line_of_the_protos_became_an_event() {
    // Cross-checks the descriptor's comments against the text, so a lost comment cannot silently drop events.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/pdop");
    let mut stated = 0;
    for service in ["registry", "review", "pricing", "evaluation", "disclosure"] {
        let text = std::fs::read_to_string(root.join(service).join("events/v1/events.proto")).unwrap();
        stated += text.matches("Subject `").count();
    }
    assert_eq!(ALL_EVENTS.len(), stated);
}
