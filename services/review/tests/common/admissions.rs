//! Developer admissions in a profile's world: listed products, drafts with materials, the panel agreeing, and the
//! facts other services announce about admissions (objections, blacklist entries, developer agreements).

use pdop_kit::auth::Role;
use pdop_proto::common::{DocumentRef, JurisdictionRef, OrganizationRole, PartyKind, RealNameParty};
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1::{BlacklistEntryAdded, ProductListed, ProductSnapshot};
use pdop_proto::registry::v1::{BlacklistAction, ProductState};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::{
    AdmissionMaterial, AdmissionMaterialKind as Kind, AdmissionRoute, CriterionAssessment, CriterionFinding,
    DeveloperAdmission, OpinionStance, ReviewCriterion, ReviewOpinion, ReviewerRole,
};
use pdop_testkit::acting;
use prost::Message;

use super::{Harness, World, org_ref};

pub const YUNNAN_MATERIALS: [Kind; 4] = [
    Kind::ScenarioPlan,
    Kind::SecurityCommitment,
    Kind::CreditReport,
    Kind::QualificationProof,
];

pub fn as_dev<T>(org: &str, m: T) -> tonic::Request<T> {
    acting(org, &[Role::Developer], m)
}

pub fn material(kind: Kind) -> AdmissionMaterial {
    AdmissionMaterial {
        kind: kind as i32,
        document: Some(DocumentRef {
            uri: format!("https://docs.example/{}.pdf", kind.as_str_name()),
            sha256: "ab".repeat(32),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Announces the product in `state` and waits until the read model holds it.
pub async fn announce_product(h: &Harness, w: &World, id: &str, state: ProductState) -> String {
    let p = ProductSnapshot {
        state: state as i32,
        ..super::product(w, id, &[])
    };
    let event = ProductListed {
        product: Some(p.clone()),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.product.listed",
        &format!("pl-{}", p.name),
        event.encode_to_vec(),
    )
    .await;
    let pid = p.name.trim_start_matches("products/").to_owned();
    h.until(
        "the product is known",
        &format!(
            "SELECT EXISTS (SELECT 1 FROM products WHERE id = '{pid}' AND state = {})",
            state as i32
        ),
    )
    .await;
    p.name
}

pub fn draft(w: &World, products: &[String], materials: &[Kind]) -> DeveloperAdmission {
    DeveloperAdmission {
        agreement: w.agreement(),
        route: AdmissionRoute::SelfProposed as i32,
        scenario_title: "智慧物流调度".into(),
        scenario_description: "基于企业信用数据的物流调度".into(),
        requested_products: products.to_vec(),
        materials: materials.iter().map(|k| material(*k)).collect(),
        ..Default::default()
    }
}

pub fn create_request(a: DeveloperAdmission) -> pb::CreateDeveloperAdmissionRequest {
    pb::CreateDeveloperAdmissionRequest {
        developer_admission: Some(a),
        request_id: String::new(),
    }
}

pub async fn create(h: &mut Harness, dev: &str, a: DeveloperAdmission) -> DeveloperAdmission {
    h.client
        .create_developer_admission(as_dev(dev, create_request(a)))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap()
}

/// The admission as its operator reads it.
pub async fn get(h: &mut Harness, w: &World, name: &str) -> DeveloperAdmission {
    let req = pb::GetDeveloperAdmissionRequest { name: name.into() };
    let r = h
        .client
        .get_developer_admission(w.as_operator(req))
        .await
        .unwrap();
    r.into_inner().developer_admission.unwrap()
}

pub async fn submit(h: &mut Harness, dev: &str, name: &str) -> Result<DeveloperAdmission, tonic::Status> {
    let req = pb::SubmitDeveloperAdmissionRequest {
        name: name.into(),
        ..Default::default()
    };
    let r = h.client.submit_developer_admission(as_dev(dev, req)).await?;
    Ok(r.into_inner().developer_admission.unwrap())
}

/// The token roles a seat's organization acts with.
pub fn seat_roles(seat: &pb::ReviewerAssignment) -> &'static [Role] {
    match ReviewerRole::try_from(seat.reviewer_role).unwrap_or_default() {
        ReviewerRole::IndustryRegulator => &[Role::IndustryRegulator],
        ReviewerRole::DataProvider => &[Role::DataProvider],
        _ if seat.organization.ends_with("-ia") => &[Role::ImplementingAgency],
        _ => &[Role::Operator],
    }
}

/// An opinion of `seat` with `stance`, assessing every criterion (R-RV-08).
pub fn opinion(parent: &str, seat: &str, stance: OpinionStance) -> pb::CreateReviewOpinionRequest {
    let criteria = (1..=40)
        .filter_map(|i| ReviewCriterion::try_from(i).ok())
        .map(|c| CriterionAssessment {
            criterion: c as i32,
            finding: CriterionFinding::Met as i32,
            ..Default::default()
        })
        .collect();
    pb::CreateReviewOpinionRequest {
        parent: parent.into(),
        opinion: Some(ReviewOpinion {
            reviewer: seat.into(),
            stance: stance as i32,
            comments: "资格审查意见".into(),
            criteria,
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// Every active seat of the panel agrees, each with its own token.
pub async fn all_agree(h: &mut Harness, a: &DeveloperAdmission) {
    for seat in &a.reviewers {
        let req = opinion(&a.name, &seat.name, OpinionStance::Agree);
        h.client
            .create_review_opinion(acting(&seat.organization, seat_roles(seat), req))
            .await
            .unwrap();
    }
}

pub fn approve_request(name: &str) -> pb::ApproveDeveloperAdmissionRequest {
    pb::ApproveDeveloperAdmissionRequest {
        name: name.into(),
        reasons: "资质能力、需求合理性、场景合规性、安全风险性均符合要求".into(),
        ..Default::default()
    }
}

/// Create, submit, every seat agrees, the operator (lead) approves.
pub async fn approved(
    h: &mut Harness,
    w: &World,
    dev: &str,
    products: &[String],
    materials: &[Kind],
) -> DeveloperAdmission {
    let a = create(h, dev, draft(w, products, materials)).await;
    let a = submit(h, dev, &a.name).await.unwrap();
    all_agree(h, &a).await;
    let lead = a
        .reviewers
        .iter()
        .find(|s| s.reviewer_role == ReviewerRole::Lead as i32)
        .cloned()
        .unwrap();
    h.client
        .approve_developer_admission(acting(
            &lead.organization,
            seat_roles(&lead),
            approve_request(&a.name),
        ))
        .await
        .unwrap()
        .into_inner()
        .developer_admission
        .unwrap()
}

/// Announces disclosure's ObjectionFiled for a review notice and waits until the objection is stored.
pub async fn objection_filed(h: &Harness, admission: &str, id: &str) {
    let filed = ObjectionFiled {
        name: format!("objections/{id}"),
        notice: "notices/n1".into(),
        subject: admission.into(),
        deciding_service: "review".into(),
        objector: Some(RealNameParty {
            party_kind: PartyKind::Person as i32,
            display_name: "张三".into(),
            identity_number: "530102199001011234".into(),
            contact: "13800000000".into(),
            ..Default::default()
        }),
        grounds: "资质证明与实际不符".into(),
        ..Default::default()
    };
    h.publish(
        "pdop.disclosure.objection.filed",
        &format!("of-{id}"),
        filed.encode_to_vec(),
    )
    .await;
    h.until(
        "the objection is stored",
        &format!("SELECT EXISTS (SELECT 1 FROM admission_objections WHERE id = '{id}')"),
    )
    .await;
}

pub async fn blacklist(h: &Harness, w: &World, org: &str, action: BlacklistAction, id: &str) {
    let e = BlacklistEntryAdded {
        name: format!("blacklistEntries/{id}"),
        organization: Some(org_ref(org, OrganizationRole::Developer)),
        jurisdiction: Some(JurisdictionRef {
            name: w.jurisdiction(),
            ..Default::default()
        }),
        action: action as i32,
        reason: "违规".into(),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.blacklist_entry.added",
        &format!("bl-{id}"),
        e.encode_to_vec(),
    )
    .await;
    h.until(
        "the blacklist entry is applied",
        &format!("SELECT EXISTS (SELECT 1 FROM inbox WHERE message_id = 'bl-{id}')"),
    )
    .await;
}

/// No audit row carries an objector's identity number (R-RV-11).
pub async fn audit_has_no_identity_numbers(h: &Harness) -> bool {
    let found: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM audit_log WHERE detail::text LIKE '%530102199001011234%')",
    )
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    !found
}
