//! Reads of the registry read model (`incoming`) in the caller's transaction: profiles, agreements, resources
//! with their negative-list entries, organization references and the organizations that fill panel seats.

use std::sync::Arc;

use pdop_kit::names;
use pdop_kit::scope::Ancestry;
use pdop_proto::common::{JurisdictionRef, OrganizationRef, OrganizationRole};
use pdop_proto::registry::events::v1::{AgreementSummary, ResourceSnapshot};
use pdop_rules::{Profile, Profiles};
use prost::Message;

use super::{Tx, id_of};
use crate::domain::facts::Demanded;
use crate::domain::panel::{OrgRole, Resolved, SeatSource, SeatSpec};
use crate::domain::{Error, ErrorReason};

/// The profile `jurisdiction` is bound to; NOT_FOUND when the registry has not announced it (yet).
pub async fn profile(tx: &mut Tx, profiles: &Profiles, jurisdiction: &str) -> Result<Arc<Profile>, Error> {
    pdop_kit::readmodel::profile(
        &mut **tx,
        profiles,
        jurisdiction,
        ErrorReason::JurisdictionNotFound,
    )
    .await
}

/// The ids of the caller's jurisdiction and every jurisdiction below it (what a supervisor lists).
pub async fn supervised(pool: &sqlx::PgPool, jurisdiction: &str) -> Result<Vec<String>, Error> {
    Ok(pdop_kit::readmodel::below(pool, jurisdiction).await?)
}

pub async fn ancestry(tx: &mut Tx, jurisdiction: &str) -> Result<Ancestry, Error> {
    Ok(pdop_kit::scope::ancestry(&mut **tx, jurisdiction).await?)
}

/// The agreement `name` (the request's `field`); NOT_FOUND until the registry announced it.
pub async fn agreement(tx: &mut Tx, name: &str, field: &str) -> Result<AgreementSummary, Error> {
    let id = id_of(name, "agreements", field)?;
    let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM agreements WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let body = body.ok_or_else(|| Error::not_found(ErrorReason::AgreementNotFound, name))?;
    AgreementSummary::decode(body.as_slice()).map_err(|e| Error::Internal(e.into()))
}

/// Each named resource with its active negative-list entries, in order; NOT_FOUND for one never announced.
pub async fn demanded(tx: &mut Tx, resources: &[(String, String)]) -> Result<Vec<Demanded>, Error> {
    let mut out = Vec::with_capacity(resources.len());
    for (name, field) in resources {
        let id = id_of(name, "resources", field)?;
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM resources WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let body = body.ok_or_else(|| Error::not_found(ErrorReason::ResourceNotFound, name))?;
        let snapshot = ResourceSnapshot::decode(body.as_slice()).map_err(|e| Error::Internal(e.into()))?;
        let listed: Vec<Vec<String>> =
            sqlx::query_scalar("SELECT field_keys FROM negative_list WHERE resource_id = $1 AND NOT lifted")
                .bind(id)
                .fetch_all(&mut **tx)
                .await?;
        let negative = if listed.is_empty() {
            None
        } else if listed.iter().any(Vec::is_empty) {
            Some(Vec::new())
        } else {
            Some(listed.concat())
        };
        out.push(Demanded { snapshot, negative });
    }
    Ok(out)
}

/// The organization as announced (with its display name), or a bare reference when it was not.
pub async fn organization(tx: &mut Tx, name: &str) -> Result<OrganizationRef, Error> {
    Ok(pdop_kit::readmodel::organization(&mut **tx, name).await?)
}

/// The organization `name` must be known (the request's `field`), with its reference.
pub async fn known_organization(tx: &mut Tx, name: &str, field: &str) -> Result<OrganizationRef, Error> {
    id_of(name, "organizations", field)?;
    let org = organization(tx, name).await?;
    if org.display_name.is_empty() && org.roles.is_empty() {
        return Err(Error::not_found(ErrorReason::OrganizationNotFound, name));
    }
    Ok(org)
}

pub async fn jurisdiction(tx: &mut Tx, name: &str) -> Result<JurisdictionRef, Error> {
    Ok(pdop_kit::readmodel::jurisdiction(&mut **tx, name).await?)
}

fn role_of(org: OrgRole) -> OrganizationRole {
    match org {
        OrgRole::DataAuthority => OrganizationRole::DataAuthority,
        OrgRole::ImplementingAgency => OrganizationRole::ImplementingAgency,
        OrgRole::Operator => OrganizationRole::Operator,
        OrgRole::DataProvider => OrganizationRole::DataProvider,
        OrgRole::IndustryRegulator => OrganizationRole::IndustryRegulator,
    }
}

