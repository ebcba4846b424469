//! Read models of what the registry announces (the evaluation service never calls it): jurisdictions (which rule
//! profile applies), organizations (roles, display names), operator agreements and developer agreements (who was
//! active when) and resources (their provider). Applying an event twice leaves the same row.

use chrono::NaiveDate;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_kit::names;
use pdop_proto::registry::events::v1 as rev;
use pdop_proto::registry::v1::AgreementState;
use prost::Message;
use sqlx::{Postgres, Transaction};

type Tx = Transaction<'static, Postgres>;

/// One durable pull consumer per registry aggregate (NATS 2.9 takes one filter subject per consumer).
pub fn specs() -> Vec<ConsumerSpec> {
    [
        ("jurisdictions", "jurisdiction"),
        ("organizations", "organization"),
        ("agreements", "agreement"),
        ("developer-agreements", "developer_agreement"),
        ("resources", "resource"),
    ]
    .into_iter()
    .map(|(purpose, aggregate)| ConsumerSpec {
        durable: format!("evaluation-{purpose}"),
        producer: "registry".to_owned(),
        filter_subject: format!("pdop.registry.{aggregate}.>"),
    })
    .collect()
}

/// Every agreement event carries the agreement's summary as field 1, every resource event the resource's.
#[derive(Clone, PartialEq, prost::Message)]
struct First<M: prost::Message + Default + PartialEq + Clone + std::fmt::Debug> {
    #[prost(message, optional, tag = "1")]
    value: Option<M>,
}

#[derive(Clone)]
pub struct Incoming;

impl Handler for Incoming {
    async fn handle(&self, tx: &mut Tx, event: &IncomingEvent) -> Result<(), HandleError> {
        let payload = event.payload.clone();
        let Some((aggregate, fact)) = event
            .subject
            .strip_prefix("pdop.registry.")
            .and_then(|rest| rest.split_once('.'))
        else {
            return Ok(());
        };
        let day = event.time.map(pdop_kit::clock::china_date);
        if pdop_kit::readmodel::apply(tx, aggregate, fact, &payload).await? {
            return Ok(());
        }
        match (aggregate, fact) {
            ("agreement", _) => {
                if let Some(a) = First::<rev::AgreementSummary>::decode(payload)?.value {
                    upsert_agreement(tx, &a, day).await?;
                }
            }
            ("developer_agreement", "signed") => {
                let e = rev::DeveloperAgreementSigned::decode(payload)?;
                developer_agreement_signed(tx, &e).await?;
            }
            ("developer_agreement", "ended") => {
                let e = rev::DeveloperAgreementEnded::decode(payload)?;
                sqlx::query(
                    "UPDATE developer_agreements SET ended = true,
                         active_until = LEAST(active_until, COALESCE($2, active_until)) WHERE id = $1",
                )
                .bind(id(&e.name, "developerAgreements"))
                .bind(day)
                .execute(&mut **tx)
                .await?;
            }
            ("resource", _) => {
                if let Some(r) = First::<rev::ResourceSnapshot>::decode(payload)?.value {
                    sqlx::query(
                        "INSERT INTO resources (id, provider_id) VALUES ($1, $2)
                         ON CONFLICT (id) DO UPDATE SET provider_id = excluded.provider_id",
                    )
                    .bind(id(&r.name, "resources"))
                    .bind(org_id(r.provider.as_ref()))
                    .execute(&mut **tx)
                    .await?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn id(name: &str, collection: &str) -> String {
    names::parse(name, collection).unwrap_or_default().to_owned()
}

fn org_id(o: Option<&pdop_proto::common::OrganizationRef>) -> String {
    o.map(|o| id(&o.name, "organizations")).unwrap_or_default()
}

fn term(range: Option<&pdop_proto::common::DateRange>) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let day = |d: Option<&pdop_proto::common::Date>| d.and_then(pdop_kit::convert::naive_date);
    range.map_or((None, None), |r| {
        (day(r.start_date.as_ref()), day(r.end_date.as_ref()))
    })
}

/// An agreement's days in force are its term, cut short on the day it is terminated or expires.
async fn upsert_agreement(
    tx: &mut Tx,
    a: &rev::AgreementSummary,
    day: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    let state = AgreementState::try_from(a.state).unwrap_or_default();
    let activated = matches!(state, AgreementState::Active | AgreementState::Suspended);
    let ended = matches!(state, AgreementState::Terminated | AgreementState::Expired);
    let (from, until) = term(a.term.as_ref());
    let until = match (ended, day, until) {
        (true, Some(day), Some(until)) => Some(day.min(until)),
        (true, Some(day), None) => Some(day),
        _ => until,
    };
    sqlx::query(
        "INSERT INTO agreements (id, jurisdiction_id, implementing_agency_id, operator_id, state, activated,
                                 active_from, active_until, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO UPDATE SET jurisdiction_id = excluded.jurisdiction_id,
             implementing_agency_id = excluded.implementing_agency_id, operator_id = excluded.operator_id,
             state = excluded.state, activated = agreements.activated OR excluded.activated,
             active_from = excluded.active_from,
             active_until = CASE WHEN $10 THEN LEAST(agreements.active_until, excluded.active_until)
                                 ELSE excluded.active_until END,
             body = excluded.body",
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
    .bind(activated)
    .bind(from)
    .bind(until)
    .bind(a.encode_to_vec())
    .bind(ended)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn developer_agreement_signed(
    tx: &mut Tx,
    e: &rev::DeveloperAgreementSigned,
) -> Result<(), sqlx::Error> {
    let (from, until) = term(e.term.as_ref());
    sqlx::query(
        "INSERT INTO developer_agreements (id, jurisdiction_id, operator_id, developer_id, agreement_id,
                                           active_from, active_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id(&e.name, "developerAgreements"))
    .bind(
        e.jurisdiction
            .as_ref()
            .map(|j| id(&j.name, "jurisdictions"))
            .unwrap_or_default(),
    )
    .bind(org_id(e.operator.as_ref()))
    .bind(org_id(e.developer.as_ref()))
    .bind(id(&e.agreement, "agreements"))
    .bind(from)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
