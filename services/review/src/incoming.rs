//! Read models of what the registry announces (R-RV-12: the review service never calls the registry):
//! jurisdictions (which rule profile applies), organizations (roles, credit status, display names), resources,
//! negative-list entries, agreements, products and blacklist entries. Applying an event twice leaves the same row.

use std::sync::Arc;

use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_kit::names;
use pdop_kit::uow::{self, Call};
use pdop_proto::common::OrganizationRef;
use pdop_proto::registry::events::v1 as rev;
use pdop_proto::registry::v1::ProductState;
use prost::Message;
use sqlx::{Postgres, Transaction};

use crate::context::Ctx;

type Tx = Transaction<'static, Postgres>;

/// One durable pull consumer per registry aggregate (NATS 2.9 takes one filter subject per consumer).
pub fn specs() -> Vec<ConsumerSpec> {
    [
        ("jurisdictions", "jurisdiction"),
        ("organizations", "organization"),
        ("resources", "resource"),
        ("negative-list", "negative_list_entry"),
        ("agreements", "agreement"),
        ("products", "product"),
        ("blacklist", "blacklist_entry"),
        ("developer-agreements", "developer_agreement"),
    ]
    .into_iter()
    .map(|(purpose, aggregate)| ConsumerSpec {
        durable: format!("review-{purpose}"),
        producer: "registry".to_owned(),
        filter_subject: format!("pdop.registry.{aggregate}.>"),
    })
    .chain(std::iter::once(ConsumerSpec {
        durable: "review-objections".to_owned(),
        producer: "disclosure".to_owned(),
        filter_subject: OBJECTION_FILED.to_owned(),
    }))
    .collect()
}

/// Objections to developer notices, decided here (§2.7); the registry skips them.
const OBJECTION_FILED: &str = "pdop.disclosure.objection.filed";

/// Every agreement event carries the agreement's summary as field 1, every product event the product's
/// snapshot, every resource event the resource's: one decoder per aggregate.
#[derive(Clone, PartialEq, prost::Message)]
struct First<M: prost::Message + Default + PartialEq + Clone + std::fmt::Debug> {
    #[prost(message, optional, tag = "1")]
    value: Option<M>,
}

#[derive(Clone)]
pub struct Incoming {
    pub ctx: Arc<Ctx>,
}

impl Incoming {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ctx.platform.clock.now()
    }

    async fn record(
        &self,
        tx: &mut Tx,
        call: &Call,
        changes: Vec<uow::RecordedChange>,
    ) -> Result<(), HandleError> {
        let max = self.ctx.platform.settings.outbox.max_payload;
        uow::record::<crate::domain::Error>(tx, call, changes, max).await?;
        Ok(())
    }
}

