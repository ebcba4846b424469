//! Reading entries: GetEntry, ListEntries (keyset over sequence) and SubscribeEntries (the backlog, then live,
//! with tree heads in between; a follower resumes from its last sequence + 1 without gaps).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::Stream;
use pdop_kit::Violations;
use pdop_kit::handling::{Handling as _, optional_name};
use pdop_proto::disclosure::v1::{
    GetEntryRequest, GetEntryResponse, ListEntriesRequest, ListEntriesResponse, SubscribeEntriesRequest,
    SubscribeEntriesResponse, subscribe_entries_response::Item,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::context::Ctx;
use crate::log::{COLUMNS, Row};
use crate::tree_heads;

const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

pub async fn get(ctx: &Ctx, req: GetEntryRequest) -> Result<GetEntryResponse, Status> {
    let sequence = req
        .name
        .strip_prefix("entries/")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            let mut v = Violations::new();
            v.add("name", "must be entries/{sequence}");
            ctx.errors().invalid(&v)
        })?;
    let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM entries WHERE sequence = $1"))
        .bind(sequence)
        .fetch_optional(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("ENTRY_NOT_FOUND", &req.name))?;
    Ok(GetEntryResponse {
        entry: Some(row.to_proto(&ctx.config.http_base_url)),
    })
}

/// The filters shared by listing and subscribing.
struct Filter {
    kinds: Vec<i16>,
    jurisdiction: Option<String>,
    subject: Option<String>,
    discloser: Option<String>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    exclude_retracted: bool,
}

fn time(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

async fn page(ctx: &Ctx, f: &Filter, after: i64, limit: i64) -> Result<Vec<Row>, Status> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM entries
         WHERE sequence >= $1
           AND (cardinality($2::smallint[]) = 0 OR kind = ANY($2))
           AND ($3::text IS NULL OR jurisdiction_id = $3)
           AND ($4::text IS NULL OR subject = $4)
           AND ($5::text IS NULL OR discloser_id = $5)
           AND ($6::timestamptz IS NULL OR publish_time >= $6)
           AND ($7::timestamptz IS NULL OR publish_time < $7)
           AND (NOT $9 OR NOT EXISTS (SELECT 1 FROM entries r WHERE r.corrects = entries.sequence
                                      AND r.correction_kind = 2))
         ORDER BY sequence LIMIT $8"
    ))
    .bind(after)
    .bind(&f.kinds)
    .bind(&f.jurisdiction)
    .bind(&f.subject)
    .bind(&f.discloser)
    .bind(f.from)
    .bind(f.until)
    .bind(limit)
    .bind(f.exclude_retracted)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))
}

fn kinds(kinds: &[i32]) -> Vec<i16> {
    kinds.iter().filter_map(|k| i16::try_from(*k).ok()).collect()
}

pub async fn list(ctx: &Ctx, req: ListEntriesRequest) -> Result<ListEntriesResponse, Status> {
    let mut v = Violations::new();
    if req.page_size < 0 {
        v.add("page_size", "must not be negative");
    }
    let after: Option<i64> = pdop_kit::pagination::decode_token(&req.page_token).unwrap_or_else(|e| {
        v.add("page_token", e);
        None
    });
    if req.start_sequence < 0 {
        v.add("start_sequence", "must not be negative");
    }
    let filter = Filter {
        kinds: kinds(&req.kinds),
        jurisdiction: optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v)
            .map(str::to_owned),
        subject: (!req.subject.is_empty()).then(|| req.subject.clone()),
        discloser: optional_name(&req.discloser, "organizations", "discloser", &mut v).map(str::to_owned),
        from: time(req.publish_time_start.as_ref()),
        until: time(req.publish_time_end.as_ref()),
        exclude_retracted: req.exclude_retracted,
    };
    if let (Some(from), Some(until)) = (filter.from, filter.until)
        && until < from
    {
        v.add("publish_time_end", "must not be before publish_time_start");
    }
    v.into_result(ctx.errors())?;
    let size = match i64::from(req.page_size) {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    };
    // A forged token at i64::MAX would overflow; saturating, it names a sequence past the end (THREATS L9).
    let start = after.map_or(req.start_sequence, |a| a.saturating_add(1));
    let mut rows = page(ctx, &filter, start, size + 1).await?;
    let next_page_token = pdop_kit::handling::page_after(&mut rows, size, |r| r.sequence);
    Ok(ListEntriesResponse {
        entries: rows
            .iter()
            .map(|r| r.to_proto(&ctx.config.http_base_url))
            .collect(),
        next_page_token,
    })
}

pub type EntryStream = Pin<Box<dyn Stream<Item = Result<SubscribeEntriesResponse, Status>> + Send + 'static>>;

/// How long a quiet subscription waits before looking again, when no tree head wakes it.
const IDLE_POLL: Duration = Duration::from_secs(1);

pub async fn subscribe(ctx: Arc<Ctx>, req: SubscribeEntriesRequest) -> Result<EntryStream, Status> {
    let mut v = Violations::new();
    if req.start_sequence < 0 {
        v.add("start_sequence", "must not be negative");
    }
    let filter = Filter {
        kinds: kinds(&req.kinds),
        jurisdiction: optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v)
            .map(str::to_owned),
        subject: None,
        discloser: None,
        from: None,
        until: None,
        exclude_retracted: false,
    };
    v.into_result(ctx.errors())?;
    let (sender, receiver) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut next = req.start_sequence;
        let mut last_head = -1;
        loop {
            let signed = ctx.log.signed.notified();
            let rows = match page(&ctx, &filter, next, 500).await {
                Ok(rows) => rows,
                Err(status) => {
                    let _ = sender.send(Err(status)).await;
                    return;
                }
            };
            let caught_up = rows.len() < 500;
            for row in rows {
                next = row.sequence + 1;
                let item = Item::Entry(row.to_proto(&ctx.config.http_base_url));
                if sender
                    .send(Ok(SubscribeEntriesResponse { item: Some(item) }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if !caught_up {
                continue;
            }
            if let Ok(Some(head)) = tree_heads::latest(ctx.pool()).await
                && head.tree_size != last_head
            {
                last_head = head.tree_size;
                let item = Item::TreeHead(head.to_proto());
                if sender
                    .send(Ok(SubscribeEntriesResponse { item: Some(item) }))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            tokio::select! {
                _ = signed => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = sender.closed() => return,
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(receiver)))
}
