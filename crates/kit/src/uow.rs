//! The unit of work of a mutating call (`design/SPINE.md` §2). A handler parses and authorizes, then hands
//! [`Platform::mutate`] a body that reads, decides and writes inside the transaction it is lent. The kit alone
//! begins, replays an earlier response to the same `request_id`, appends the audit row and enqueues the event of
//! each change, stores the response, commits and wakes the outbox relay, always in that order. A body cannot
//! commit, skip the audit row or enqueue outside the transaction: the API has no way to say it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use pdop_proto::Event;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};

use crate::audit::{self, AuditRecord};
use crate::auth::Caller;
use crate::events::{self, OutgoingEvent};
use crate::{Platform, idempotency};

/// The transaction a body is lent.
pub type Tx = Transaction<'static, Postgres>;

/// One call into the service, as the unit of work sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// From the auth layer; [`Caller::public`] without a token; [`Caller::system`] for jobs and consumers.
    pub caller: Caller,
    /// `<service>.<Rpc>` (`registry.RefuseRegistration`): the audit action and part of the idempotency key.
    pub method: Arc<str>,
    /// AIP-155 request id; empty means no replay.
    pub request_id: String,
    /// Read once from the platform clock: every time with domain meaning in this call is this one.
    pub now: DateTime<Utc>,
    /// SHA-256 of the encoded request, so a request id reused for another request is refused.
    fingerprint: Vec<u8>,
}

impl Call {
    pub fn new(caller: Caller, method: impl Into<Arc<str>>, now: DateTime<Utc>) -> Self {
        Self {
            caller,
            method: method.into(),
            request_id: String::new(),
            now,
            fingerprint: Vec::new(),
        }
    }

    /// A call made by the service itself (a scheduler, a consumer), audited as `service:<name>`.
    pub fn system(name: &str, method: impl Into<Arc<str>>, now: DateTime<Utc>) -> Self {
        Self::new(Caller::system(name), method, now)
    }

    /// Makes the call idempotent under `request_id` (AIP-155) for exactly this `request`.
    pub fn with_request<M: prost::Message>(mut self, request_id: &str, request: &M) -> Self {
        self.request_id = request_id.to_owned();
        self.fingerprint = if request_id.is_empty() {
            Vec::new()
        } else {
            Sha256::digest(request.encode_to_vec()).to_vec()
        };
        self
    }

    /// Today's date in China (Asia/Shanghai), at the call's `now`.
    pub fn today(&self) -> NaiveDate {
        crate::clock::china_date(self.now)
    }
}

/// What the kit refuses on its own, whatever the service: each service's error converts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// AIP-155: the id names an earlier request with another body (THREATS M1, L9).
    #[error("request_id {request_id} was already used for a different request; use a new request_id")]
    RequestIdReused { request_id: String },
    /// THREATS H1: an event larger than the event stream takes would block every later event.
    #[error(
        "the change is too large to announce: its {subject} event would be {size} bytes, over the limit of {limit}"
    )]
    EventTooLarge {
        subject: String,
        size: usize,
        limit: usize,
    },
}

/// A change that announces nothing (a private draft, say): `Change<Quiet>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {}

/// What may ride on a [`Change`]: an event of the contract, or nothing.
pub trait Announcement: Send + 'static {
    fn outgoing(&self, resource: &str) -> OutgoingEvent;
}

impl<E: Event> Announcement for E {
    fn outgoing(&self, resource: &str) -> OutgoingEvent {
        OutgoingEvent {
            subject: E::SUBJECT.to_owned(),
            ce_type: E::TYPE.to_owned(),
            ce_subject: resource.to_owned(),
            payload: self.encode_to_vec(),
        }
    }
}

impl Announcement for Quiet {
    fn outgoing(&self, _resource: &str) -> OutgoingEvent {
        match *self {}
    }
}

/// What a decision did to one resource: its audit detail and, when the fact is public, its event.
#[derive(Debug, Clone)]
pub struct Change<E = Quiet> {
    resource: String,
    audit: serde_json::Value,
    event: Option<E>,
    action: Option<String>,
}

