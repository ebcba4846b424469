//! Data-quality checks (数据校核, spec §2.5) over gRPC against PostgreSQL and NATS: who raises and who answers
//! per profile, the response deadlines D19 (Henan 7 WD) and D19' (Yunnan 10 WD) across holidays and into the
//! provisional 2027 calendar, late answers, and the missed-deadline announcement.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::{Harness, org_ref, start_on};
use pdop_kit::auth::Role;
use pdop_proto::common::{JurisdictionRef, OrganizationRole};
use pdop_proto::registry::events::v1::DeveloperAgreementSigned;
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    DataQualityCheck, DataQualityCheckOutcome as Outcome, DataQualityCheckResponse,
    DataQualityCheckState as State, DataQualityIssueKind,
};
use pdop_testkit::{acting, assert_invalid, reason};
use prost::Message;
use tonic::Code;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn check(resource: &str) -> DataQualityCheck {
    DataQualityCheck {
        resource: resource.into(),
        issue_kind: DataQualityIssueKind::Accuracy as i32,
        description: "统一社会信用代码与登记信息不一致".into(),
        record_locator: "row 42".into(),
        ..Default::default()
    }
}

async fn raise(
    h: &mut Harness,
    request: tonic::Request<pb::CreateDataQualityCheckRequest>,
) -> Result<DataQualityCheck, tonic::Status> {
    Ok(h.client
        .create_data_quality_check(request)
        .await?
        .into_inner()
        .data_quality_check
        .unwrap())
}

fn raising(c: DataQualityCheck) -> pb::CreateDataQualityCheckRequest {
    pb::CreateDataQualityCheckRequest {
        data_quality_check: Some(c),
        request_id: String::new(),
    }
}

