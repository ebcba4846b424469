//! Events pricing consumes from the registry: jurisdictions (which rule profile applies where),
//! organizations, operator agreements and products (with their use class), kept as read models. Applying an
//! event twice leaves the same row. A withdrawn product's published caps and prices end in the same
//! transaction (`events::withdrawals`).

use chrono::{DateTime, Utc};
use pdop_kit::clock::PlatformClock;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_kit::names;
use pdop_kit::uow::{self, Call};
use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1::{
    AgreementSummary, JurisdictionCreated, JurisdictionUpdated, ProductSnapshot,
};
use pdop_proto::registry::v1::ProductState;
use prost::Message;
use sqlx::{Postgres, Transaction};

const CREATED: &str = "pdop.registry.jurisdiction.created";
const UPDATED: &str = "pdop.registry.jurisdiction.updated";

pub fn specs() -> [ConsumerSpec; 4] {
    let spec = |purpose: &str, aggregate: &str| ConsumerSpec {
        durable: format!("pricing-{purpose}"),
        producer: "registry".to_owned(),
        filter_subject: format!("pdop.registry.{aggregate}.>"),
    };
    [
        spec("jurisdictions", "jurisdiction"),
        spec("organizations", "organization"),
        spec("agreements", "agreement"),
        spec("products", "product"),
    ]
}

/// Every agreement event carries the agreement's summary as field 1, every product event the product's
/// snapshot, every organization event the organization: one decoder per aggregate.
#[derive(Clone, PartialEq, prost::Message)]
struct First<M: prost::Message + Default + PartialEq + Clone + std::fmt::Debug> {
    #[prost(message, optional, tag = "1")]
    value: Option<M>,
}

#[derive(Clone)]
pub struct Incoming {
    clock: PlatformClock,
    max_payload: usize,
}

impl Incoming {
    pub fn new(platform: &pdop_kit::Platform) -> Self {
        Self {
            clock: platform.clock.clone(),
            max_payload: platform.settings.outbox.max_payload,
        }
    }
}

impl Handler for Incoming {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        let subject = event.subject.as_str();
        let payload = event.payload.clone();
        if subject.starts_with("pdop.registry.agreement.") {
            if let Some(a) = First::<AgreementSummary>::decode(payload)?.value {
                upsert_agreement(tx, &a).await?;
            }
            return Ok(());
        }
        if subject.starts_with("pdop.registry.product.") {
            if let Some(p) = First::<ProductSnapshot>::decode(payload)?.value {
                upsert_product(tx, &p).await?;
                if p.state == ProductState::Withdrawn as i32 {
                    let call = Call::system("pricing-products", "pricing.EndPrices", self.clock.now());
                    let changes =
                        crate::events::withdrawals::end_priced(tx, &call, id(&p.name, "products")).await?;
                    uow::record::<crate::domain::Error>(tx, &call, changes, self.max_payload).await?;
                }
            }
            return Ok(());
        }
        if subject.starts_with("pdop.registry.organization.") {
            if let Some(o) = First::<OrganizationRef>::decode(payload)?.value
                && let Some(id) = names::parse(&o.name, "organizations")
            {
                sqlx::query("INSERT INTO organizations (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body")
                    .bind(id)
                    .bind(o.encode_to_vec())
                    .execute(&mut **tx)
                    .await?;
            }
            return Ok(());
        }
        let (jurisdiction, parent) = match subject {
            CREATED => {
                let e = JurisdictionCreated::decode(payload)?;
                (e.jurisdiction, e.parent)
            }
            UPDATED => {
                let e = JurisdictionUpdated::decode(payload)?;
                (e.jurisdiction, e.parent)
            }
            _ => return Ok(()),
        };
        let Some(j) = jurisdiction else { return Ok(()) };
        upsert(tx, &j, &parent, self.clock.now()).await?;
        Ok(())
    }
}

fn id<'a>(name: &'a str, collection: &str) -> &'a str {
    names::parse(name, collection).unwrap_or_default()
}