impl<E> Change<E> {
    /// A change to `resource`, audited with `audit` (never personal data: identity numbers, contacts).
    pub fn new(resource: impl Into<String>, audit: serde_json::Value) -> Self {
        Self {
            resource: resource.into(),
            audit,
            event: None,
            action: None,
        }
    }

    /// Audits the change under `action` instead of the call's method: a side effect that has always been
    /// audited under its own action (a product listed because its registration was coded, say).
    pub fn audited_as(mut self, action: &str) -> Self {
        self.action = Some(action.to_owned());
        self
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn audit(&self) -> &serde_json::Value {
        &self.audit
    }

    /// The event this change announces, if any.
    pub fn event(&self) -> Option<&E> {
        self.event.as_ref()
    }
}

impl<E: Announcement> Change<E> {
    /// The response and this change, to be recorded by the kit.
    pub fn into_write<R>(self, response: R) -> Write<R> {
        Write::new(response).and(self)
    }

    /// The change with its event encoded: subject and payload are fixed here.
    pub fn recorded(self) -> RecordedChange {
        let event = self.event.as_ref().map(|e| e.outgoing(&self.resource));
        RecordedChange {
            resource: self.resource,
            audit: self.audit,
            event,
            action: self.action,
        }
    }
}

impl<E: Event> Change<E> {
    /// Announces the change with `event`, published once the transaction commits.
    pub fn announce(mut self, event: E) -> Self {
        self.event = Some(event);
        self
    }
}

/// A change ready to be recorded: audit detail and, if any, the encoded event.
#[derive(Debug, Clone)]
pub struct RecordedChange {
    resource: String,
    audit: serde_json::Value,
    event: Option<OutgoingEvent>,
    action: Option<String>,
}

/// The outcome of a mutating body: the response and the changes, recorded in order.
#[derive(Debug, Clone)]
pub struct Write<R> {
    response: R,
    changes: Vec<RecordedChange>,
}

impl<R> Write<R> {
    /// A response with no change yet.
    pub fn new(response: R) -> Self {
        Self {
            response,
            changes: Vec::new(),
        }
    }

    /// Adds another change (a review that also cancels the original, say).
    pub fn and<E: Announcement>(mut self, change: Change<E>) -> Self {
        self.changes.push(change.recorded());
        self
    }
}

/// What the kit lends the body: the transaction, the call and the service state.
pub struct Uow<'c, S> {
    pub tx: &'c mut Tx,
    pub call: &'c Call,
    pub state: &'c S,
}

/// Appends the audit row of each change and enqueues its event (step 4 of [`Platform::mutate`]), for consumers
/// that already run inside a transaction of the kit's. Returns whether any event was enqueued.
pub async fn record<E>(
    tx: &mut Tx,
    call: &Call,
    changes: Vec<RecordedChange>,
    max_payload: usize,
) -> Result<bool, E>
where
    E: From<sqlx::Error> + From<Refusal>,
{
    let mut announced = false;
    for change in changes {
        if let Some(event) = &change.event {
            check_size(event, max_payload)?;
        }
        audit::append(
            tx,
            AuditRecord {
                actor: &call.caller.subject,
                actor_org: &call.caller.organization,
                action: change.action.as_deref().unwrap_or(&call.method),
                resource: &change.resource,
                detail: change.audit,
            },
        )
        .await?;
        if let Some(event) = change.event {
            // Dated by the call's clock, so consumers date the fact as the service did.
            events::enqueue_at(tx, event, call.now).await?;
            announced = true;
        }
    }
    Ok(announced)
}

/// Refuses an event the event stream would refuse, before it can sit in the outbox holding back the others.
pub fn check_size(event: &OutgoingEvent, max_payload: usize) -> Result<(), Refusal> {
    if event.payload.len() > max_payload {
        return Err(Refusal::EventTooLarge {
            subject: event.subject.clone(),
            size: event.payload.len(),
            limit: max_payload,
        });
    }
    Ok(())
}

