//! Public notices and objections over gRPC: a registration notice entry opens a notice for the period the
//! registry computed; real-name objections with evidence are taken only while it is open and go to the registry;
//! an upheld objection retracts the notice entry by a correction, never by an edit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::NaiveDate;
use common::*;
use pdop_kit::auth::Role;
use pdop_kit::convert::{date, today};
use pdop_proto::common::{DateRange, DocumentRef, PartyKind, RealNameParty};
use pdop_proto::disclosure::v1::*;
use pdop_proto::registry::events::v1::{
    RegistrationNoticeStarted, RegistrationObjectionResolved, RegistrationSummary,
};
use pdop_proto::registry::v1::ObjectionDecisionState;
use pdop_testkit::{acting, acting_in, assert_invalid, reason};
use prost::Message;
use tonic::Code;

const IDENTITY: &str = "530102199001011231";

fn notice_started(registration: &str, from: NaiveDate, to: NaiveDate) -> Vec<u8> {
    RegistrationNoticeStarted {
        registration: Some(RegistrationSummary {
            name: registration.into(),
            registrant: org("organizations/stats", "云南省统计局"),
            jurisdiction: yunnan(),
            title: "人口统计数据首次登记".into(),
            content_summary: "全省常住人口统计数据".into(),
            ..Default::default()
        }),
        notice_period: Some(DateRange {
            start_date: Some(date(from)),
            end_date: Some(date(to)),
        }),
        period_working_days: 10,
        ..Default::default()
    }
    .encode_to_vec()
}

/// Publishes a registration notice and returns its notice.
async fn notice(h: &mut Harness, registration: &str, from: NaiveDate, to: NaiveDate) -> Notice {
    let id = format!("n-{registration}");
    h.publish(
        "pdop.registry.registration.notice_started",
        &id,
        &id,
        registration,
        notice_started(registration, from, to),
    )
    .await;
    h.until(
        "the notice is open",
        &format!("SELECT EXISTS (SELECT 1 FROM notices WHERE subject = '{registration}')"),
    )
    .await;
    let list = ListNoticesRequest {
        subject: registration.into(),
        ..Default::default()
    };
    h.client
        .list_notices(list)
        .await
        .unwrap()
        .into_inner()
        .notices
        .remove(0)
}

