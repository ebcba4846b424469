//! Registry steps: the jurisdiction tree, the parties, a resource through registration, the implementation plan,
//! the operator agreement and the product.

use chrono::Months;
use pdop_kit::auth::Role;
use pdop_proto::common::{DataGrade, DateRange, JurisdictionLevel, UseClass};
use pdop_proto::registry::v1::registration::Subject;
use pdop_proto::registry::v1::*;
use tonic::Code;

use super::{date, doc};
use crate::parties::PARTIES;
use crate::{Platform, Province, until};

/// The root (national profile) and the province under it; both found when they already exist.
pub async fn jurisdictions(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let root = p.root.clone();
    jurisdiction(
        p,
        &root,
        "中华人民共和国",
        JurisdictionLevel::National,
        "",
        "national",
    )
    .await?;
    let parent = format!("jurisdictions/{root}");
    let (id, display) = (j.id.clone(), j.display_name.clone());
    jurisdiction(p, &id, &display, JurisdictionLevel::Province, &parent, &id).await
}

async fn jurisdiction(
    p: &mut Platform,
    id: &str,
    display_name: &str,
    level: JurisdictionLevel,
    parent: &str,
    profile: &str,
) -> anyhow::Result<()> {
    let request = CreateJurisdictionRequest {
        jurisdiction: Some(Jurisdiction {
            display_name: display_name.into(),
            level: level as i32,
            parent: parent.into(),
            profile_id: profile.into(),
            ..Default::default()
        }),
        jurisdiction_id: id.into(),
        request_id: String::new(),
    };
    let request = p.acting(&authority(p), &[Role::DataAuthority], request)?;
    match p.registry.create_jurisdiction(request).await {
        Ok(_) => p.note(format!("created jurisdictions/{id} (profile {profile})")),
        Err(status) if status.code() == Code::AlreadyExists => {
            let get = GetJurisdictionRequest {
                name: format!("jurisdictions/{id}"),
            };
            let get = p.acting(&authority(p), &[Role::DataAuthority], get)?;
            let found = p.registry.get_jurisdiction(get).await?.into_inner().jurisdiction;
            let profile = found.map(|j| j.profile_id).unwrap_or_default();
            p.note(format!("found jurisdictions/{id} (profile {profile})"));
        }
        Err(status) => return Err(status.into()),
    }
    Ok(())
}

/// The national supervisor every supervisory token names (it need not exist: the token's root decides).
fn authority(p: &Platform) -> String {
    format!("organizations/{}-authority", p.root)
}

/// The province's data authorities, implementing agency, data provider, operator and pricing authority.
pub async fn organizations(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    for (n, (party, role)) in (0u32..).zip(PARTIES) {
        let id = j.org_id(party);
        let request = CreateOrganizationRequest {
            organization: Some(Organization {
                display_name: format!("{}{party}", j.display_name),
                unified_social_credit_code: j.credit_code(n)?,
                roles: vec![role as i32],
                jurisdiction: j.name(),
                ..Default::default()
            }),
            organization_id: id.clone(),
            request_id: String::new(),
        };
        let request = p.acting(&authority(p), &[Role::DataAuthority], request)?;
        match p.registry.create_organization(request).await {
            Ok(_) => p.note(format!("created organizations/{id} ({})", role.as_str_name())),
            Err(status) if status.code() == Code::AlreadyExists => {
                let get = GetOrganizationRequest {
                    name: format!("organizations/{id}"),
                };
                let get = p.acting(&authority(p), &[Role::DataAuthority], get)?;
                p.registry.get_organization(get).await?;
                p.note(format!("found organizations/{id}"));
            }
            Err(status) => return Err(status.into()),
        }
    }
    Ok(())
}

