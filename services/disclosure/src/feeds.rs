//! Feeds of recent entries, newest first, filterable by jurisdiction and organization (discloser) and pageable
//! backwards (`before`): Atom (RFC 4287, paging links per RFC 5005) and JSON Feed 1.1. The catalog of listed
//! products is catalog.rs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pdop_kit::handling::Handling as _;
use pdop_proto::disclosure::v1::{Entry, EntryKind};
use serde_json::{Value, json};
use tonic::Status;

use crate::context::Ctx;
use crate::log::{COLUMNS, Row};
use crate::markup::{clean, encode, escape};

/// Entries in one feed page (feed.proto: the latest 100).
const PAGE: i64 = 100;

/// The slug of a kind in feed names: `ENTRY_KIND_CAP_PRICE` → `cap-price`.
pub fn kind_slug(kind: EntryKind) -> String {
    kind.as_str_name()
        .trim_start_matches("ENTRY_KIND_")
        .to_ascii_lowercase()
        .replace('_', "-")
}

fn kind_of_slug(slug: &str) -> Option<EntryKind> {
    EntryKind::from_str_name(&format!(
        "ENTRY_KIND_{}",
        slug.to_ascii_uppercase().replace('-', "_")
    ))
    .filter(|k| *k != EntryKind::Unspecified)
}

/// The filters a feed name stands for: `all`, `{jurisdiction}`, `{kind}` or `{jurisdiction}.{kind}`.
pub fn feed_filters(feed: &str) -> Option<Vec<(&'static str, String)>> {
    let valid_id = |id: &str| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match feed.split_once('.') {
        _ if feed == "all" => Some(Vec::new()),
        Some((jurisdiction, slug)) => {
            let kind = kind_of_slug(slug)?;
            valid_id(jurisdiction).then(|| {
                vec![
                    ("jurisdiction", format!("jurisdictions/{jurisdiction}")),
                    ("kind", kind.as_str_name().to_owned()),
                ]
            })
        }
        None => match kind_of_slug(feed) {
            Some(kind) => Some(vec![("kind", kind.as_str_name().to_owned())]),
            None => valid_id(feed).then(|| vec![("jurisdiction", format!("jurisdictions/{feed}"))]),
        },
    }
}

pub struct Recent {
    pub entries: Vec<Entry>,
    /// `before` for the next (older) page; `None` at the start of the log.
    pub older: Option<i64>,
}

fn param<'a>(p: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    p.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

/// The newest entries matching `jurisdiction`, `organization`, `kind` and the search text `q`, before `before`.
pub async fn recent(ctx: &Ctx, p: &HashMap<String, String>) -> Result<Recent, Status> {
    let bad = |key: &str| Status::invalid_argument(format!("{key} is malformed"));
    let before: Option<i64> = param(p, "before")
        .map(|v| v.parse().map_err(|_| bad("before")))
        .transpose()?;
    let jurisdiction = param(p, "jurisdiction")
        .map(|v| pdop_kit::names::parse(v, "jurisdictions").ok_or_else(|| bad("jurisdiction")))
        .transpose()?;
    let organization = param(p, "organization")
        .map(|v| pdop_kit::names::parse(v, "organizations").ok_or_else(|| bad("organization")))
        .transpose()?;
    let kind = param(p, "kind")
        .map(|v| EntryKind::from_str_name(v).ok_or_else(|| bad("kind")))
        .transpose()?;
    // The search text matches literally (no LIKE wildcards from the user).
    let q = param(p, "q").map(|q| {
        format!(
            "%{}%",
            q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        )
    });
    let mut rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM entries
         WHERE ($1::bigint IS NULL OR sequence < $1)
           AND ($2::text IS NULL OR jurisdiction_id = $2)
           AND ($3::text IS NULL OR discloser_id = $3)
           AND ($4::smallint IS NULL OR kind = $4)
           AND ($5::text IS NULL OR subject ILIKE $5 OR convert_from(leaf_input, 'UTF8') ILIKE $5)
         ORDER BY sequence DESC LIMIT $6"
    ))
    .bind(before)
    .bind(jurisdiction)
    .bind(organization)
    .bind(kind.map(|k| k as i16))
    .bind(q)
    .bind(PAGE + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let more = rows.len() > usize::try_from(PAGE).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(PAGE).unwrap_or(0));
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| r.to_proto(&ctx.config.http_base_url))
        .collect();
    let older = more.then(|| entries.last().map(|e| e.sequence)).flatten();
    Ok(Recent { entries, older })
}

/// When the entry was published, with the sub-second digits the log keeps (RFC 3339, UTC).
pub fn published(e: &Entry) -> Option<DateTime<Utc>> {
    e.publish_time
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn time(e: &Entry) -> String {
    rfc3339(published(e).unwrap_or_default())
}

fn kind_name(e: &Entry) -> &'static str {
    EntryKind::try_from(e.kind).unwrap_or_default().as_str_name()
}

/// The filters of `p` as a query, sorted, so that paging links keep them.
pub fn filters(p: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = ["jurisdiction", "organization", "kind", "q"]
        .iter()
        .filter_map(|k| param(p, k).map(|v| format!("{k}={}", encode(v))))
        .collect();
    pairs.sort();
    pairs.join("&")
}

/// `{base}{path}` with the query `filters` and the paging position `before`.
pub fn link(base: &str, path: &str, filters: &str, before: Option<i64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !filters.is_empty() {
        parts.push(filters.to_owned());
    }
    if let Some(b) = before {
        parts.push(format!("before={b}"));
    }
    if parts.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", parts.join("&"))
    }
}