async fn upsert_agreement(
    tx: &mut Transaction<'static, Postgres>,
    a: &AgreementSummary,
) -> Result<(), sqlx::Error> {
    let org = |r: &Option<OrganizationRef>| {
        r.as_ref()
            .map(|o| id(&o.name, "organizations").to_owned())
            .unwrap_or_default()
    };
    sqlx::query(
        "INSERT INTO agreements (id, jurisdiction_id, implementing_agency_id, operator_id, state, body)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body",
    )
    .bind(id(&a.name, "agreements"))
    .bind(
        a.jurisdiction
            .as_ref()
            .map(|j| id(&j.name, "jurisdictions").to_owned())
            .unwrap_or_default(),
    )
    .bind(org(&a.implementing_agency))
    .bind(org(&a.operator))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(a.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_product(
    tx: &mut Transaction<'static, Postgres>,
    p: &ProductSnapshot,
) -> Result<(), sqlx::Error> {
    // WITHDRAWN is terminal in the registry: an event that arrives after the withdrawal never re-lists it.
    sqlx::query(
        "INSERT INTO products (id, operator_id, agreement_id, use_class, state, body) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET use_class = excluded.use_class, state = excluded.state, body = excluded.body
         WHERE products.state <> $7",
    )
    .bind(id(&p.name, "products"))
    .bind(p.operator.as_ref().map(|o| id(&o.name, "organizations").to_owned()).unwrap_or_default())
    .bind(id(&p.agreement, "agreements"))
    .bind(i16::try_from(p.use_class).unwrap_or(0))
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(ProductState::Withdrawn as i16)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a jurisdiction's profile binding and its place in the tree (`parent` empty for a root).
async fn upsert(
    tx: &mut Transaction<'static, Postgres>,
    j: &JurisdictionRef,
    parent: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let Some(id) = names::parse(&j.name, "jurisdictions") else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO jurisdictions (id, profile_id, body, update_time, parent_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, body = excluded.body,
                                        update_time = excluded.update_time, parent_id = excluded.parent_id",
    )
    .bind(id)
    .bind(&j.profile_id)
    .bind(j.encode_to_vec())
    .bind(now)
    .bind(names::parse(parent, "jurisdictions").unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use pdop_proto::{ALL_EVENTS, FILE_DESCRIPTOR_SET};
    use prost::Message;
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{DescriptorProto, FileDescriptorSet};

    fn descriptor<'a>(set: &'a FileDescriptorSet, full_name: &str) -> &'a DescriptorProto {
        set.file
            .iter()
            .flat_map(|f| f.message_type.iter().map(move |m| (f.package(), m)))
            .find(|(package, m)| format!("{package}.{}", m.name()) == full_name)
            .map(|(_, m)| m)
            .unwrap_or_else(|| panic!("{full_name} is not in the descriptor set"))
    }

    /// `First<M>` decodes field 1 of every event under a subject prefix as `M`; an event whose field 1 is
    /// something else would decode as garbage or fail. SPINE §4 pins this convention here.
    #[test]
    fn every_consumed_event_carries_the_decoded_snapshot_as_field_1() {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        for (prefix, snapshot) in [
            (
                "pdop.registry.agreement.",
                ".pdop.registry.events.v1.AgreementSummary",
            ),
            (
                "pdop.registry.product.",
                ".pdop.registry.events.v1.ProductSnapshot",
            ),
            ("pdop.registry.organization.", ".pdop.common.v1.OrganizationRef"),
        ] {
            let events: Vec<_> = ALL_EVENTS
                .iter()
                .filter(|e| e.subject.starts_with(prefix))
                .collect();
            assert!(!events.is_empty(), "no event under {prefix}");
            for event in events {
                let message = descriptor(&set, event.message);
                let field = message
                    .field
                    .iter()
                    .find(|f| f.number() == 1)
                    .unwrap_or_else(|| panic!("{} has no field 1", event.message));
                assert_eq!(
                    (field.r#type(), field.label(), field.type_name()),
                    (Type::Message, Label::Optional, snapshot),
                    "{} ({}): field 1 `{}` is not a single {snapshot}",
                    event.message,
                    event.subject,
                    field.name()
                );
            }
        }
    }
}
