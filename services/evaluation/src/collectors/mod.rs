//! Evidence collectors (REVIEW-EVALUATION §3.5, §3.9): durable consumers of the other services' events, one filter
//! subject each (NATS 2.9 takes one per consumer). Each event becomes one immutable record per organization it
//! concerns, dated by the fact in Asia/Shanghai; the inbox and the unique (source event, organization) key make a
//! redelivery record nothing. Consuming never asks the producer to act.

mod facts;

use std::sync::Arc;

use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_kit::uow::{self, Call, Change};
use pdop_proto::Event;
use pdop_proto::disclosure::events::v1 as dev;
use pdop_proto::pricing::events::v1 as pev;
use pdop_proto::registry::events::v1 as rev;
use pdop_proto::review::events::v1 as vev;
use sqlx::{Postgres, Transaction};

use crate::context::Ctx;
use crate::domain::evidence::{self, COLLECTION, Fact, Source};
use crate::storage::{self, evidence as records};

type Tx = Transaction<'static, Postgres>;

/// Every agreement fact reaches the agreement-action collector, which keeps suspensions, resumptions and
/// terminations.
const AGREEMENT_FACTS: &str = "pdop.registry.agreement.>";

/// (durable purpose, contract subject) of every collector.
const COLLECTORS: [(&str, &str); 13] = [
    ("incidents", rev::SecurityIncidentRecorded::SUBJECT),
    ("obligations-missed", rev::DeadlineMissed::SUBJECT),
    ("agreement-actions", AGREEMENT_FACTS),
    ("blacklist-entries", rev::BlacklistEntryAdded::SUBJECT),
    ("listings", rev::ProductListed::SUBJECT),
    ("registrations", rev::RegistrationCoded::SUBJECT),
    ("review-deadlines", vev::ReviewDeadlineMissed::SUBJECT),
    ("data-checks", vev::DataQualityCheckResponded::SUBJECT),
    ("scenarios", vev::ScenarioApproved::SUBJECT),
    ("data-uses", vev::DataUseApproved::SUBJECT),
    ("admissions", vev::DeveloperAdmitted::SUBJECT),
    ("annual-checks", pev::AnnualCheckCompleted::SUBJECT),
    ("disclosures", dev::EntryPublished::SUBJECT),
];

/// One collector per consumer, named by its durable (`evaluation-<purpose>`), which is also the service account
/// its records are audited under.
pub fn collectors(ctx: &Arc<Ctx>) -> Vec<(ConsumerSpec, Collector)> {
    COLLECTORS
        .iter()
        .map(|(purpose, subject)| {
            let durable = format!("evaluation-{purpose}");
            let spec = ConsumerSpec {
                durable: durable.clone(),
                producer: pdop_kit::events::service_of(subject)
                    .unwrap_or_default()
                    .to_owned(),
                filter_subject: (*subject).to_owned(),
            };
            let collector = Collector {
                ctx: ctx.clone(),
                durable,
            };
            (spec, collector)
        })
        .collect()
}

#[derive(Clone)]
pub struct Collector {
    ctx: Arc<Ctx>,
    durable: String,
}

/// The facts of `event` decoded as `E`, by `read`.
fn of<E: Event>(event: &IncomingEvent, read: fn(&E) -> Vec<Fact>) -> Result<Vec<Fact>, HandleError> {
    Ok(read(&event.decode::<E>()?))
}

impl Handler for Collector {
    async fn handle(&self, tx: &mut Tx, event: &IncomingEvent) -> Result<(), HandleError> {
        let facts = match event.subject.as_str() {
            rev::SecurityIncidentRecorded::SUBJECT => of(event, facts::incident)?,
            rev::DeadlineMissed::SUBJECT => of(event, facts::obligation_missed)?,
            rev::AgreementSuspended::SUBJECT => of(event, facts::agreement_suspended)?,
            rev::AgreementResumed::SUBJECT => of(event, facts::agreement_resumed)?,
            rev::AgreementTerminated::SUBJECT => of(event, facts::agreement_terminated)?,
            rev::BlacklistEntryAdded::SUBJECT => of(event, facts::blacklisted)?,
            rev::ProductListed::SUBJECT => listed(tx, event).await?,
            rev::RegistrationCoded::SUBJECT => of(event, facts::coded)?,
            vev::ReviewDeadlineMissed::SUBJECT => of(event, facts::review_missed)?,
            vev::DataQualityCheckResponded::SUBJECT => of(event, facts::data_check_responded)?,
            vev::ScenarioApproved::SUBJECT => of(event, facts::scenario_approved)?,
            vev::DataUseApproved::SUBJECT => of(event, facts::data_use_approved)?,
            vev::DeveloperAdmitted::SUBJECT => of(event, facts::developer_admitted)?,
            pev::AnnualCheckCompleted::SUBJECT => of(event, facts::annual_check)?,
            dev::EntryPublished::SUBJECT => of(event, facts::disclosed)?,
            _ => return Ok(()),
        };
        self.record(tx, event, facts).await
    }
}

/// A listing concerns the providers of the product's resources, which the resource read model knows; one it does
/// not know yet is waited for (retried), so no provider is left out.
async fn listed(tx: &mut Tx, event: &IncomingEvent) -> Result<Vec<Fact>, HandleError> {
    let e = event.decode::<rev::ProductListed>()?;
    let resources = e
        .product
        .as_ref()
        .map(|p| p.source_resources.clone())
        .unwrap_or_default();
    let providers = records::providers(tx, &resources).await?;
    if let Some(unknown) = resources.iter().find(|r| !providers.contains_key(*r)) {
        return Err(HandleError::Transient(anyhow::anyhow!(
            "{unknown} of {} has not been announced yet",
            event.ce_subject
        )));
    }
    Ok(facts::listed(&e, &providers))
}

impl Collector {
    /// Records each fact once, in the organization's jurisdiction (as the registry announced it, else as the event
    /// names it), with an audit row under the collector's service account.
    async fn record(&self, tx: &mut Tx, event: &IncomingEvent, facts: Vec<Fact>) -> Result<(), HandleError> {
        let now = self.ctx.platform.clock.now();
        let call = Call::system(&self.durable, "evaluation.CollectEvidence", now);
        let source = Source {
            event_type: event.ce_type.clone(),
            event_id: event.id.clone(),
            subject: event.ce_subject.clone(),
            time: event.time.unwrap_or(now),
        };
        let mut changes = Vec::new();
        for fact in facts {
            let known = storage::facts::jurisdiction_of(tx, &fact.organization).await?;
            let Some(jurisdiction) = known.or_else(|| fact.jurisdiction.clone()) else {
                return Err(HandleError::Transient(anyhow::anyhow!(
                    "{} has not been announced yet",
                    fact.organization
                )));
            };
            let name = format!("{COLLECTION}/{}", storage::new_id());
            let record = evidence::collected(name, fact, jurisdiction, &source, &call);
            if records::insert(tx, &record, now).await?.is_some() {
                let change: Change = Change::new(&record.name, evidence::audit_detail(&record));
                changes.push(change.recorded());
            }
        }
        let max = self.ctx.platform.settings.outbox.max_payload;
        uow::record::<crate::domain::Error>(tx, &call, changes, max).await?;
        Ok(())
    }
}
