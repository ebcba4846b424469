//! Revenue sharing over gRPC (收益分配, S-HN Art.21, S-LY §五(二)): the implementing agency records the shares of
//! the government, the operator and developers per agreement; they sum to exactly 100 % and change only by a new
//! version that supersedes the current one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_kit::convert::date;
use pdop_proto::common::{DocumentRef, Rate};
use pdop_proto::pricing::v1::*;
use pdop_testkit::{acting, assert_invalid, reason};
use tonic::Code;

const DEVELOPER: &str = "organizations/yn-developer";

fn share(party: RevenueParty, organization: &str, value: &str) -> RevenueShare {
    RevenueShare {
        party: party as i32,
        organization: organization.into(),
        share: Some(Rate { value: value.into() }),
        contribution: "数据资源、平台投入".into(),
    }
}

fn sharing(shares: Vec<RevenueShare>) -> RevenueSharing {
    RevenueSharing {
        agreement: AGREEMENT.into(),
        shares,
        basis: "谁投入、谁贡献、谁受益：政府提供数据资源，运营机构投入平台，开发者投入场景开发".into(),
        approval_document: Some(DocumentRef {
            uri: "https://docs.example/revenue-sharing-approval.pdf".into(),
            ..Default::default()
        }),
        effective_from: Some(date(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap())),
        ..Default::default()
    }
}

fn thirds() -> Vec<RevenueShare> {
    vec![
        share(RevenueParty::Government, AGENCY, "0.3"),
        share(RevenueParty::Operator, OPERATOR, "0.55"),
        share(RevenueParty::Developer, DEVELOPER, "0.15"),
    ]
}

async fn record(h: &mut Harness, r: RevenueSharing) -> Result<RevenueSharing, tonic::Status> {
    let request = RecordRevenueSharingRequest {
        revenue_sharing: Some(r),
        request_id: String::new(),
    };
    Ok(h.client
        .record_revenue_sharing(agency(request))
        .await?
        .into_inner()
        .revenue_sharing
        .unwrap())
}

