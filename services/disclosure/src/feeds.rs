//! Feeds of recent entries, newest first, filterable by jurisdiction and organization (discloser) and pageable
//! backwards (`before`): Atom (RFC 4287, paging links per RFC 5005), JSON Feed 1.1, and a DCAT-AP JSON-LD
//! catalog of the listed data products.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use pdop_kit::handling::Handling as _;
use pdop_proto::disclosure::v1::{Entry, EntryKind};
use serde_json::{Value, json};
use tonic::Status;

use crate::context::Ctx;
use crate::log::{COLUMNS, Row};

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

fn time(e: &Entry) -> String {
    e.publish_time
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn kind_name(e: &Entry) -> &'static str {
    EntryKind::try_from(e.kind).unwrap_or_default().as_str_name()
}

/// The feed's own query (filters only), so that paging links keep them.
fn filters(p: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = ["jurisdiction", "organization", "kind", "q"]
        .iter()
        .filter_map(|k| param(p, k).map(|v| format!("{k}={}", encode(v))))
        .collect();
    pairs.sort();
    pairs.join("&")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn link(base: &str, path: &str, query: &str, before: Option<i64>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !query.is_empty() {
        parts.push(query.to_owned());
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

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The Atom document of a feed page; `path` is the feed's own path, e.g. `/feeds/yunnan.atom`.
pub fn atom(base: &str, origin: &str, path: &str, page: &Recent, p: &HashMap<String, String>) -> String {
    let base = base.trim_end_matches('/');
    let query = filters(p);
    let updated = page
        .entries
        .first()
        .map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), time);
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    // The feed id names the filter, not the page: every page of one feed shares it.
    out.push_str(&format!(
        "  <id>{}</id>\n",
        escape(&link(base, path, &query, None))
    ));
    out.push_str("  <title>公共数据资源授权运营信息披露</title>\n");
    out.push_str(&format!("  <updated>{updated}</updated>\n"));
    out.push_str("  <author><name>pdop disclosure log</name></author>\n");
    let this_page = param(p, "before").and_then(|b| b.parse().ok());
    out.push_str(&format!(
        "  <link rel=\"self\" href=\"{}\"/>\n",
        escape(&link(base, path, &query, this_page))
    ));
    out.push_str(&format!(
        "  <link rel=\"first\" href=\"{}\"/>\n",
        escape(&link(base, path, &query, None))
    ));
    if let Some(older) = page.older {
        out.push_str(&format!(
            "  <link rel=\"next\" href=\"{}\"/>\n",
            escape(&link(base, path, &query, Some(older)))
        ));
    }
    for e in &page.entries {
        let url = format!("{base}/entries/{}", e.sequence);
        let text = e.body.as_ref().map_or("", |b| b.text.as_str());
        out.push_str("  <entry>\n");
        // Stable whatever the host name: a tag URI (RFC 4151) of the log's origin and the sequence.
        out.push_str(&format!(
            "    <id>tag:{},2025:entries/{}</id>\n",
            escape(origin),
            e.sequence
        ));
        out.push_str(&format!("    <title>{}</title>\n", escape(&e.title)));
        out.push_str(&format!("    <updated>{}</updated>\n", time(e)));
        out.push_str(&format!("    <published>{}</published>\n", time(e)));
        out.push_str(&format!(
            "    <link rel=\"alternate\" href=\"{}\"/>\n",
            escape(&url)
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
                escape(&format!("{base}/{corrects}"))
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

pub fn json_feed(base: &str, origin: &str, path: &str, page: &Recent, p: &HashMap<String, String>) -> Value {
    let base = base.trim_end_matches('/');
    let query = filters(p);
    let items: Vec<Value> = page
        .entries
        .iter()
        .map(|e| {
            let url = format!("{base}/entries/{}", e.sequence);
            json!({
                "id": format!("tag:{origin},2025:entries/{}", e.sequence),
                "url": url,
                "title": e.title,
                "content_text": e.body.as_ref().map_or("", |b| b.text.as_str()),
                "date_published": time(e),
                "tags": [kind_name(e)],
            })
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "公共数据资源授权运营信息披露",
        "home_page_url": format!("{base}/"),
        "feed_url": link(base, path, &query, None),
        "language": "zh-CN",
        "items": items,
    });
    if let Some(older) = page.older {
        feed["next_url"] = json!(link(base, path, &query, Some(older)));
    }
    feed
}

/// The listed data products as a DCAT-AP catalog: the latest PRODUCT_LISTED entry of each product that no
/// later PRODUCT_WITHDRAWN entry took off the list.
pub async fn dcat(ctx: &Ctx) -> Result<Value, Status> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM entries
         WHERE entries.kind = $1
           AND NOT EXISTS (SELECT 1 FROM entries w WHERE w.subject = entries.subject AND w.sequence > entries.sequence
                           AND w.kind IN ($1, $2))
         ORDER BY entries.sequence"
    ))
    .bind(EntryKind::ProductListed as i16)
    .bind(EntryKind::ProductWithdrawn as i16)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let base = ctx.config.http_base_url.trim_end_matches('/');
    let datasets: Vec<Value> = rows
        .iter()
        .map(|r| {
            let e = r.to_proto(base);
            let field = |key: &str| {
                e.body
                    .as_ref()
                    .and_then(|b| b.fields.iter().find(|f| f.key == key))
                    .map(|f| f.value.clone())
                    .unwrap_or_default()
            };
            let publisher = e.discloser.clone().unwrap_or_default();
            json!({
                "@id": format!("{base}/entries/{}", e.sequence),
                "@type": "dcat:Dataset",
                "dct:identifier": e.subject,
                "dct:title": { "@value": field("display_name"), "@language": "zh" },
                "dct:description": { "@value": field("description"), "@language": "zh" },
                "dct:issued": { "@value": time(&e), "@type": "xsd:dateTime" },
                "dct:publisher": { "@type": "foaf:Agent", "dct:identifier": publisher.name, "foaf:name": publisher.display_name },
                "dct:spatial": e.jurisdiction.as_ref().map(|j| j.name.clone()).unwrap_or_default(),
                "dcat:landingPage": { "@id": format!("{base}/entries/{}", e.sequence) },
            })
        })
        .collect();
    Ok(json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "xsd": "http://www.w3.org/2001/XMLSchema#"
        },
        "@id": format!("{base}/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": { "@value": "公共数据产品和服务目录", "@language": "zh" },
        "dct:publisher": { "@type": "foaf:Agent", "foaf:name": ctx.config.origin },
        "dcat:dataset": datasets,
    }))
}
