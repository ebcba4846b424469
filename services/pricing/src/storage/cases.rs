//! The pricing cases caps and prices belong to: read, locked, and moved to IN_EFFECT by a first cap.

use chrono::{DateTime, Utc};
use pdop_proto::common::OrganizationRef;
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::PricingCase;
use prost::Message;

use pdop_kit::handling::Stored;
use pdop_kit::scope::Ancestry;

use super::{Tx, check_etag, fetch, id_of};
use crate::domain::{Error, ErrorReason};

pub const COLLECTION: &str = "pricingCases";

crate::rows::body_row!(PricingCase, "pricing_cases", COLLECTION, "PRICING_CASE_NOT_FOUND");

/// The case `name` (`field` names it in a malformed-name error), locked for the change when `lock`.
pub async fn get(tx: &mut Tx, name: &str, field: &str, lock: bool) -> Result<PricingCase, Error> {
    let id = id_of(name, COLLECTION, field)?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::PricingCaseNotFound, lock).await?;
    Ok(row.to_proto())
}

/// The case `name`, locked for an update that read it at `etag` (empty: any version).
pub async fn lock(tx: &mut Tx, name: &str, etag: &str) -> Result<PricingCase, Error> {
    let id = id_of(name, COLLECTION, "pricing_case.name")?;
    let row: Row = fetch(&mut **tx, id, name, ErrorReason::PricingCaseNotFound, true).await?;
    check_etag(etag, row.version(), name)?;
    Ok(row.to_proto())
}

/// The case's jurisdiction and its ancestors, for the scope check (THREATS H2).
pub async fn ancestry(tx: &mut Tx, c: &PricingCase) -> Result<Ancestry, Error> {
    Ok(pdop_kit::scope::ancestry(&mut **tx, &c.jurisdiction).await?)
}

/// NOT_FOUND (ORGANIZATION_NOT_FOUND) when the registry never announced the organization `name`.
pub async fn require_organization(tx: &mut Tx, name: &str, field: &str) -> Result<(), Error> {
    let id = id_of(name, "organizations", field)?;
    let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM organizations WHERE id = $1)")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if known {
        Ok(())
    } else {
        Err(Error::not_found(ErrorReason::OrganizationNotFound, name))
    }
}

/// As [`get`], read from the pool with no transaction.
pub async fn read(pool: &sqlx::PgPool, name: &str, field: &str) -> Result<PricingCase, Error> {
    let id = id_of(name, COLLECTION, field)?;
    let row: Row = fetch(pool, id, name, ErrorReason::PricingCaseNotFound, false).await?;
    Ok(row.to_proto())
}

/// Writes the case's state and body back.
pub async fn save(tx: &mut Tx, c: &PricingCase, now: DateTime<Utc>) -> Result<PricingCase, Error> {
    let id = id_of(&c.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!(
        "UPDATE pricing_cases SET state = $2, body = $3, update_time = $4, version = version + 1
         WHERE id = $1 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(i16::try_from(c.state).unwrap_or(0))
    .bind(c.encode_to_vec())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.to_proto())
}

/// The event view of a case, with its organizations as the registry announced them (a name alone when one is
/// not known).
pub async fn summary(tx: &mut Tx, c: &PricingCase) -> Result<ev::PricingCaseSummary, Error> {
    let mut refs = Vec::new();
    for name in [
        &c.authorizing_entity,
        &c.operator,
        &c.pricing_authority,
        &c.data_authority,
    ] {
        let id = pdop_kit::names::parse(name, "organizations").unwrap_or_default();
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        refs.push(
            body.and_then(|b| OrganizationRef::decode(b.as_slice()).ok())
                .unwrap_or_else(|| OrganizationRef {
                    name: name.clone(),
                    ..Default::default()
                }),
        );
    }
    let mut refs = refs.into_iter();
    Ok(ev::PricingCaseSummary {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        jurisdiction: Some(pdop_proto::common::JurisdictionRef {
            name: c.jurisdiction.clone(),
            ..Default::default()
        }),
        authorizing_entity: refs.next(),
        operator: refs.next(),
        agreement: c.agreement.clone(),
        pricing_authority: refs.next(),
        data_authority: refs.next(),
        catalogue: c.catalogue,
        pricing_period: c.pricing_period,
        state: c.state,
    })
}
