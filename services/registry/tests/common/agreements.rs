//! Fixtures for tests that need operator agreements: a Yunnan world with an implementing agency, two
//! operators, the provincial bureau and one registered resource, and helpers to draft and run agreements.

use chrono::{Datelike, Months, NaiveDate};
use pdop_kit::auth::Role;
use pdop_proto::common::{Date, DateRange, OrganizationRole};
use pdop_proto::registry::v1::*;
use tonic::Status;

use super::*;

pub const AGENCY: &str = "organizations/yn-agency";
pub const OPERATOR: &str = "organizations/yn-operator";
pub const RIVAL: &str = "organizations/rival-operator";
pub const BUREAU: &str = "organizations/yn-bureau";

pub use super::today;

pub fn to_date(d: NaiveDate) -> Option<Date> {
    day(d.year(), d.month() as i32, d.day() as i32)
}

pub fn term(start: NaiveDate, end: NaiveDate) -> Option<DateRange> {
    Some(DateRange {
        start_date: to_date(start),
        end_date: to_date(end),
    })
}

/// A term of `months` starting today (inclusive range).
pub fn months_from_today(months: u32) -> Option<DateRange> {
    let end = today()
        .checked_add_months(Months::new(months))
        .unwrap()
        .pred_opt()
        .unwrap();
    term(today(), end)
}

pub fn agency<T>(message: T) -> tonic::Request<T> {
    acting(AGENCY, &[Role::ImplementingAgency], message)
}

pub fn operator<T>(org: &str, message: T) -> tonic::Request<T> {
    acting(org, &[Role::Operator], message)
}

/// Yunnan with an implementing agency, two operators, the provincial bureau and one registered resource.
pub async fn world() -> Harness {
    world_with(&[]).await
}

pub async fn world_with(overrides: &[(&str, String)]) -> Harness {
    let mut h = Harness::start_with(overrides).await;
    populate(&mut h).await;
    h
}

/// The world on a registry whose clock starts on `day` (setting it up moves the clock past a public notice).
pub async fn world_on(day: NaiveDate, overrides: &[(&str, String)]) -> Harness {
    let mut h = Harness::start_on_day(day, overrides).await;
    populate(&mut h).await;
    h
}

/// The parties and the registered resource, in a started registry.
pub async fn populate(h: &mut Harness) {
    providers(h).await;
    let y = "jurisdictions/yunnan";
    organization(
        h,
        "yn-agency",
        &credit_code(1),
        y,
        &[OrganizationRole::ImplementingAgency],
    )
    .await;
    organization(
        h,
        "yn-operator",
        &credit_code(2),
        y,
        &[OrganizationRole::Operator],
    )
    .await;
    organization(
        h,
        "rival-operator",
        &credit_code(3),
        y,
        &[OrganizationRole::Operator],
    )
    .await;
    organization(
        h,
        "yn-bureau",
        &credit_code(4),
        y,
        &[OrganizationRole::DataAuthority],
    )
    .await;
    registered_resource(h, STATS, "population").await;
}

pub fn draft(jurisdiction: &str, term: Option<DateRange>) -> Agreement {
    Agreement {
        display_name: "公共数据资源授权运营协议".into(),
        jurisdiction: format!("jurisdictions/{jurisdiction}"),
        operator: OPERATOR.into(),
        selection_method: OperatorSelectionMethod::PublicTender as i32,
        resources: vec!["resources/population".into()],
        term,
        ..Default::default()
    }
}

pub async fn create_agreement(h: &mut Harness, a: Agreement) -> Result<Agreement, Status> {
    let request = CreateAgreementRequest {
        agreement: Some(a),
        request_id: String::new(),
    };
    Ok(h.client
        .create_agreement(agency(request))
        .await?
        .into_inner()
        .agreement
        .unwrap())
}

/// Marks every checklist item covered.
pub async fn complete(h: &mut Harness, a: &Agreement) -> Agreement {
    let items = a
        .content_items
        .iter()
        .map(|i| AgreementContentItem {
            present: true,
            section: "第二条".into(),
            ..i.clone()
        })
        .collect();
    let request = UpdateAgreementRequest {
        agreement: Some(Agreement {
            name: a.name.clone(),
            content_items: items,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["content_items".into()],
        }),
        etag: a.etag.clone(),
    };
    h.client
        .update_agreement(agency(request))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap()
}

pub async fn sign(h: &mut Harness, name: &str, on: Option<Date>) -> Result<Agreement, Status> {
    let request = SignAgreementRequest {
        name: name.into(),
        collective_decision: doc("三重一大决议"),
        sign_date: on,
        agreement_document: doc("协议"),
        etag: String::new(),
    };
    Ok(h.client
        .sign_agreement(agency(request))
        .await?
        .into_inner()
        .agreement
        .unwrap())
}

pub async fn file(h: &mut Harness, name: &str) -> Result<Agreement, Status> {
    let request = FileAgreementRequest {
        name: name.into(),
        filed_with: BUREAU.into(),
        filing_date: None,
        filing_reference: "备2026-1".into(),
        etag: String::new(),
    };
    Ok(h.client
        .file_agreement(authority(request))
        .await?
        .into_inner()
        .agreement
        .unwrap())
}

/// An agreement drafted, completed, signed and filed.
pub async fn running(h: &mut Harness, a: Agreement) -> Agreement {
    let created = create_agreement(h, a).await.unwrap();
    complete(h, &created).await;
    sign(h, &created.name, None).await.unwrap();
    file(h, &created.name).await.unwrap()
}

pub async fn get(h: &mut Harness, name: &str) -> Agreement {
    let request = GetAgreementRequest { name: name.into() };
    h.client
        .get_agreement(authority(request))
        .await
        .unwrap()
        .into_inner()
        .agreement
        .unwrap()
}