fn corrected(name: &str) -> pb::RespondDataQualityCheckRequest {
    pb::RespondDataQualityCheckRequest {
        name: name.into(),
        response: Some(DataQualityCheckResponse {
            outcome: Outcome::Corrected as i32,
            explanation: "已核实并更正".into(),
            corrected_revision: "rev-2".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn due(c: &DataQualityCheck) -> (NaiveDate, bool, String) {
    let d = c.response_deadline.as_ref().expect("a deadline");
    let date = d.due_date.as_ref().unwrap();
    (
        day(date.year, date.month as u32, date.day as u32),
        d.provisional,
        d.source.as_ref().unwrap().rule_id.clone(),
    )
}

#[tokio::test]
async fn yunnan_providers_answer_within_ten_working_days_across_national_day() {
    // D19', S-YN Art.17 (自收到数据校核申请之日起10个工作日内): received Wed 2026-09-30; 10-01..07 are holidays and
    // Sat 10-10 is a make-up working day, so the tenth working day is Tue 10-20.
    let mut h = start_on(day(2026, 9, 30)).await;
    let w = h.world("yunnan").await;
    let c = raise(&mut h, w.as_operator(raising(check(&w.r1()))))
        .await
        .unwrap();
    assert_eq!(c.state, State::Raised as i32);
    assert_eq!(
        c.responsible_provider,
        w.dp(),
        "the resource's provider answers (S-YN Art.17)"
    );
    assert_eq!(due(&c), (day(2026, 10, 20), false, "D19'".to_owned()));
    assert_eq!(
        h.events("pdop.review.data_quality_check.raised", &c.name).await,
        1
    );

    // Bad answers name their field; only the responsible party answers.
    let mut bad = corrected(&c.name);
    bad.response.as_mut().unwrap().corrected_revision.clear();
    let err = h
        .client
        .respond_data_quality_check(w.as_dp(bad))
        .await
        .unwrap_err();
    assert_invalid(&err, &["response.corrected_revision"]);
    let err = h
        .client
        .respond_data_quality_check(w.as_dp2(corrected(&c.name)))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_RESPONSIBLE")
    );

    h.advance_days(9); // Fri 10-09: the second working day after receipt
    let answered = h
        .client
        .respond_data_quality_check(w.as_dp(corrected(&c.name)))
        .await
        .unwrap()
        .into_inner();
    let answered = answered.data_quality_check.unwrap();
    assert_eq!(answered.state, State::Responded as i32);
    assert!(!answered.response.as_ref().unwrap().late);
    let event = sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT payload FROM outbox WHERE subject = 'pdop.review.data_quality_check.responded' AND ce_subject = $1",
    )
    .bind(&c.name)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    let event = pdop_proto::review::events::v1::DataQualityCheckResponded::decode(event.as_slice()).unwrap();
    assert_eq!((event.working_days_taken, event.late), (2, false));

    let close = |accept: bool, comment: &str| pb::CloseDataQualityCheckRequest {
        name: c.name.clone(),
        accept_response: accept,
        comment: comment.into(),
        ..Default::default()
    };
    let err = h
        .client
        .close_data_quality_check(w.as_operator(close(false, "")))
        .await
        .unwrap_err();
    assert_invalid(&err, &["comment"]);
    let closed = h
        .client
        .close_data_quality_check(w.as_operator(close(true, "")))
        .await
        .unwrap()
        .into_inner();
    let closed = closed.data_quality_check.unwrap();
    assert_eq!(
        (closed.state, closed.response_accepted),
        (State::Closed as i32, true)
    );
    assert_eq!(
        h.events("pdop.review.data_quality_check.closed", &c.name).await,
        1
    );
}

#[tokio::test]
async fn henan_agencies_answer_within_seven_working_days_and_a_missed_deadline_is_announced_once() {
    // D19, S-HN Art.16 (相关单位应当在 7 个工作日内反馈校核结果); Art.3 makes 数据校核 the 实施机构's task.
    // Received Fri 2026-02-13: Sat 02-14 is a make-up working day, 02-15..23 the Spring Festival, Sat 02-28 works:
    // 02-14, 24, 25, 26, 27, 28, 03-02 → due Mon 2026-03-02.
    let mut h = start_on(day(2026, 2, 13)).await;
    let w = h.world("henan").await;
    let c = raise(&mut h, w.as_operator(raising(check(&w.r1()))))
        .await
        .unwrap();
    assert_eq!(
        c.responsible_provider,
        w.ia(),
        "the implementing agency of the covering agreement answers"
    );
    assert_eq!(due(&c), (day(2026, 3, 2), false, "D19".to_owned()));
    let err = h
        .client
        .respond_data_quality_check(w.as_dp(corrected(&c.name)))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOT_RESPONSIBLE");

    // R-RV-07: nothing on the due date itself; once on the day after (dated that day); never again.
    h.advance_days(17); // 03-02
    h.advance_days(1); // 03-03
    h.until(
        "the missed deadline is announced",
        &format!("SELECT count(*) = 1 FROM outbox WHERE subject = 'pdop.review.deadline.missed' AND ce_subject = '{}'", c.name),
    )
    .await;
    h.advance_days(1);
    h.until(
        "the next sweep has run",
        &format!(
            "SELECT missed_at IS NOT NULL FROM review_deadlines WHERE subject = '{}'",
            c.name
        ),
    )
    .await;
    assert_eq!(h.events("pdop.review.deadline.missed", &c.name).await, 1);
    let announced: NaiveDate = sqlx::query_scalar(
        "SELECT (missed_at AT TIME ZONE 'Asia/Shanghai')::date FROM review_deadlines WHERE subject = $1",
    )
    .bind(&c.name)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(
        announced,
        day(2026, 3, 3),
        "announced on the day after the due date, not on it"
    );

    // The overdue filter lists it for the agency; a late answer is accepted and marked.
    let req = pb::ListDataQualityChecksRequest {
        overdue: true,
        ..Default::default()
    };
    let listed = h
        .client
        .list_data_quality_checks(w.as_ia(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.data_quality_checks.len(), 1);
    let answered = h
        .client
        .respond_data_quality_check(w.as_ia(corrected(&c.name)))
        .await
        .unwrap()
        .into_inner();
    assert!(answered.data_quality_check.unwrap().response.unwrap().late);
    let req = pb::ListDataQualityChecksRequest {
        overdue: true,
        ..Default::default()
    };
    assert!(
        h.client
            .list_data_quality_checks(w.as_ia(req))
            .await
            .unwrap()
            .into_inner()
            .data_quality_checks
            .is_empty()
    );
}

#[tokio::test]
async fn hubei_developers_raise_checks_under_an_active_developer_agreement_without_a_deadline() {
    // S-HB §四(七)1 (运营机构、产品开发商…可…提出数据治理校核需求，数据提供单位应及时校核、更正): no period.
    let mut h = start_on(day(2026, 6, 1)).await;
    let w = h.world("hubei").await;
    let dev = w.dev();
    let err = raise(&mut h, acting(&dev, &[Role::Developer], raising(check(&w.r1()))))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "NO_COVERING_AGREEMENT")
    );

    let signed = DeveloperAgreementSigned {
        name: "developerAgreements/hubei-d1".into(),
        jurisdiction: Some(JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        operator: Some(org_ref(&w.op(), OrganizationRole::Operator)),
        developer: Some(org_ref(&w.dev(), OrganizationRole::Developer)),
        agreement: w.agreement(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.developer_agreement.signed",
        "da-hubei-d1",
        signed.encode_to_vec(),
    )
    .await;
    h.until(
        "the developer agreement is known",
        "SELECT EXISTS (SELECT 1 FROM developer_agreements WHERE active)",
    )
    .await;
    let c = raise(&mut h, acting(&dev, &[Role::Developer], raising(check(&w.r1()))))
        .await
        .unwrap();
    assert_eq!(c.responsible_provider, w.dp());
    assert!(c.response_deadline.is_none(), "Hubei sets no period (及时)");
    // The requester withdraws; nothing is ever announced as missed.
    let req = pb::WithdrawDataQualityCheckRequest {
        name: c.name.clone(),
        reason: "已自行核实".into(),
        ..Default::default()
    };
    let err = h
        .client
        .withdraw_data_quality_check(w.as_operator(req.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "only the requester withdraws");
    let done = h
        .client
        .withdraw_data_quality_check(acting(&dev, &[Role::Developer], req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.data_quality_check.unwrap().state, State::Withdrawn as i32);
}

#[tokio::test]
async fn zhengzhou_checks_are_raised_by_operators_and_answered_by_the_city_data_authority() {
    // S-ZZ Art.16 (对运营主体反馈的异议数据进行确认、修正).
    let mut h = start_on(day(2026, 6, 1)).await;
    let w = h.world("zhengzhou").await;
    let err = raise(
        &mut h,
        acting(&w.dev(), &[Role::Developer], raising(check(&w.r1()))),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::PermissionDenied, "NOT_A_REQUESTER")
    );
    assert!(err.message().contains("zhengzhou"), "{}", err.message());
    let c = raise(&mut h, w.as_operator(raising(check(&w.r1()))))
        .await
        .unwrap();
    assert_eq!(c.responsible_provider, w.da());
    // A resource outside every agreement of the operator is refused.
    let err = raise(&mut h, w.as_operator(raising(check(&w.outside()))))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NO_COVERING_AGREEMENT");
    // Bad input names each field.
    let mut bad = check("nope");
    bad.issue_kind = 0;
    bad.description.clear();
    let err = raise(&mut h, w.as_operator(raising(bad))).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "data_quality_check.resource",
            "data_quality_check.issue_kind",
            "data_quality_check.description",
        ],
    );
}

#[tokio::test]
async fn a_due_date_past_the_loaded_calendar_is_provisional() {
    // §0: dates past the loaded calendar (2027) are counted on weekdays only and marked provisional.
    // Received Thu 2026-12-24: 12-25, 28, 29, 30, 31, then 2027-01-01 (a weekday), 04, 05, 06, 07.
    let mut h = start_on(day(2026, 12, 24)).await;
    let w = h.world("yunnan").await;
    let c = raise(&mut h, w.as_operator(raising(check(&w.r1()))))
        .await
        .unwrap();
    assert_eq!(due(&c), (day(2027, 1, 7), true, "D19'".to_owned()));
}