impl Platform {
    /// Runs one mutating call as a unit of work (`design/SPINE.md` §2.3): begin; return the stored response of an
    /// earlier identical request with the same `request_id`; run `body`; record each change (audit row, then
    /// event); store the response; commit; wake the outbox relay. Any error rolls everything back and is returned
    /// unchanged.
    pub async fn mutate<S, R, E, F>(&self, state: &S, call: Call, body: F) -> Result<R, E>
    where
        S: Sync,
        R: prost::Message + Default,
        E: From<sqlx::Error> + From<anyhow::Error> + From<Refusal>,
        F: for<'c> FnOnce(Uow<'c, S>) -> BoxFuture<'c, Result<Write<R>, E>>,
    {
        let mut tx = self.pool.begin().await?;
        if let Some(stored) = self.replay::<R, E>(&mut *tx, &call).await? {
            tx.rollback().await?;
            return Ok(stored);
        }
        let outcome = body(Uow {
            tx: &mut tx,
            call: &call,
            state,
        })
        .await;
        let write = match outcome {
            Ok(write) => write,
            Err(err) => {
                drop(tx);
                // A concurrent duplicate may have committed first and made this body fail (a unique name, say).
                return match self.replay::<R, E>(&self.pool, &call).await? {
                    Some(stored) => Ok(stored),
                    None => Err(err),
                };
            }
        };
        let announced = record::<E>(&mut tx, &call, write.changes, self.settings.outbox.max_payload).await?;
        if !call.request_id.is_empty()
            && !idempotency::remember_once(
                &mut tx,
                &call.method,
                &call.request_id,
                &call.caller.subject,
                &call.fingerprint,
                &write.response,
            )
            .await?
        {
            // A concurrent duplicate stored its response first (the insert waited for it to commit): answer that.
            drop(tx);
            return match self.replay::<R, E>(&self.pool, &call).await? {
                Some(stored) => Ok(stored),
                None => Err(anyhow::anyhow!("a stored response to {} vanished", call.request_id).into()),
            };
        }
        let committed = tx.commit().await;
        if announced {
            // Also when the commit's outcome is unknown: a needless round costs the relay one query.
            self.outbox_waker.wake();
        }
        committed?;
        Ok(write.response)
    }

    /// The stored response to an earlier identical request under `call.request_id`; a different request under the
    /// same id is refused.
    async fn replay<'e, R, E>(&self, db: impl sqlx::PgExecutor<'e>, call: &Call) -> Result<Option<R>, E>
    where
        R: prost::Message + Default,
        E: From<sqlx::Error> + From<anyhow::Error> + From<Refusal>,
    {
        if call.request_id.is_empty() {
            return Ok(None);
        }
        let Some(stored) =
            idempotency::lookup_stored(db, &call.method, &call.request_id, &call.caller.subject).await?
        else {
            return Ok(None);
        };
        if !stored.matches(&call.fingerprint) {
            return Err(Refusal::RequestIdReused {
                request_id: call.request_id.clone(),
            }
            .into());
        }
        let response = R::decode(stored.response.as_slice())
            .map_err(|e| anyhow::anyhow!("the stored response to {} is unreadable: {e}", call.request_id))?;
        Ok(Some(response))
    }
}

/// The shorthand `state.mutate(call, body)` for a service state that holds its platform.
pub trait Mutate: AsRef<Platform> + Sync + Sized {
    fn mutate<R, E, F>(&self, call: Call, body: F) -> impl Future<Output = Result<R, E>> + Send
    where
        R: prost::Message + Default,
        E: From<sqlx::Error> + From<anyhow::Error> + From<Refusal> + Send,
        F: for<'c> FnOnce(Uow<'c, Self>) -> BoxFuture<'c, Result<Write<R>, E>> + Send,
    {
        self.as_ref().mutate(self, call, body)
    }
}

impl<T: AsRef<Platform> + Sync> Mutate for T {}

impl AsRef<Platform> for Platform {
    fn as_ref(&self) -> &Platform {
        self
    }
}

impl Call {
    /// The call a request makes, as the auth layer admitted it: its caller ([`Caller::public`] without a token),
    /// its action, and `now` read once from the platform clock.
    pub fn of<T>(platform: &Platform, request: &tonic::Request<T>) -> Result<Call, tonic::Status> {
        let Some(crate::auth::Action(method)) = request.extensions().get::<crate::auth::Action>() else {
            return Err(platform.errors.internal(&anyhow::anyhow!(
                "a request reached its handler without the auth layer's action"
            )));
        };
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::public);
        Ok(Call::new(caller, method.clone(), platform.clock.now()))
    }
}