/// A catalogued data resource of the province's statistics provider.
pub async fn resource(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let id = format!("{}-population-{}", j.id, p.run);
    let provider = j.provider();
    let request = CreateResourceRequest {
        resource: Some(Resource {
            display_name: format!("{}人口基础信息", j.display_name),
            provider: provider.clone(),
            jurisdiction: j.name(),
            grade: DataGrade::General as i32,
            fields: vec![ResourceField {
                field_key: "population".into(),
                display_name: "常住人口".into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        resource_id: id.clone(),
        request_id: String::new(),
    };
    let request = p.acting(&provider, &[Role::DataProvider], request)?;
    let created = p.registry.create_resource(request).await?.into_inner().resource;
    j.resource = created.map(|r| r.name).unwrap_or_default();
    let catalog = CatalogResourceRequest {
        name: j.resource.clone(),
        etag: String::new(),
    };
    let catalog = p.acting(&provider, &[Role::DataProvider], catalog)?;
    p.registry.catalog_resource(catalog).await?;
    p.note(format!("created and catalogued {}", j.resource));
    Ok(())
}

/// Every material N3 Art.9 lists for a first registration.
fn materials() -> Vec<RegistrationMaterial> {
    use RegistrationMaterialKind::*;
    [
        RegistrantInfo,
        LawfulSource,
        ResourceDescription,
        EvidenceDeposit,
        ProductInfo,
        ScenarioInfo,
        SecurityRiskAssessment,
    ]
    .into_iter()
    .map(|kind| RegistrationMaterial {
        kind: kind as i32,
        document: doc(kind.as_str_name()),
        ..Default::default()
    })
    .collect()
}

/// Applies for a first registration of `subject` as `applicant`, and has the authority accept it, pass its
/// review and start its public notice. Returns the registration's name.
async fn register(
    p: &mut Platform,
    applicant: &str,
    role: Role,
    subject: Subject,
    title: &str,
) -> anyhow::Result<String> {
    let today = p.today().await?;
    let application = Registration {
        kind: RegistrationKind::First as i32,
        subject: Some(subject),
        title: title.into(),
        content_summary: format!("{title}登记"),
        materials: materials(),
        internal_review: doc("internal-review"),
        operation_start_date: Some(date(today)),
        ..Default::default()
    };
    let create = CreateRegistrationRequest {
        registration: Some(application),
        request_id: String::new(),
    };
    let create = p.acting(applicant, &[role], create)?;
    let name = p
        .registry
        .create_registration(create)
        .await?
        .into_inner()
        .registration
        .map(|r| r.name)
        .unwrap_or_default();
    let submit = SubmitRegistrationRequest {
        name: name.clone(),
        etag: String::new(),
    };
    let submit = p.acting(applicant, &[role], submit)?;
    p.registry.submit_registration(submit).await?;
    let sup = authority(p);
    let accept = AcceptRegistrationRequest {
        name: name.clone(),
        etag: String::new(),
    };
    p.registry
        .accept_registration(p.acting(&sup, &[Role::DataAuthority], accept)?)
        .await?;
    let review = CompleteRegistrationReviewRequest {
        name: name.clone(),
        outcome: RegistrationReviewOutcome::Passed as i32,
        ..Default::default()
    };
    p.registry
        .complete_registration_review(p.acting(&sup, &[Role::DataAuthority], review)?)
        .await?;
    let notice = StartRegistrationNoticeRequest {
        name: name.clone(),
        ..Default::default()
    };
    p.registry
        .start_registration_notice(p.acting(&sup, &[Role::DataAuthority], notice)?)
        .await?;
    Ok(name)
}

pub async fn get_registration(p: &mut Platform, name: &str) -> anyhow::Result<Registration> {
    let get = GetRegistrationRequest { name: name.into() };
    let get = p.acting(&authority(p), &[Role::DataAuthority], get)?;
    p.registry
        .get_registration(get)
        .await?
        .into_inner()
        .registration
        .ok_or_else(|| anyhow::anyhow!("{name}: empty answer"))
}

/// The resource's first registration, accepted, reviewed and in its public notice.
pub async fn registration(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let title = format!("{}人口基础信息", j.display_name);
    let subject = Subject::Resource(j.resource.clone());
    j.registration = register(p, &j.provider(), Role::DataProvider, subject, &title).await?;
    let reg = get_registration(p, &j.registration).await?;
    let end = reg.notice_period.and_then(|n| n.end_date);
    p.note(format!(
        "registered {} as {}; public notice until {}",
        j.resource,
        j.registration,
        end.map(|d| format!("{}-{:02}-{:02}", d.year, d.month, d.day))
            .unwrap_or_default()
    ));
    Ok(())
}

/// Moves the clocks past the public notice of `registration` and issues its registration code.
async fn end_notice_and_issue(p: &mut Platform, registration: &str) -> anyhow::Result<String> {
    let reg = get_registration(p, registration).await?;
    let end = reg
        .notice_period
        .and_then(|n| n.end_date)
        .and_then(|d| pdop_kit::convert::naive_date(&d))
        .ok_or_else(|| anyhow::anyhow!("{registration} has no notice period"))?;
    if let Some(after) = end.succ_opt() {
        p.advance_to(after).await?;
    }
    let issue = IssueRegistrationCodeRequest {
        name: registration.into(),
        etag: String::new(),
    };
    let issue = p.acting(&authority(p), &[Role::DataAuthority], issue)?;
    let issued = p.registry.issue_registration_code(issue).await?.into_inner();
    let code = issued
        .registration
        .map(|r| r.registration_code)
        .unwrap_or_default();
    p.note(format!("issued registration code {code} for {registration}"));
    Ok(code)
}

/// The resource's notice ends (an objection, where the province has one, dismissed first) and its code is issued.
pub async fn registration_coded(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let registration = j.registration.clone();
    if j.objection {
        j.objection_filed = super::disclosure::object_to_notice(p, &registration).await?;
        dismiss_objection(p, &registration).await?;
    }
    end_notice_and_issue(p, &registration).await?;
    Ok(())
}

/// Waits until the registry holds the objection filed in the disclosure service, and dismisses it.
async fn dismiss_objection(p: &mut Platform, registration: &str) -> anyhow::Result<()> {
    let sup = authority(p);
    let list = ListRegistrationObjectionsRequest {
        parent: registration.into(),
        ..Default::default()
    };
    let client = p.registry.clone();
    let platform = &*p;
    until("the registry has received the objection", || {
        let mut client = client.clone();
        let request = platform.acting(&sup, &[Role::DataAuthority], list.clone());
        async move {
            let listed = client.list_registration_objections(request?).await?.into_inner();
            Ok(!listed.objections.is_empty())
        }
    })
    .await?;
    let request = p.acting(&sup, &[Role::DataAuthority], list)?;
    let objections = p
        .registry
        .list_registration_objections(request)
        .await?
        .into_inner()
        .objections;
    for objection in objections {
        let dismiss = DismissRegistrationObjectionRequest {
            name: objection.name.clone(),
            reason: "来源证明材料齐全，异议不成立".into(),
        };
        let dismiss = p.acting(&sup, &[Role::DataAuthority], dismiss)?;
        p.registry.dismiss_registration_objection(dismiss).await?;
        p.note(format!("dismissed {} in the registry", objection.name));
    }
    Ok(())
}

/// The province's implementation plan (实施方案): drafted by the lead authority, approved and filed.
pub async fn implementation_plan(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let lead = j.data();
    let today = p.today().await?;
    let end = today
        .checked_add_months(Months::new(60))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    let draft = ImplementationPlan {
        display_name: format!("{}公共数据授权运营实施方案 {}", j.display_name, p.run),
        jurisdiction: j.name(),
        implementing_agency: j.agency(),
        authorization_model: AuthorizationModel::WholeRegion as i32,
        resources: vec![j.resource.clone()],
        term: Some(DateRange {
            start_date: Some(date(today)),
            end_date: Some(date(end)),
        }),
        ..Default::default()
    };
    let create = CreateImplementationPlanRequest {
        implementation_plan: Some(draft),
        request_id: String::new(),
    };
    let created = p
        .registry
        .create_implementation_plan(p.acting(&lead, &[Role::DataAuthority], create)?)
        .await?
        .into_inner()
        .implementation_plan
        .unwrap_or_default();
    let mut plan = created.clone();
    for item in &mut plan.content_items {
        item.present = true;
        item.section = "第一章".into();
    }
    plan.feasibility_aspects = (1..=5).collect();
    plan.planned_products = vec![
        PlannedProduct {
            display_name: "人口统计公益报告".into(),
            use_class: UseClass::PublicGovernance as i32,
            ..Default::default()
        },
        PlannedProduct {
            display_name: "人口画像接口".into(),
            use_class: UseClass::IndustryDevelopment as i32,
            ..Default::default()
        },
    ];
    let update = UpdateImplementationPlanRequest {
        implementation_plan: Some(plan),
        update_mask: None,
        etag: String::new(),
    };
    p.registry
        .update_implementation_plan(p.acting(&lead, &[Role::DataAuthority], update)?)
        .await?;
    let submit = SubmitImplementationPlanRequest {
        name: created.name.clone(),
        collective_decision: doc("三重一大会议纪要"),
        etag: String::new(),
    };
    p.registry
        .submit_implementation_plan(p.acting(&lead, &[Role::DataAuthority], submit)?)
        .await?;
    let sup = authority(p);
    let approve = ApproveImplementationPlanRequest {
        name: created.name.clone(),
        approving_body: format!("{}人民政府", j.display_name),
        approval_document: doc("批复"),
        approval_date: None,
        etag: String::new(),
    };
    p.registry
        .approve_implementation_plan(p.acting(&sup, &[Role::DataAuthority], approve)?)
        .await?;
    let file = FileImplementationPlanRequest {
        name: created.name.clone(),
        filed_with: j.bureau(),
        filing_date: None,
        filing_reference: format!("数备〔{}〕{}号", today.format("%Y"), p.run),
        etag: String::new(),
    };
    p.registry
        .file_implementation_plan(p.acting(&sup, &[Role::DataAuthority], file)?)
        .await?;
    j.plan = created.name;
    p.note(format!("{}: drafted, approved and filed {}", j.id, j.plan));
    Ok(())
}

/// The operator agreement over the registered resource: drafted by the agency, signed and filed.
pub async fn operator_agreement(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let agency = j.agency();
    let today = p.today().await?;
    let end = today
        .checked_add_months(Months::new(36))
        .and_then(|d| d.pred_opt())
        .unwrap_or(today);
    let create = CreateAgreementRequest {
        agreement: Some(Agreement {
            display_name: format!("公共数据资源授权运营协议 {}", p.run),
            jurisdiction: j.name(),
            operator: j.operator(),
            selection_method: OperatorSelectionMethod::PublicTender as i32,
            resources: vec![j.resource.clone()],
            term: Some(DateRange {
                start_date: Some(date(today)),
                end_date: Some(date(end)),
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let created = p
        .registry
        .create_agreement(p.acting(&agency, &[Role::ImplementingAgency], create)?)
        .await?
        .into_inner()
        .agreement
        .unwrap_or_default();
    let items = created
        .content_items
        .iter()
        .map(|i| AgreementContentItem {
            present: true,
            section: "第二条".into(),
            ..i.clone()
        })
        .collect();
    let update = UpdateAgreementRequest {
        agreement: Some(Agreement {
            name: created.name.clone(),
            content_items: items,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["content_items".into()],
        }),
        etag: created.etag.clone(),
    };
    p.registry
        .update_agreement(p.acting(&agency, &[Role::ImplementingAgency], update)?)
        .await?;
    let sign = SignAgreementRequest {
        name: created.name.clone(),
        collective_decision: doc("三重一大决议"),
        sign_date: None,
        agreement_document: doc("协议"),
        etag: String::new(),
    };
    p.registry
        .sign_agreement(p.acting(&agency, &[Role::ImplementingAgency], sign)?)
        .await?;
    let file = FileAgreementRequest {
        name: created.name.clone(),
        filed_with: j.bureau(),
        filing_date: None,
        filing_reference: format!("备{}-{}", today.format("%Y"), p.run),
        etag: String::new(),
    };
    let sup = authority(p);
    p.registry
        .file_agreement(p.acting(&sup, &[Role::DataAuthority], file)?)
        .await?;
    j.agreement = created.name;
    p.note(format!(
        "{}: signed and filed {} with {}",
        j.id,
        j.agreement,
        j.operator()
    ));
    Ok(())
}

/// Waits until the registry has activated the province's agreement: its scheduler does so once the term has
/// begun, on its next sweep, which each move of the clocks (even by nothing) starts.
pub async fn agreement_active(p: &Platform, j: &Province) -> anyhow::Result<()> {
    let client = p.registry.clone();
    let sup = authority(p);
    until(&format!("{} is ACTIVE", j.agreement), || {
        let mut client = client.clone();
        let get = p.acting(
            &sup,
            &[Role::DataAuthority],
            GetAgreementRequest {
                name: j.agreement.clone(),
            },
        );
        async move {
            p.advance("0s").await?;
            let found = client.get_agreement(get?).await?.into_inner().agreement;
            Ok(found.is_some_and(|a| a.state == AgreementState::Active as i32))
        }
    })
    .await
}

/// The operator's product over the resource, submitted for compliance review.
pub async fn product(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    let operator = j.operator();
    let create = CreateProductRequest {
        product: Some(Product {
            display_name: format!("人口画像接口 {}", p.run),
            description: "按区域统计的人口画像".into(),
            kind: ProductKind::Api as i32,
            agreement: j.agreement.clone(),
            source_resources: vec![j.resource.clone()],
            use_class: UseClass::IndustryDevelopment as i32,
            // The scenario it serves, where the profile reviews scenarios (一场景一审核).
            scenario_applications: if j.scenario.is_empty() {
                Vec::new()
            } else {
                vec![j.scenario.clone()]
            },
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let created = p
        .registry
        .create_product(p.acting(&operator, &[Role::Operator], create)?)
        .await?
        .into_inner()
        .product
        .unwrap_or_default();
    let submit = SubmitProductRequest {
        name: created.name.clone(),
        etag: String::new(),
    };
    p.registry
        .submit_product(p.acting(&operator, &[Role::Operator], submit)?)
        .await?;
    j.product = created.name;
    p.note(format!("{}: submitted {} for compliance review", j.id, j.product));
    Ok(())
}

/// Waits until the registry holds `product` in `state`.
pub async fn wait_product(p: &Platform, product: &str, state: ProductState) -> anyhow::Result<()> {
    let client = p.registry.clone();
    let sup = authority(p);
    until(&format!("{product} is {}", state.as_str_name()), || {
        let mut client = client.clone();
        let get = p.acting(
            &sup,
            &[Role::DataAuthority],
            GetProductRequest { name: product.into() },
        );
        async move {
            let found = client.get_product(get?).await?.into_inner().product;
            Ok(found.is_some_and(|f| f.state == state as i32))
        }
    })
    .await
}

/// The approved product's registration (mandatory in these provinces) through its notice: coding it lists it.
pub async fn listed(p: &mut Platform, j: &mut Province) -> anyhow::Result<()> {
    wait_product(p, &j.product, ProductState::Approved).await?;
    let subject = Subject::Product(j.product.clone());
    let title = format!("{}人口画像接口", j.display_name);
    j.product_registration = register(p, &j.operator(), Role::Operator, subject, &title).await?;
    let registration = j.product_registration.clone();
    end_notice_and_issue(p, &registration).await?;
    wait_product(p, &j.product, ProductState::Listed).await?;
    p.note(format!("{}: {} is LISTED on {registration}", j.id, j.product));
    Ok(())
}