#[tokio::test]
async fn shares_summing_to_one_are_recorded_announced_and_superseded_by_a_new_version() {
    let mut h = start().await;
    // S-HN Art.21 / S-LY §五(二): government, operator and developers each get a stated share.
    let first = record(&mut h, sharing(thirds())).await.unwrap();
    assert!(first.name.starts_with("revenueSharings/"));
    assert_eq!(first.jurisdiction, "jurisdictions/yunnan");
    assert_eq!(first.recorded.unwrap().actor.unwrap().organization, AGENCY);

    // A second current version is refused unless it names the one it replaces.
    let err = record(&mut h, sharing(thirds())).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "REVENUE_SHARING_EXISTS");

    let mut changed = sharing(vec![
        share(RevenueParty::Government, AGENCY, "0.25"),
        share(RevenueParty::Operator, OPERATOR, "0.75"),
    ]);
    changed.supersedes = first.name.clone();
    let second = record(&mut h, changed.clone()).await.unwrap();
    let old = h
        .client
        .get_revenue_sharing(agency(GetRevenueSharingRequest {
            name: first.name.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .revenue_sharing
        .unwrap();
    assert_eq!(old.superseded_by, second.name);
    // The replaced version is no longer current, so it cannot be replaced twice.
    let err = record(&mut h, changed).await.unwrap_err();
    assert_eq!(reason(&err), "NOT_SUPERSEDABLE");

    let list = |include_superseded| ListRevenueSharingsRequest {
        agreement: AGREEMENT.into(),
        include_superseded,
        ..Default::default()
    };
    let current = h
        .client
        .list_revenue_sharings(acting(OPERATOR, &[Role::Operator], list(false)))
        .await
        .unwrap()
        .into_inner()
        .revenue_sharings;
    assert_eq!(
        current.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        [second.name.as_str()]
    );
    let all = h
        .client
        .list_revenue_sharings(acting(OPERATOR, &[Role::Operator], list(true)))
        .await
        .unwrap()
        .into_inner()
        .revenue_sharings;
    assert_eq!(all.len(), 2);

    let announced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE subject = 'pdop.pricing.revenue_sharing.recorded'",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    assert_eq!(announced, 2);
}

#[tokio::test]
async fn shares_must_sum_to_exactly_one_hundred_percent() {
    let mut h = start().await;
    // Issue item 10: the shares sum to 100 %, compared exactly (no rounding).
    let mut short = thirds();
    short[2] = share(RevenueParty::Developer, DEVELOPER, "0.1499");
    let err = record(&mut h, sharing(short)).await.unwrap_err();
    assert_invalid(&err, &["revenue_sharing.shares"]);
    assert!(err.message().contains("0.9999"), "{err:?}");

    let mut over = thirds();
    over[0] = share(RevenueParty::Government, AGENCY, "0.31");
    let err = record(&mut h, sharing(over)).await.unwrap_err();
    assert_invalid(&err, &["revenue_sharing.shares"]);

    let err = record(
        &mut h,
        sharing(vec![
            share(RevenueParty::Government, AGENCY, "0"),
            share(RevenueParty::Operator, OPERATOR, "1"),
        ]),
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["revenue_sharing.shares[0].share"]);
}

#[tokio::test]
async fn each_side_and_organization_is_checked() {
    let mut h = start().await;
    // S-LY §五(二): the government takes part in the sharing; one operator per agreement.
    let err = record(
        &mut h,
        sharing(vec![
            share(RevenueParty::Operator, OPERATOR, "0.8"),
            share(RevenueParty::Developer, DEVELOPER, "0.2"),
        ]),
    )
    .await
    .unwrap_err();
    assert_invalid(&err, &["revenue_sharing.shares"]);

    let err = record(
        &mut h,
        sharing(vec![
            share(RevenueParty::Government, AGENCY, "0.5"),
            share(RevenueParty::Developer, AGENCY, "0.5"),
        ]),
    )
    .await
    .unwrap_err();
    assert_invalid(
        &err,
        &["revenue_sharing.shares[1].organization", "revenue_sharing.shares"],
    );

    let mut bare = sharing(thirds());
    bare.basis.clear();
    bare.approval_document = None;
    let err = record(&mut h, bare).await.unwrap_err();
    assert_invalid(
        &err,
        &["revenue_sharing.basis", "revenue_sharing.approval_document"],
    );

    // The OPERATOR share belongs to the agreement's own operator.
    let err = record(
        &mut h,
        sharing(vec![
            share(RevenueParty::Government, AGENCY, "0.4"),
            share(RevenueParty::Operator, DEVELOPER, "0.6"),
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "NOT_THE_AGREEMENT_OPERATOR");
}

#[tokio::test]
async fn only_the_agreements_implementing_agency_records_it() {
    let mut h = start().await;
    let request = || RecordRevenueSharingRequest {
        revenue_sharing: Some(sharing(thirds())),
        request_id: String::new(),
    };
    let err = h
        .client
        .record_revenue_sharing(acting(OPERATOR, &[Role::Operator], request()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = h
        .client
        .record_revenue_sharing(acting(
            "organizations/other-agency",
            &[Role::ImplementingAgency],
            request(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(reason(&err), "NOT_THE_IMPLEMENTING_AGENCY");

    let mut unknown = sharing(thirds());
    unknown.agreement = "agreements/nope".into();
    let err = record(&mut h, unknown).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn a_non_party_cannot_read_revenue_sharing() {
    // THREATS M8: revenue sharing is read by the agreement's parties and overseers only, as the agreement itself.
    let mut h = start().await;
    let recorded = record(&mut h, sharing(thirds())).await.unwrap();
    let read = |organization: &'static str, role: Role| {
        let mut client = h.client.clone();
        let get = GetRevenueSharingRequest {
            name: recorded.name.clone(),
        };
        let list = ListRevenueSharingsRequest {
            agreement: AGREEMENT.into(),
            include_superseded: true,
            ..Default::default()
        };
        async move {
            let got = client
                .get_revenue_sharing(acting(organization, &[role], get))
                .await;
            let listed = client
                .list_revenue_sharings(acting(organization, &[role], list))
                .await
                .unwrap()
                .into_inner();
            (got, listed)
        }
    };
    for (organization, role) in [
        ("organizations/other-operator", Role::Operator),
        ("organizations/other-agency", Role::ImplementingAgency),
        (DEVELOPER, Role::Developer),
    ] {
        let (got, listed) = read(organization, role).await;
        let err = got.unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{organization}: {err:?}");
        assert_eq!(reason(&err), "NOT_A_PARTY");
        assert!(listed.revenue_sharings.is_empty(), "{organization}: {listed:?}");
        assert!(listed.next_page_token.is_empty());
    }
    // The parties and overseers still read it.
    for (organization, role) in [
        (OPERATOR, Role::Operator),
        (AGENCY, Role::ImplementingAgency),
        (DATA_AUTHORITY, Role::DataAuthority),
        ("organizations/yn-audit", Role::Auditor),
    ] {
        let (got, listed) = read(organization, role).await;
        let got = got.unwrap().into_inner().revenue_sharing.unwrap();
        assert_eq!(got.name, recorded.name);
        assert_eq!(listed.revenue_sharings.len(), 1, "{organization}");
    }
}
