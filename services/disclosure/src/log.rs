//! Appending to the log and reading its tree. An append takes the log's single-row lock, so sequences are
//! dense and each leaf's new complete-subtree nodes are written in the same transaction as the entry.

use chrono::{DateTime, SubsecRound, Utc};
use pdop_kit::convert::timestamp;
use pdop_kit::events::{OutgoingEvent, enqueue_at};
use pdop_merkle::{Hash, NodeId, append_plan, leaf_hash};
use pdop_proto::common::{Deadline, JurisdictionRef, OrganizationRef};
use pdop_proto::disclosure::events::v1::EntryPublished;
use pdop_proto::disclosure::v1::{Correction, Entry, EntryBody, EntryKind, EntrySource};
use prost::Message;
use sqlx::{Executor, Postgres, Transaction};

use crate::leaf;

/// An entry before it has a place in the log.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub kind: EntryKind,
    pub jurisdiction: Option<JurisdictionRef>,
    pub subject: String,
    pub discloser: Option<OrganizationRef>,
    pub title: String,
    pub body: EntryBody,
    pub source: EntrySource,
    pub correction: Option<Correction>,
    pub related_entries: Vec<String>,
    pub due: Option<Deadline>,
    pub late: bool,
}

fn id_of(name: &str, collection: &str) -> String {
    pdop_kit::names::parse(name, collection)
        .unwrap_or_default()
        .to_owned()
}

/// The stored row of an entry.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub sequence: i64,
    pub leaf_input: Vec<u8>,
    pub leaf_hash: Vec<u8>,
    pub body: Vec<u8>,
    /// Later corrections of this entry, derived from their `corrects`.
    pub corrected_by: Vec<i64>,
    pub retracted: bool,
    /// The id of the notice this entry opened, if it opened one.
    pub notice_id: Option<String>,
}

/// Columns of `entries` (unaliased in the query) with the annotations derived from later corrections and from
/// the notice the entry opened.
pub const COLUMNS: &str = "entries.sequence, entries.leaf_input, entries.leaf_hash, entries.body,
    ARRAY(SELECT c.sequence FROM entries c WHERE c.corrects = entries.sequence ORDER BY c.sequence) AS corrected_by,
    EXISTS (SELECT 1 FROM entries c WHERE c.corrects = entries.sequence AND c.correction_kind = 2) AS retracted,
    (SELECT n.id FROM notices n WHERE n.entry_sequence = entries.sequence) AS notice_id";

impl Row {
    /// The entry with its annotations derived from the row.
    pub fn to_proto(&self, base_url: &str) -> Entry {
        let mut e = Entry::decode(self.body.as_slice()).unwrap_or_default();
        e.name = format!("entries/{}", self.sequence);
        e.leaf_input = self.leaf_input.clone();
        e.leaf_hash = self.leaf_hash.clone();
        e.html_url = format!("{}/entries/{}", base_url.trim_end_matches('/'), self.sequence);
        e.corrected_by = self.corrected_by.iter().map(|s| format!("entries/{s}")).collect();
        e.retracted = self.retracted;
        e.notice = self
            .notice_id
            .as_deref()
            .map(|id| format!("notices/{id}"))
            .unwrap_or_default();
        e
    }
}