fn objection(notice: &str) -> Objection {
    Objection {
        notice: notice.into(),
        objector: Some(RealNameParty {
            party_kind: PartyKind::Person as i32,
            display_name: "张三".into(),
            identity_number: IDENTITY.into(),
            contact: "13800000000".into(),
            ..Default::default()
        }),
        grounds: "该数据包含未经脱敏的个人信息，不应登记为可授权运营的数据资源。".into(),
        evidence: vec![DocumentRef {
            uri: "https://docs.example/evidence.pdf".into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn file(o: Objection, request_id: &str) -> CreateObjectionRequest {
    CreateObjectionRequest {
        objection: Some(o),
        request_id: request_id.into(),
    }
}

#[tokio::test]
async fn objections_are_real_name_with_evidence_and_only_while_the_notice_is_open() {
    let mut h = start().await;
    let day = today();
    let open = notice(&mut h, "registrations/r1", day, day + chrono::Days::new(14)).await;
    assert_eq!(open.state, NoticeState::Open as i32);
    assert_eq!(open.kind, NoticeKind::Registration as i32);
    assert_eq!(open.deciding_service, "registry");
    assert_eq!(open.entry, "entries/0");

    // N3 Art.12: 实名并提供证明材料.
    let mut bare = objection(&open.name);
    bare.evidence.clear();
    bare.grounds = "不对".into();
    bare.objector.as_mut().unwrap().identity_number.clear();
    let err = h.client.create_objection(file(bare, "")).await.unwrap_err();
    assert_invalid(
        &err,
        &[
            "objection.objector.identity_number",
            "objection.grounds",
            "objection.evidence",
        ],
    );

    // No token is needed to object; the receipt code reads it back.
    let filed = h
        .client
        .create_objection(file(
            objection(&open.name),
            "00000000-0000-4000-8000-000000000001",
        ))
        .await
        .unwrap()
        .into_inner();
    let o = filed.objection.clone().unwrap();
    assert_eq!(o.state, ObjectionState::Pending as i32);
    assert_eq!(o.subject, "registrations/r1");
    let again = h
        .client
        .create_objection(file(
            objection(&open.name),
            "00000000-0000-4000-8000-000000000001",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (again.objection.unwrap().name, again.access_code.clone()),
        (o.name.clone(), filed.access_code.clone())
    );
    let read = |code: &str| GetObjectionRequest {
        name: o.name.clone(),
        access_code: code.into(),
    };
    assert!(h.client.get_objection(read(&filed.access_code)).await.is_ok());
    assert_eq!(
        h.client.get_objection(read("wrong")).await.unwrap_err().code(),
        Code::NotFound
    );
    let stranger = acting("organizations/someone", &[Role::Operator], read(""));
    assert_eq!(
        h.client.get_objection(stranger).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let authority = acting("organizations/yn-data", &[Role::DataAuthority], read(""));
    let seen = h.client.get_objection(authority).await.unwrap().into_inner();
    assert_eq!(
        seen.objection.unwrap().objector.unwrap().identity_number,
        IDENTITY
    );

    // Forwarded to the registry with the identity; the public log never holds it.
    assert_eq!(forwarded(&h).await, 1);
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM entries WHERE position($1 in convert_from(leaf_input, 'UTF8')) > 0",
    )
    .bind(IDENTITY)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    assert_eq!(objection_count(&mut h, &open.name).await, 1);

    // A notice whose period ended yesterday, and one that starts tomorrow, take no objections.
    let yesterday = day.pred_opt().unwrap();
    let closed = notice(
        &mut h,
        "registrations/r2",
        yesterday - chrono::Days::new(14),
        yesterday,
    )
    .await;
    assert_eq!(closed.state, NoticeState::Closed as i32);
    assert!(closed.close_time.is_some());
    let err = h
        .client
        .create_objection(file(objection(&closed.name), ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOTICE_NOT_OPEN");
    let tomorrow = day.succ_opt().unwrap();
    let scheduled = notice(
        &mut h,
        "registrations/r3",
        tomorrow,
        tomorrow + chrono::Days::new(14),
    )
    .await;
    assert_eq!(scheduled.state, NoticeState::Scheduled as i32);
    let err = h
        .client
        .create_objection(file(objection(&scheduled.name), ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOTICE_NOT_OPEN");
    let open_only = h
        .client
        .list_notices(ListNoticesRequest {
            state: NoticeState::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .notices;
    assert_eq!(open_only.len(), 1);
}

#[tokio::test]
async fn an_upheld_objection_retracts_the_notice_entry_by_a_correction() {
    let mut h = start().await;
    let day = today();
    let open = notice(&mut h, "registrations/r1", day, day + chrono::Days::new(14)).await;
    let o = h
        .client
        .create_objection(file(objection(&open.name), ""))
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    let resolved = RegistrationObjectionResolved {
        registration: "registrations/r1".into(),
        objection: o.name.clone(),
        outcome: ObjectionDecisionState::Upheld as i32,
        reason: "经核查，数据含未脱敏个人信息".into(),
        jurisdiction: yunnan(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.registration.objection_resolved",
        "res-1",
        "res-1",
        "registrations/r1",
        resolved.encode_to_vec(),
    )
    .await;
    h.until(
        "the decision is recorded",
        "SELECT EXISTS (SELECT 1 FROM objections WHERE state = 2)",
    )
    .await;
    let decided = h
        .client
        .get_objection(acting(
            "organizations/yn-data",
            &[Role::DataAuthority],
            GetObjectionRequest {
                name: o.name.clone(),
                access_code: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .objection
        .unwrap();
    assert_eq!(decided.state, ObjectionState::Upheld as i32);
    assert_eq!(decided.outcome_entry, "entries/1");
    assert_eq!(decided.retraction_entry, "entries/2");
    let notice_entry = h
        .client
        .get_entry(GetEntryRequest {
            name: "entries/0".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert!(notice_entry.retracted);
    assert_eq!(notice_entry.corrected_by, ["entries/2"]);
    let correction = h
        .client
        .get_entry(GetEntryRequest {
            name: "entries/2".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    let c = correction.correction.unwrap();
    assert_eq!(
        (c.corrects.as_str(), c.kind),
        ("entries/0", CorrectionKind::Retraction as i32)
    );
    assert_eq!(c.objection, o.name);
    let visible = h
        .client
        .list_entries(ListEntriesRequest {
            exclude_retracted: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(visible.iter().map(|e| e.sequence).collect::<Vec<_>>(), [1, 2]);
}

#[tokio::test]
async fn the_discloser_corrects_its_entry_by_appending_never_by_editing() {
    let mut h = start().await;
    agreements(&h, 0..1).await;
    h.signed(1).await;
    let original_leaf: Vec<u8> = sqlx::query_scalar("SELECT leaf_input FROM entries WHERE sequence = 0")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let amend = || CreateCorrectionRequest {
        entry: "entries/0".into(),
        kind: CorrectionKind::Amendment as i32,
        reason: "协议名称有误".into(),
        title: "授权运营协议签订：授权运营协议（更正）".into(),
        body: Some(EntryBody {
            text: "更正后的协议名称".into(),
            ..Default::default()
        }),
        corrected_fields: vec!["display_name".into()],
        request_id: String::new(),
    };
    let stranger = acting("organizations/other", &[Role::Operator], amend());
    let err = h.client.create_correction(stranger).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let mut no_fields = amend();
    no_fields.corrected_fields.clear();
    let err = h
        .client
        .create_correction(acting(
            "organizations/agency",
            &[Role::ImplementingAgency],
            no_fields,
        ))
        .await
        .unwrap_err();
    assert_invalid(&err, &["corrected_fields"]);
    let done = h
        .client
        .create_correction(acting(
            "organizations/agency",
            &[Role::ImplementingAgency],
            amend(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.correction_entry.unwrap().name, "entries/1");
    assert_eq!(done.original.unwrap().corrected_by, ["entries/1"]);
    let retract = CreateCorrectionRequest {
        kind: CorrectionKind::Retraction as i32,
        reason: "协议未生效".into(),
        ..amend()
    };
    h.client
        .create_correction(acting(
            "organizations/agency",
            &[Role::ImplementingAgency],
            retract.clone(),
        ))
        .await
        .unwrap();
    let err = h
        .client
        .create_correction(acting(
            "organizations/agency",
            &[Role::ImplementingAgency],
            retract,
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ENTRY_RETRACTED");
    // The original's leaf is as it was published.
    let leaf_now: Vec<u8> = sqlx::query_scalar("SELECT leaf_input FROM entries WHERE sequence = 0")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    assert_eq!(leaf_now, original_leaf);
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'disclosure.CreateCorrection'")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn a_data_authority_corrects_entries_of_its_jurisdiction_and_those_below_only() {
    // THREATS H2: supervision runs down the jurisdiction tree the registry announces, never sideways.
    use pdop_proto::registry::events::v1::JurisdictionCreated;
    let mut h = start().await;
    let yunnan_under_china = JurisdictionCreated {
        jurisdiction: yunnan(),
        parent: "jurisdictions/china".into(),
        actor: None,
    };
    h.publish(
        "pdop.registry.jurisdiction.created",
        "e-j-yunnan",
        "e-j-yunnan",
        "jurisdictions/yunnan",
        yunnan_under_china.encode_to_vec(),
    )
    .await;
    agreements(&h, 0..1).await;
    h.until(
        "the tree and the entry are in",
        "SELECT EXISTS (SELECT 1 FROM jurisdictions WHERE id = 'yunnan' AND parent_id = 'china')
            AND EXISTS (SELECT 1 FROM entries WHERE subject = 'agreements/a0')",
    )
    .await;
    let entry: i64 = sqlx::query_scalar("SELECT sequence FROM entries WHERE subject = 'agreements/a0'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap();
    let retract = || CreateCorrectionRequest {
        entry: format!("entries/{entry}"),
        kind: CorrectionKind::Retraction as i32,
        reason: "协议未生效".into(),
        request_id: String::new(),
        ..Default::default()
    };
    let da = |jurisdiction: &str| {
        acting_in(
            "organizations/da",
            &[Role::DataAuthority],
            jurisdiction,
            retract(),
        )
    };
    let sideways = h
        .client
        .create_correction(da("jurisdictions/henan"))
        .await
        .unwrap_err();
    assert_eq!(sideways.code(), Code::PermissionDenied, "{sideways:?}");
    let audited: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'disclosure.CreateCorrection'")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    assert_eq!(audited, 0, "a refused call writes nothing");
    h.client
        .create_correction(da("jurisdictions/china"))
        .await
        .expect("the national data authority supervises Yunnan");
}

#[tokio::test]
async fn a_notice_entry_names_the_notice_it_opened() {
    // entry.proto `notice`: the entry and its notice point at each other (N3 Art.12 公示).
    let mut h = start().await;
    let day = today();
    let opened = notice(&mut h, "registrations/r1", day, day + chrono::Days::new(14)).await;
    let get = |name: &str| GetEntryRequest { name: name.into() };
    let entry = h
        .client
        .get_entry(get(&opened.entry))
        .await
        .unwrap()
        .into_inner()
        .entry
        .unwrap();
    assert_eq!(entry.notice, opened.name);
    let listed = h
        .client
        .list_entries(ListEntriesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .entries;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].notice, opened.name);
    assert_eq!(
        listed[0].leaf_input, entry.leaf_input,
        "an annotation, not part of the leaf"
    );
}

// D5 / N3 Art.12: a notice is open for its period as the platform clock counts it (a demo or an end-to-end run
// moves that clock across a 10-working-day notice), never by the machine's wall clock; objections follow.
#[tokio::test]
async fn a_notice_follows_the_platform_clock() {
    let first = NaiveDate::from_ymd_opt(2030, 3, 4).unwrap();
    let last = NaiveDate::from_ymd_opt(2030, 3, 15).unwrap();
    let mut h = start_on(std::sync::Arc::new(pdop_kit::clock::ManualClock::on(first))).await;
    let opened = notice(&mut h, "registrations/r-clock", first, last).await;
    assert_eq!(opened.state, NoticeState::Open as i32, "open on its first day");

    assert!(h.running.platform.clock.advance(chrono::Duration::days(12)));
    let get = GetNoticeRequest {
        name: opened.name.clone(),
    };
    let closed = h
        .client
        .get_notice(get)
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap();
    assert_eq!(
        closed.state,
        NoticeState::Closed as i32,
        "closed the day after its last"
    );
    let err = h
        .client
        .create_objection(file(objection(&opened.name), ""))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "NOTICE_NOT_OPEN", "{err:?}");
}

/// A notice open from today for two weeks.
async fn open_notice(h: &mut Harness, registration: &str) -> Notice {
    let day = today();
    notice(h, registration, day, day + chrono::Days::new(14)).await
}

async fn stored_objections(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM objections")
        .fetch_one(&h.db.pool)
        .await
        .unwrap()
}

/// Sends `request` `n` times concurrently; the answers in the order sent.
async fn at_once(
    h: &Harness,
    n: usize,
    request: CreateObjectionRequest,
) -> Vec<Result<CreateObjectionResponse, tonic::Status>> {
    let calls: Vec<_> = (0..n)
        .map(|_| {
            let (mut client, request) = (h.client.clone(), request.clone());
            tokio::spawn(async move { client.create_objection(request).await })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.unwrap().map(tonic::Response::into_inner));
    }
    answers
}

async fn objection_count(h: &mut Harness, notice: &str) -> i32 {
    let get = GetNoticeRequest { name: notice.into() };
    let notice = h.client.get_notice(get).await.unwrap().into_inner().notice;
    notice.unwrap().objection_count
}

/// Objections forwarded to the deciding service.
async fn forwarded(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM outbox WHERE subject = 'pdop.disclosure.objection.filed'")
        .fetch_one(&h.db.pool)
        .await
        .unwrap()
}

/// `objection(notice)` by another person.
fn objection_by(notice: &str, identity_number: &str) -> Objection {
    let mut o = objection(notice);
    o.objector.as_mut().unwrap().identity_number = identity_number.into();
    o
}

#[tokio::test]
async fn a_reused_request_id_does_not_return_another_objectors_data() {
    let mut h = start().await;
    let open = open_notice(&mut h, "registrations/r1").await;
    let a = h
        .client
        .create_objection(file(objection(&open.name), "r-1"))
        .await
        .unwrap()
        .into_inner();

    // Another objector (anonymous, as every objector) under A's request_id.
    let err = h
        .client
        .create_objection(file(objection_by(&open.name, "53010219900101124X"), "r-1"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let said = format!("{err:?}");
    assert!(
        !said.contains(IDENTITY) && !said.contains(&a.access_code),
        "{said}"
    );

    // The same objector with other grounds, and the same request on another notice, are other requests too.
    let mut changed = objection(&open.name);
    changed.grounds = "另一份异议理由，与第一次提交的不同，应当另行提交。".into();
    let err = h.client.create_objection(file(changed, "r-1")).await.unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");
    let other = open_notice(&mut h, "registrations/r2").await;
    let err = h
        .client
        .create_objection(file(objection(&other.name), "r-1"))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "REQUEST_ID_REUSED");

    // The identical request replays A's response.
    let again = h
        .client
        .create_objection(file(objection(&open.name), "r-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.access_code, a.access_code);
    assert_eq!(again.objection.unwrap().name, a.objection.unwrap().name);
    assert_eq!(stored_objections(&h).await, 1);
}

#[tokio::test]
async fn concurrent_duplicates_get_one_response() {
    let mut h = start().await;
    let open = open_notice(&mut h, "registrations/r1").await;
    let request = file(objection(&open.name), "00000000-0000-4000-8000-00000000000c");
    let mut answers = Vec::new();
    for answer in at_once(&h, 8, request).await {
        let answer = answer.expect("every duplicate gets the stored response");
        answers.push((answer.objection.unwrap().name, answer.access_code));
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(stored_objections(&h).await, 1);
}

#[tokio::test]
async fn one_identity_files_one_objection_per_notice() {
    let mut h = start().await;
    let open = open_notice(&mut h, "registrations/r1").await;

    // A format-only check took any six characters; now each is refused, naming the field.
    let flood = file(objection_by(&open.name, "000000"), "");
    for answer in at_once(&h, 1000, flood).await {
        assert_invalid(&answer.unwrap_err(), &["objection.objector.identity_number"]);
    }
    // A wrong check character (GB 11643) is refused the same way.
    let err = h
        .client
        .create_objection(file(objection_by(&open.name, "530102199001011234"), ""))
        .await
        .unwrap_err();
    assert_invalid(&err, &["objection.objector.identity_number"]);

    h.client
        .create_objection(file(objection(&open.name), ""))
        .await
        .unwrap();
    let mut second = objection(&open.name);
    second.grounds = "同一异议人就同一公示再次提出的异议，应当等待第一份的决定。".into();
    let err = h.client.create_objection(file(second, "")).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "OBJECTION_PENDING");
    // Another person may still object to it.
    h.client
        .create_objection(file(objection_by(&open.name, "530102198505050010"), ""))
        .await
        .unwrap();
    assert_eq!(objection_count(&mut h, &open.name).await, 2);
    assert_eq!(forwarded(&h).await, 2);
}

#[tokio::test]
async fn one_identity_files_at_most_the_configured_objections_per_window() {
    let mut h = start_with(&[
        ("disclosure.objections_per_identity", "2"),
        ("disclosure.objection_window", "24h"),
    ])
    .await;
    let mut notices = Vec::new();
    for r in ["registrations/r1", "registrations/r2", "registrations/r3"] {
        notices.push(open_notice(&mut h, r).await);
    }
    for n in &notices[..2] {
        h.client
            .create_objection(file(objection(&n.name), ""))
            .await
            .unwrap();
    }
    let err = h
        .client
        .create_objection(file(objection(&notices[2].name), ""))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(reason(&err), "OBJECTION_LIMIT_REACHED");
    // The limit is the identity's, not the notice's.
    h.client
        .create_objection(file(objection_by(&notices[2].name, "530102197707070031"), ""))
        .await
        .unwrap();
}