/// The organizations that fill each profile seat (§2.13): by role in the jurisdiction (exactly one, else
/// PANEL_UNRESOLVED), from the agreement, or the providers of `resources`; `Assigned` seats wait for the lead.
pub async fn resolve_panel(
    tx: &mut Tx,
    panel: &[SeatSpec],
    jurisdiction: &str,
    agreement: &AgreementSummary,
    providers: &[String],
) -> Result<Vec<Resolved>, Error> {
    let mut out = Vec::with_capacity(panel.len());
    for spec in panel {
        let organizations = match spec.from {
            SeatSource::Jurisdiction => vec![only_holder(tx, spec.org, jurisdiction).await?],
            SeatSource::Agreement => {
                let org = match spec.org {
                    OrgRole::Operator => agreement.operator.as_ref(),
                    _ => agreement.implementing_agency.as_ref(),
                };
                org.map(|o| vec![o.name.clone()]).unwrap_or_default()
            }
            SeatSource::Resources => {
                let mut unique = providers.to_vec();
                unique.sort();
                unique.dedup();
                unique
            }
            SeatSource::Assigned => Vec::new(),
        };
        out.push(Resolved {
            spec: *spec,
            organizations,
        });
    }
    Ok(out)
}

/// The one organization holding `role` in `jurisdiction` (§2.13 `from = jurisdiction`); none or several is
/// PANEL_UNRESOLVED (inferred).
pub async fn only_holder(tx: &mut Tx, role: OrgRole, jurisdiction: &str) -> Result<String, Error> {
    let jid = names::parse(jurisdiction, "jurisdictions").unwrap_or_default();
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM organizations WHERE jurisdiction_id = $1 AND $2 = ANY(roles) ORDER BY id LIMIT 2",
    )
    .bind(jid)
    .bind(role_of(role) as i16)
    .fetch_all(&mut **tx)
    .await?;
    match ids.as_slice() {
        [one] => Ok(format!("organizations/{one}")),
        _ => Err(Error::refused(
            ErrorReason::PanelUnresolved,
            format!(
                "the profile names the {role} of {jurisdiction}, and not exactly one organization holds that role there"
            ),
        )),
    }
}

/// The ACTIVE agreement of `operator` whose scope covers `resource`, if any.
pub async fn covering_agreement(
    tx: &mut Tx,
    operator: &str,
    resource: &str,
) -> Result<Option<AgreementSummary>, Error> {
    let oid = names::parse(operator, "organizations").unwrap_or_default();
    let bodies: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT body FROM agreements WHERE operator_id = $1 AND state = $2 ORDER BY id")
            .bind(oid)
            .bind(pdop_proto::registry::v1::AgreementState::Active as i16)
            .fetch_all(&mut **tx)
            .await?;
    for body in bodies {
        let a = AgreementSummary::decode(body.as_slice()).map_err(|e| Error::Internal(e.into()))?;
        if a.resources.iter().any(|r| r.resource == resource) {
            return Ok(Some(a));
        }
    }
    Ok(None)
}

/// The operator agreement an ACTIVE developer agreement of `developer` runs under, if any.
pub async fn developer_agreement(tx: &mut Tx, developer: &str) -> Result<Option<String>, Error> {
    let did = names::parse(developer, "organizations").unwrap_or_default();
    let agreement: Option<String> = sqlx::query_scalar(
        "SELECT agreement_id FROM developer_agreements WHERE developer_id = $1 AND active LIMIT 1",
    )
    .bind(did)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(agreement.map(|id| format!("agreements/{id}")))
}

/// The resource as announced; NOT_FOUND until the registry announced it.
pub async fn resource(tx: &mut Tx, name: &str, field: &str) -> Result<ResourceSnapshot, Error> {
    let mut found = demanded(tx, &[(name.to_owned(), field.to_owned())]).await?;
    Ok(found.remove(0).snapshot)
}

/// The developer agreement `name` as the registry announced it; NOT_FOUND until it did.
pub async fn developer_agreement_named(
    tx: &mut Tx,
    name: &str,
    field: &str,
) -> Result<crate::domain::redeveloped::DeveloperAgreementFacts, Error> {
    let id = id_of(name, "developerAgreements", field)?;
    let row: Option<(Vec<u8>, bool)> =
        sqlx::query_as("SELECT body, active FROM developer_agreements WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let (body, active) = row.ok_or_else(|| Error::not_found(ErrorReason::AgreementNotFound, name))?;
    let e = pdop_proto::registry::events::v1::DeveloperAgreementSigned::decode(body.as_slice())
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(crate::domain::redeveloped::DeveloperAgreementFacts {
        name: name.to_owned(),
        developer: e.developer.map(|o| o.name).unwrap_or_default(),
        operator: e.operator.map(|o| o.name).unwrap_or_default(),
        agreement: e.agreement,
        jurisdiction: e.jurisdiction.map(|j| j.name).unwrap_or_default(),
        products: e.products,
        active,
    })
}

/// The operators of the named products, as announced (products not announced are NOT_FOUND).
pub async fn product_operators(tx: &mut Tx, products: &[String], field: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(products.len());
    for (i, name) in products.iter().enumerate() {
        let id = id_of(name, "products", &format!("{field}[{i}]"))?;
        let operator: Option<String> = sqlx::query_scalar("SELECT operator_id FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let operator = operator.ok_or_else(|| Error::not_found(ErrorReason::ProductNotFound, name))?;
        out.push(format!("organizations/{operator}"));
    }
    Ok(out)
}