/// Appends `draft`; `None` when its source event is already in the log (a redelivery).
/// Appends `draft` as the next entry, stamped `now` (the platform clock's).
pub async fn append(
    tx: &mut Transaction<'static, Postgres>,
    draft: Draft,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Entry>> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM log_state FOR UPDATE")
        .fetch_one(&mut **tx)
        .await?;
    let event_id = (!draft.source.event_id.is_empty()).then(|| draft.source.event_id.clone());
    if let Some(id) = &event_id {
        let seen: Option<i64> = sqlx::query_scalar("SELECT sequence FROM entries WHERE source_event_id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        if seen.is_some() {
            return Ok(None);
        }
    }
    // Microseconds: what PostgreSQL keeps, so the stored time and the hashed one agree.
    let now: DateTime<Utc> = now.trunc_subsecs(6);
    let entry = Entry {
        leaf_version: 1,
        sequence: size,
        kind: draft.kind as i32,
        jurisdiction: draft.jurisdiction.clone(),
        subject: draft.subject.clone(),
        discloser: draft.discloser.clone(),
        title: draft.title.clone(),
        body: Some(draft.body),
        source: Some(draft.source.clone()),
        correction: draft.correction.clone(),
        related_entries: draft.related_entries,
        due: draft.due,
        late: draft.late,
        publish_time: Some(timestamp(now)),
        ..Default::default()
    };
    let corrects: Option<i64> = entry
        .correction
        .as_ref()
        .and_then(|c| c.corrects.strip_prefix("entries/"))
        .and_then(|s| s.parse().ok());
    let input = leaf::leaf_input(&entry)?;
    let hash = leaf_hash(&input);
    let jurisdiction = entry
        .jurisdiction
        .as_ref()
        .map(|j| id_of(&j.name, "jurisdictions"))
        .unwrap_or_default();
    let discloser = entry
        .discloser
        .as_ref()
        .map(|o| id_of(&o.name, "organizations"))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO entries (sequence, kind, jurisdiction_id, subject, discloser_id, publish_time, source_event_id,
                              leaf_input, leaf_hash, body, corrects, correction_kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(size)
    .bind(entry.kind as i16)
    .bind(&jurisdiction)
    .bind(&entry.subject)
    .bind(&discloser)
    .bind(now)
    .bind(&event_id)
    .bind(&input)
    .bind(hash.as_slice())
    .bind(entry.encode_to_vec())
    .bind(corrects)
    .bind(
        entry
            .correction
            .as_ref()
            .and_then(|c| i16::try_from(c.kind).ok()),
    )
    .execute(&mut **tx)
    .await?;
    let plan = append_plan(u64::try_from(size)?)?;
    let children = fetch_nodes(&mut **tx, plan.nodes()).await?;
    let nodes = plan.assemble(hash, &children)?;
    let (levels, indexes, hashes): (Vec<i16>, Vec<i64>, Vec<Vec<u8>>) = nodes
        .iter()
        .map(|(id, h)| {
            (
                i16::try_from(id.level).unwrap_or(i16::MAX),
                i64::try_from(id.index).unwrap_or(i64::MAX),
                h.to_vec(),
            )
        })
        .fold((Vec::new(), Vec::new(), Vec::new()), |mut acc, (l, i, h)| {
            acc.0.push(l);
            acc.1.push(i);
            acc.2.push(h);
            acc
        });
    sqlx::query("INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM UNNEST($1::smallint[], $2::bigint[], $3::bytea[])")
        .bind(&levels)
        .bind(&indexes)
        .bind(&hashes)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE log_state SET size = size + 1")
        .execute(&mut **tx)
        .await?;
    let name = format!("entries/{size}");
    let published = EntryPublished {
        name: name.clone(),
        sequence: size,
        kind: entry.kind,
        jurisdiction: entry.jurisdiction.clone(),
        subject: entry.subject.clone(),
        discloser: entry.discloser.clone(),
        title: entry.title.clone(),
        leaf_hash: hash.to_vec(),
        publish_time: entry.publish_time,
        source_service: draft.source.service.clone(),
        source_event_id: draft.source.event_id.clone(),
        corrects: draft
            .correction
            .as_ref()
            .map(|c| c.corrects.clone())
            .unwrap_or_default(),
        correction_kind: draft.correction.as_ref().map(|c| c.kind).unwrap_or_default(),
        due: entry.due.clone(),
        late: entry.late,
        ..Default::default()
    };
    // Dated as the entry's publish time, by the service's clock.
    enqueue_at(
        tx,
        OutgoingEvent::new("pdop.disclosure.entry.published", &name, &published),
        now,
    )
    .await?;
    Ok(Some(Entry {
        name,
        leaf_input: input,
        leaf_hash: hash.to_vec(),
        ..entry
    }))
}

/// The hashes of `ids`, in their order, in one query.
pub async fn fetch_nodes<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    ids: &[NodeId],
) -> anyhow::Result<Vec<Hash>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let levels: Vec<i16> = ids
        .iter()
        .map(|id| i16::try_from(id.level).unwrap_or(i16::MAX))
        .collect();
    let indexes: Vec<i64> = ids
        .iter()
        .map(|id| i64::try_from(id.index).unwrap_or(i64::MAX))
        .collect();
    let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT n.level, n.idx, n.hash FROM merkle_nodes n
         JOIN UNNEST($1::smallint[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx",
    )
    .bind(&levels)
    .bind(&indexes)
    .fetch_all(executor)
    .await?;
    ids.iter()
        .map(|id| {
            rows.iter()
                .find(|(l, i, _)| {
                    i64::from(*l) == i64::from(id.level) && u64::try_from(*i).ok() == Some(id.index)
                })
                .and_then(|(_, _, h)| <Hash>::try_from(h.as_slice()).ok())
                .ok_or_else(|| anyhow::anyhow!("tree node ({}, {}) is missing", id.level, id.index))
        })
        .collect()
}
