//! The consumers that turn the other services' public facts into entries (routes.rs), at most once per source
//! event: the kit's inbox drops a redelivery, and the log refuses a second entry for one event id.

use std::sync::Arc;

use pdop_kit::events::{ConsumerSpec, HandleError, Handler, IncomingEvent};
use pdop_proto::disclosure::v1::{EntryBody, EntrySource};
use prost_reflect::DynamicMessage;
use sqlx::{Postgres, Transaction};

use crate::log::{self, Draft};
use crate::tree_heads::LogContext;
use crate::{jurisdictions, leaf, notices, outcomes, render, routes};

pub const PRODUCERS: [&str; 4] = ["registry", "review", "pricing", "evaluation"];

pub fn specs() -> Vec<ConsumerSpec> {
    PRODUCERS
        .iter()
        .map(|producer| ConsumerSpec {
            durable: format!("disclosure-{producer}"),
            producer: (*producer).to_owned(),
            filter_subject: String::new(),
        })
        .collect()
}

pub struct Incoming {
    pub log: Arc<LogContext>,
    pub clock: pdop_kit::clock::PlatformClock,
}

/// The entry a routed event becomes.
pub fn draft(route: &routes::Route, event: &IncomingEvent, payload: &DynamicMessage) -> Draft {
    let rendered = render::render(payload, route.fields);
    let title = match &rendered.display {
        Some(display) => format!("{}：{}", route.title, display),
        None => route.title.to_owned(),
    };
    let lines: Vec<String> = rendered
        .fields
        .iter()
        .map(|f| format!("{}：{}", f.label, render::shown(f)))
        .collect();
    let subject = if event.ce_subject.is_empty() {
        rendered
            .fields
            .iter()
            .find(|f| f.key == "name")
            .map(|f| f.value.clone())
            .unwrap_or_default()
    } else {
        event.ce_subject.clone()
    };
    Draft {
        kind: route.kind,
        jurisdiction: rendered.jurisdiction,
        subject,
        discloser: render::organization(payload, route.discloser),
        body: EntryBody {
            text: format!("{title}\n\n{}", lines.join("\n")),
            fields: rendered.fields,
            attachments: Vec::new(),
        },
        title,
        source: EntrySource {
            service: pdop_kit::events::service_of(&event.subject)
                .unwrap_or_default()
                .to_owned(),
            event_id: event.id.clone(),
            event_type: event.ce_type.clone(),
            ..Default::default()
        },
        ..Default::default()
    }
}

impl Handler for Incoming {
    async fn handle(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        event: &IncomingEvent,
    ) -> Result<(), HandleError> {
        jurisdictions::learn(tx, event).await?;
        let Some(route) = routes::find(&event.subject) else {
            return Ok(());
        };
        let descriptor = leaf::pool().get_message_by_name(route.message).ok_or_else(|| {
            HandleError::Permanent(anyhow::anyhow!("{} is not a known message", route.message))
        })?;
        let payload = DynamicMessage::decode(descriptor, event.payload.as_ref())
            .map_err(|e| HandleError::Permanent(e.into()))?;
        if !route.applies(&payload) {
            return Ok(());
        }
        let now = self.clock.now();
        let appended = log::append(tx, draft(route, event, &payload), now)
            .await
            .map_err(HandleError::Transient)?;
        if let Some(entry) = appended {
            let service = pdop_kit::events::service_of(&event.subject).unwrap_or_default();
            notices::open(tx, &entry, &payload, service, now)
                .await
                .map_err(HandleError::Permanent)?;
            outcomes::decided(tx, &entry, &payload, now)
                .await
                .map_err(HandleError::Transient)?;
            tracing::info!(sequence = entry.sequence, subject = %event.subject, "disclosure entry appended");
            self.log.appended.notify_one();
        }
        Ok(())
    }
}