impl Handler for Incoming {
    async fn handle(&self, tx: &mut Tx, event: &IncomingEvent) -> Result<(), HandleError> {
        let payload = event.payload.clone();
        let subject = event.subject.as_str();
        if subject == OBJECTION_FILED {
            let filed = pdop_proto::disclosure::events::v1::ObjectionFiled::decode(payload)?;
            let call = Call::system("review-objections", "review.ObjectionReceived", self.now());
            let changes = crate::events::admissions::objection_filed(tx, &call, &filed).await?;
            return self.record(tx, &call, changes).await;
        }
        let Some((aggregate, fact)) = subject
            .strip_prefix("pdop.registry.")
            .and_then(|rest| rest.split_once('.'))
        else {
            return Ok(());
        };
        if pdop_kit::readmodel::apply(tx, aggregate, fact, &payload).await? {
            return Ok(());
        }
        match (aggregate, fact) {
            ("resource", _) => {
                if let Some(r) = First::<rev::ResourceSnapshot>::decode(payload)?.value {
                    upsert_resource(tx, &r).await?;
                }
            }
            ("negative_list_entry", "added") => {
                let e = rev::NegativeListEntryAdded::decode(payload)?;
                sqlx::query(
                    "INSERT INTO negative_list (id, resource_id, field_keys) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&e.name)
                .bind(id(&e.resource, "resources"))
                .bind(&e.field_keys)
                .execute(&mut **tx)
                .await?;
            }
            ("negative_list_entry", "lifted") => {
                let e = rev::NegativeListEntryLifted::decode(payload)?;
                sqlx::query("UPDATE negative_list SET lifted = true WHERE id = $1")
                    .bind(&e.name)
                    .execute(&mut **tx)
                    .await?;
            }
            ("agreement", _) => {
                if let Some(a) = First::<rev::AgreementSummary>::decode(payload)?.value {
                    upsert_agreement(tx, &a).await?;
                    let call = Call::system("review-agreements", "review.AgreementEnded", self.now());
                    let changes = crate::events::agreements::ended(tx, &call, &a).await?;
                    self.record(tx, &call, changes).await?;
                }
            }
            ("product", fact) => {
                if let Some(p) = First::<rev::ProductSnapshot>::decode(payload)?.value {
                    upsert_product(tx, &p).await?;
                    if fact == "submitted" {
                        let call = Call::system("review-products", "review.OpenProductReview", self.now());
                        let changes =
                            crate::events::products::submitted(tx, &call, &self.ctx.profiles, &p, &event.id)
                                .await?;
                        self.record(tx, &call, changes).await?;
                    }
                }
            }
            ("developer_agreement", "signed") => {
                let e = rev::DeveloperAgreementSigned::decode(payload)?;
                sqlx::query(
                    "INSERT INTO developer_agreements (id, developer_id, operator_id, agreement_id, active, body)
                     VALUES ($1, $2, $3, $4, true, $5) ON CONFLICT (id) DO NOTHING",
                )
                .bind(id(&e.name, "developerAgreements"))
                .bind(org_id(e.developer.as_ref()))
                .bind(org_id(e.operator.as_ref()))
                .bind(id(&e.agreement, "agreements"))
                .bind(e.encode_to_vec())
                .execute(&mut **tx)
                .await?;
                let call = Call::system(
                    "review-developer-agreements",
                    "review.DeveloperAgreementSigned",
                    self.now(),
                );
                let changes = crate::events::admissions::agreement_signed(tx, &call, &e).await?;
                self.record(tx, &call, changes).await?;
            }
            ("developer_agreement", "ended") => {
                let e = rev::DeveloperAgreementEnded::decode(payload)?;
                sqlx::query("UPDATE developer_agreements SET active = false WHERE id = $1")
                    .bind(id(&e.name, "developerAgreements"))
                    .execute(&mut **tx)
                    .await?;
                let call = Call::system(
                    "review-developer-agreements",
                    "review.DeveloperExited",
                    self.now(),
                );
                let changes = crate::events::admissions::agreement_ended(tx, &call, &e).await?;
                self.record(tx, &call, changes).await?;
            }
            ("blacklist_entry", "added") => {
                let e = rev::BlacklistEntryAdded::decode(payload)?;
                upsert_blacklist(tx, &e.name, e.organization.as_ref(), e.action, true).await?;
                let call = Call::system("review-blacklist", "review.DeveloperExited", self.now());
                let changes = crate::events::admissions::blacklisted(tx, &call, &e).await?;
                self.record(tx, &call, changes).await?;
            }
            ("blacklist_entry", "lifted") => {
                let e = rev::BlacklistEntryLifted::decode(payload)?;
                upsert_blacklist(tx, &e.name, e.organization.as_ref(), e.action, false).await?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn id<'a>(name: &'a str, collection: &str) -> &'a str {
    names::parse(name, collection).unwrap_or_default()
}

fn org_id(o: Option<&OrganizationRef>) -> String {
    o.map(|o| id(&o.name, "organizations").to_owned())
        .unwrap_or_default()
}

async fn upsert_resource(tx: &mut Tx, r: &rev::ResourceSnapshot) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO resources (id, provider_id, grade, state, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET provider_id = excluded.provider_id, grade = excluded.grade,
                                        state = excluded.state, body = excluded.body",
    )
    .bind(id(&r.name, "resources"))
    .bind(org_id(r.provider.as_ref()))
    .bind(i16::try_from(r.grade).unwrap_or(0))
    .bind(i16::try_from(r.state).unwrap_or(0))
    .bind(r.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_agreement(tx: &mut Tx, a: &rev::AgreementSummary) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO agreements (id, jurisdiction_id, implementing_agency_id, operator_id, state, body)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body",
    )
    .bind(id(&a.name, "agreements"))
    .bind(
        a.jurisdiction
            .as_ref()
            .map(|j| id(&j.name, "jurisdictions"))
            .unwrap_or_default(),
    )
    .bind(org_id(a.implementing_agency.as_ref()))
    .bind(org_id(a.operator.as_ref()))
    .bind(i16::try_from(a.state).unwrap_or(0))
    .bind(a.encode_to_vec())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_product(tx: &mut Tx, p: &rev::ProductSnapshot) -> Result<(), sqlx::Error> {
    // WITHDRAWN is terminal in the registry: a late event never brings a withdrawn product back.
    sqlx::query(
        "INSERT INTO products (id, operator_id, agreement_id, state, body) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body
         WHERE products.state <> $6",
    )
    .bind(id(&p.name, "products"))
    .bind(org_id(p.operator.as_ref()))
    .bind(id(&p.agreement, "agreements"))
    .bind(i16::try_from(p.state).unwrap_or(0))
    .bind(p.encode_to_vec())
    .bind(ProductState::Withdrawn as i16)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn upsert_blacklist(
    tx: &mut Tx,
    name: &str,
    o: Option<&OrganizationRef>,
    action: i32,
    active: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO blacklist (id, organization_id, action, active) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET active = excluded.active",
    )
    .bind(name)
    .bind(org_id(o))
    .bind(i16::try_from(action).unwrap_or(0))
    .bind(active)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
