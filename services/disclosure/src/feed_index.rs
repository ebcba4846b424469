//! ListFeeds and GetFeed: the feeds the log derives (all, per jurisdiction, per kind, per jurisdiction × kind),
//! with their URLs and how many entries they hold.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::handling::{Handling as _, optional_name};
use pdop_proto::disclosure::v1::{
    EntryKind, Feed, GetFeedRequest, GetFeedResponse, ListFeedsRequest, ListFeedsResponse,
};
use tonic::Status;

use crate::context::Ctx;
use crate::feeds::{feed_filters, kind_slug};

#[derive(sqlx::FromRow)]
struct Group {
    jurisdiction_id: Option<String>,
    kind: Option<i16>,
    count: i64,
    latest: i64,
    updated: DateTime<Utc>,
}

fn feed(ctx: &Ctx, g: &Group) -> Option<Feed> {
    let kind = g
        .kind
        .map(|k| EntryKind::try_from(i32::from(k)).unwrap_or_default());
    let jurisdiction = g.jurisdiction_id.as_deref();
    let id = match (jurisdiction, kind) {
        (Some(""), _) => return None,
        (None, None) => "all".to_owned(),
        (Some(j), None) => j.to_owned(),
        (None, Some(k)) => kind_slug(k),
        (Some(j), Some(k)) => format!("{j}.{}", kind_slug(k)),
    };
    let base = ctx.config.http_base_url.trim_end_matches('/');
    let display_name = match (jurisdiction, kind) {
        (None, None) => "全部披露".to_owned(),
        (Some(j), None) => j.to_owned(),
        (None, Some(k)) => kind_slug(k),
        (Some(j), Some(k)) => format!("{j} · {}", kind_slug(k)),
    };
    let query: Vec<String> = feed_filters(&id)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    Some(Feed {
        name: format!("feeds/{id}"),
        display_name,
        jurisdiction: jurisdiction
            .map(|j| format!("jurisdictions/{j}"))
            .unwrap_or_default(),
        kinds: kind.map(|k| vec![k as i32]).unwrap_or_default(),
        atom_url: format!("{base}/feeds/{id}.atom"),
        json_feed_url: format!("{base}/feeds/{id}.json"),
        html_url: format!("{base}/?{}", query.join("&")),
        entry_count: g.count,
        latest_sequence: g.latest,
        update_time: Some(pdop_kit::convert::timestamp(g.updated)),
    })
}

async fn groups(ctx: &Ctx) -> Result<Vec<Group>, Status> {
    sqlx::query_as(
        "SELECT jurisdiction_id, kind, count(*) AS count, max(sequence) AS latest, max(publish_time) AS updated
         FROM entries GROUP BY GROUPING SETS ((), (jurisdiction_id), (kind), (jurisdiction_id, kind))",
    )
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))
}

pub async fn list(ctx: &Ctx, req: ListFeedsRequest) -> Result<ListFeedsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<String>) =
        pdop_kit::handling::paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction =
        optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v).map(str::to_owned);
    v.into_result(ctx.errors())?;
    let mut feeds: Vec<Feed> = groups(ctx)
        .await?
        .iter()
        .filter(|g| jurisdiction.is_none() || g.jurisdiction_id == jurisdiction)
        .filter(|g| req.kind == 0 || g.kind.map(i32::from) == Some(req.kind))
        .filter_map(|g| feed(ctx, g))
        .filter(|f| after.as_ref().is_none_or(|a| f.name > *a))
        .collect();
    feeds.sort_by(|a, b| a.name.cmp(&b.name));
    let next_page_token = pdop_kit::handling::page_after(&mut feeds, size, |f| f.name.clone());
    Ok(ListFeedsResponse {
        feeds,
        next_page_token,
    })
}

pub async fn get(ctx: &Ctx, req: GetFeedRequest) -> Result<GetFeedResponse, Status> {
    let not_found = || ctx.errors().not_found("FEED_NOT_FOUND", &req.name);
    let id = req.name.strip_prefix("feeds/").ok_or_else(not_found)?;
    feed_filters(id).ok_or_else(not_found)?;
    let empty = || Feed {
        name: req.name.clone(),
        latest_sequence: -1,
        ..Default::default()
    };
    let found = groups(ctx)
        .await?
        .iter()
        .filter_map(|g| feed(ctx, g))
        .find(|f| f.name == req.name);
    Ok(GetFeedResponse {
        feed: Some(found.unwrap_or_else(empty)),
    })
}
