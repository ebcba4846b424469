//! Fixtures for the evaluation consequences (REVIEW-EVALUATION §3.8): a running agreement in a jurisdiction of a
//! given profile on a registry whose clock starts on a given day, and the evaluation service's events published the
//! way its relay does, stamped with the fact's time.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use pdop_proto::common::{Date, Deadline, OrganizationRef, OrganizationRole};
use pdop_proto::evaluation::events::v1::{EvaluationSummary, RectificationSummary};
use pdop_proto::evaluation::v1::{EvaluationSubjectKind, RectificationSource};
use pdop_proto::registry::v1::*;
use pdop_testkit::{Envelope, publish_envelope};

use super::agreements::*;
use super::*;

/// The data authority of the test province, besides the Yunnan bureau every world has.
pub const PROVINCE_AUTHORITY: &str = "organizations/province-authority";

/// 10:00 in China on `y-m-d`: the ce-time of a fact of that day.
pub fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 2, 0, 0).unwrap()
}

/// The day `y-m-d`.
pub fn on(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A registry whose clock starts on `day`, with the Yunnan world and, unless it is Yunnan, the province `id`
/// bound to `profile` with a data authority of its own, and a running agreement of the operator there.
pub async fn world_in(day: NaiveDate, id: &str, profile: &str) -> (Harness, Agreement) {
    let mut h = world_on(day, &[]).await;
    if id != "yunnan" {
        h.province(id, profile).await;
        let roles = [OrganizationRole::DataAuthority];
        let jurisdiction = format!("jurisdictions/{id}");
        organization(
            &mut h,
            "province-authority",
            &credit_code(30),
            &jurisdiction,
            &roles,
        )
        .await;
    }
    let agreement = running(&mut h, draft(id, months_from_today(24))).await;
    (h, agreement)
}

pub fn org(name: &str) -> Option<OrganizationRef> {
    Some(OrganizationRef {
        name: name.into(),
        ..Default::default()
    })
}

/// The event view of the evaluation `name` of the operator on `agreement`.
pub fn operator_evaluation(name: &str, agreement: &str) -> Option<EvaluationSummary> {
    Some(EvaluationSummary {
        name: name.into(),
        subject: org(OPERATOR),
        subject_kind: EvaluationSubjectKind::Operator as i32,
        agreement: agreement.into(),
        year: 2025,
        evaluating_organization: org(PROVINCE_AUTHORITY),
        ..Default::default()
    })
}

/// The event view of the order `name` of `source` on `agreement`, due `due`.
pub fn order(
    name: &str,
    source: RectificationSource,
    agreement: &str,
    due: NaiveDate,
) -> Option<RectificationSummary> {
    let due = to_date(due);
    Some(RectificationSummary {
        name: name.into(),
        source: source as i32,
        evaluation: if source == RectificationSource::Evaluation {
            "evaluations/e-rect".into()
        } else {
            String::new()
        },
        subject: org(OPERATOR),
        agreement: agreement.into(),
        issuing_organization: org(PROVINCE_AUTHORITY),
        deadline: Some(Deadline {
            due_date: due,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Publishes an evaluation-service event as its relay would, as event `id`, stamped `time`, and waits until the
/// registry has taken it (applied, or found nothing to do).
pub async fn publish(h: &Harness, subject: &str, id: &str, time: DateTime<Utc>, payload: Vec<u8>) {
    publish_with_msg_id(h, subject, id, id, time, payload).await;
}

/// As [`publish`] with another JetStream de-duplication id: a redelivery JetStream cannot drop.
pub async fn publish_with_msg_id(
    h: &Harness,
    subject: &str,
    id: &str,
    msg_id: &str,
    time: DateTime<Utc>,
    payload: Vec<u8>,
) {
    let envelope = Envelope {
        subject,
        ce_id: id,
        msg_id,
        ce_subject: id,
        time,
    };
    publish_envelope(&h.nats_url, &h.env.namespace, &envelope, payload)
        .await
        .unwrap();
    let sql = format!("SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = '{id}')");
    pdop_testkit::until_holds(&h.db.pool, &format!("{id} is consumed"), &sql)
        .await
        .unwrap();
}

/// The EVALUATION_FOLLOW_UP obligations on `subject`, as the data authority lists them.
pub async fn follow_ups(h: &mut Harness, subject: &str) -> Vec<ObligationDeadline> {
    deadlines_of(h, subject, ObligationKind::EvaluationFollowUp).await
}

/// The one open (or overdue) follow-up on `subject`.
pub async fn open_follow_up(h: &mut Harness, subject: &str) -> ObligationDeadline {
    let open: Vec<_> = follow_ups(h, subject)
        .await
        .into_iter()
        .filter(|d| [DeadlineState::Open as i32, DeadlineState::Overdue as i32].contains(&d.state))
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    open.into_iter().next().unwrap()
}

pub fn due_of(d: &ObligationDeadline) -> NaiveDate {
    let due: Option<Date> = d.deadline.as_ref().and_then(|d| d.due_date);
    super::ymd(&due)
}

pub async fn wait_for_state(h: &mut Harness, name: &str, state: AgreementState) -> Agreement {
    let client = h.client.clone();
    pdop_testkit::wait_until(&format!("{name} is {state:?}"), Duration::from_secs(20), || {
        let mut client = client.clone();
        async move {
            let request = authority(GetAgreementRequest { name: name.into() });
            let a = client.get_agreement(request).await.unwrap().into_inner();
            a.agreement.unwrap().state == state as i32
        }
    })
    .await
    .unwrap();
    get(h, name).await
}

/// The reasons of the AgreementSuspended events announced so far, oldest first.
pub async fn suspension_reasons(h: &Harness) -> Vec<String> {
    use prost::Message;
    h.events("pdop.registry.agreement.suspended")
        .await
        .iter()
        .map(|p| {
            pdop_proto::registry::events::v1::AgreementSuspended::decode(p.as_slice())
                .unwrap()
                .reason
        })
        .collect()
}

pub async fn resume(h: &mut Harness, name: &str) -> Result<Agreement, tonic::Status> {
    let request = ResumeAgreementRequest {
        name: name.into(),
        reason: "整改到位，恢复授权运营".into(),
        etag: String::new(),
    };
    Ok(h.client
        .resume_agreement(agency(request))
        .await?
        .into_inner()
        .agreement
        .unwrap())
}

pub async fn suspend(h: &mut Harness, name: &str) -> Result<Agreement, tonic::Status> {
    let request = SuspendAgreementRequest {
        name: name.into(),
        reason: "监督检查发现违规".into(),
        ..Default::default()
    };
    Ok(h.client
        .suspend_agreement(agency(request))
        .await?
        .into_inner()
        .agreement
        .unwrap())
}