/// A feed page's own URLs.
pub struct FeedUrls {
    base: String,
    path: String,
    /// The URL as it was requested, query included: the document's self link.
    requested: String,
    /// The filters the reader asked for, without the paging position.
    filters: String,
    /// Identifies the log in entry ids.
    origin: String,
}

/// `query` as a valid RFC 3986 query: a well-formed one unchanged, any other byte percent-encoded, so the self
/// link stays a URI whatever a reader put in the request line.
fn valid_query(query: &str) -> String {
    let bytes = query.as_bytes();
    let mut out = String::with_capacity(query.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape_ok = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) || escape_ok {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FeedUrls {
    /// `path` and `raw_query` as requested; `asked`: the request's own parameters (not those the feed's
    /// name stands for, which its path already says).
    pub fn new(
        base: &str,
        origin: &str,
        path: &str,
        raw_query: Option<&str>,
        asked: &HashMap<String, String>,
    ) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let requested = match raw_query {
            Some(q) => format!("{base}{path}?{}", valid_query(q)),
            None => format!("{base}{path}"),
        };
        Self {
            filters: filters(asked),
            requested,
            base,
            path: path.to_owned(),
            origin: origin.to_owned(),
        }
    }

    /// The feed's first page, which also names the feed.
    fn first(&self) -> String {
        link(&self.base, &self.path, &self.filters, None)
    }

    fn older(&self, before: i64) -> String {
        link(&self.base, &self.path, &self.filters, Some(before))
    }

    fn entry_id(&self, e: &Entry) -> String {
        // Stable whatever the host name: a tag URI (RFC 4151) of the log's origin and the sequence.
        format!("tag:{},2025:entries/{}", self.origin, e.sequence)
    }

    fn entry_url(&self, e: &Entry) -> String {
        format!("{}/entries/{}", self.base, e.sequence)
    }
}

/// The Atom document of a feed page. `now` dates a page without entries (it holds nothing as of now).
pub fn atom(urls: &FeedUrls, page: &Recent, now: DateTime<Utc>) -> String {
    let updated = page.entries.iter().filter_map(published).max().unwrap_or(now);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    // The feed id names the filter, not the page: every page of one feed shares it.
    out.push_str(&format!("  <id>{}</id>\n", escape(&urls.first())));
    out.push_str("  <title>公共数据资源授权运营信息披露</title>\n");
    out.push_str(&format!("  <updated>{}</updated>\n", rfc3339(updated)));
    out.push_str("  <author><name>pdop disclosure log</name></author>\n");
    out.push_str(&format!(
        "  <link rel=\"self\" href=\"{}\"/>\n",
        escape(&urls.requested)
    ));
    out.push_str(&format!(
        "  <link rel=\"first\" href=\"{}\"/>\n",
        escape(&urls.first())
    ));
    if let Some(older) = page.older {
        out.push_str(&format!(
            "  <link rel=\"next\" href=\"{}\"/>\n",
            escape(&urls.older(older))
        ));
    }
    for e in &page.entries {
        let text = e.body.as_ref().map_or("", |b| b.text.as_str());
        out.push_str("  <entry>\n");
        out.push_str(&format!("    <id>{}</id>\n", escape(&urls.entry_id(e))));
        out.push_str(&format!("    <title>{}</title>\n", escape(&e.title)));
        out.push_str(&format!("    <updated>{}</updated>\n", time(e)));
        out.push_str(&format!("    <published>{}</published>\n", time(e)));
        out.push_str(&format!(
            "    <link rel=\"alternate\" href=\"{}\"/>\n",
            escape(&urls.entry_url(e))
        ));
        out.push_str(&format!("    <category term=\"{}\"/>\n", kind_name(e)));
        if let Some(corrects) = e
            .correction
            .as_ref()
            .map(|c| &c.corrects)
            .filter(|c| !c.is_empty())
        {
            out.push_str(&format!(
                "    <link rel=\"related\" href=\"{}\"/>\n",
                escape(&format!("{}/{corrects}", urls.base))
            ));
        }
        out.push_str(&format!(
            "    <content type=\"text\">{}</content>\n",
            escape(text)
        ));
        out.push_str("  </entry>\n");
    }
    out.push_str("</feed>\n");
    out
}

/// The JSON Feed 1.1 document of a feed page; its `feed_url` is the URL requested, as Atom's self link.
pub fn json_feed(urls: &FeedUrls, page: &Recent) -> Value {
    let items: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            json!({
                "id": urls.entry_id(e),
                "url": urls.entry_url(e),
                "title": clean(&e.title),
                "content_text": clean(e.body.as_ref().map_or("", |b| b.text.as_str())),
                "date_published": time(e),
                "tags": [kind_name(e)],
            })
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "公共数据资源授权运营信息披露",
        "home_page_url": format!("{}/", urls.base),
        "feed_url": urls.requested,
        "language": "zh-CN",
        "items": items,
    });
    if let Some(older) = page.older {
        feed["next_url"] = json!(urls.older(older));
    }
    feed
}

#[cfg(test)]
mod tests {
    use super::valid_query;

    #[test]
    fn a_well_formed_query_is_kept_and_anything_else_is_percent_encoded() {
        assert_eq!(
            valid_query("kind=cap-price&q=%E4%BA%91&before=9"),
            "kind=cap-price&q=%E4%BA%91&before=9"
        );
        assert_eq!(valid_query("q=\"x\"{|}"), "q=%22x%22%7B%7C%7D");
        assert_eq!(valid_query("q=100%"), "q=100%25");
        assert_eq!(valid_query("q=云"), "q=%E4%BA%91");
    }
}
