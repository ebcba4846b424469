//! Events pricing consumes from the registry: jurisdictions (which rule profile applies where). Applying an
//! event twice leaves the same row.

use chrono::Utc;
use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_proto::common::JurisdictionRef;
use pdop_proto::registry::events::v1::{JurisdictionCreated, JurisdictionUpdated};
use prost::Message;
use sqlx::{Postgres, Transaction};

const CREATED: &str = "pdop.registry.jurisdiction.created";
const UPDATED: &str = "pdop.registry.jurisdiction.updated";

pub fn specs() -> [ConsumerSpec; 1] {
    [ConsumerSpec {
        durable: "pricing-jurisdictions".to_owned(),
        producer: "registry".to_owned(),
        filter_subject: "pdop.registry.jurisdiction.>".to_owned(),
    }]
}

#[derive(Clone)]
pub struct Incoming;

impl Handler for Incoming {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        let jurisdiction = match event.subject.as_str() {
            CREATED => JurisdictionCreated::decode(event.payload.clone())?.jurisdiction,
            UPDATED => JurisdictionUpdated::decode(event.payload.clone())?.jurisdiction,
            _ => return Ok(()),
        };
        let Some(j) = jurisdiction else { return Ok(()) };
        upsert(tx, &j).await?;
        Ok(())
    }
}

async fn upsert(tx: &mut Transaction<'static, Postgres>, j: &JurisdictionRef) -> Result<(), sqlx::Error> {
    let Some(id) = pdop_kit::names::parse(&j.name, "jurisdictions") else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO jurisdictions (id, profile_id, body, update_time) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET profile_id = excluded.profile_id, body = excluded.body,
                                        update_time = excluded.update_time",
    )
    .bind(id)
    .bind(&j.profile_id)
    .bind(j.encode_to_vec())
    .bind(Utc::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
