//! `/catalog.jsonld`: the listed data products as a DCAT-AP 3 catalog in JSON-LD, each product a dataset whose
//! landing page and distribution are its PRODUCT_LISTED entry, published by its operator, licensed under its
//! operator agreement (the agreement's AGREEMENT_SIGNED entry), covering its jurisdiction.

use std::collections::HashMap;

use pdop_kit::handling::Handling as _;
use pdop_proto::disclosure::v1::{Entry, EntryKind};
use serde_json::{Value, json};
use tonic::Status;

use crate::context::Ctx;
use crate::feeds::{published, rfc3339};
use crate::log::{COLUMNS, Row};
use crate::markup::{clean, encode};

/// Chinese in the EU language authority table, which DCAT-AP takes languages from.
const CHINESE: &str = "http://publications.europa.eu/resource/authority/language/ZHO";
/// Entry pages' media type by IANA's name, and their format in the EU file type authority table.
const HTML: &str = "http://www.iana.org/assignments/media-types/text/html";
const HTML_FORMAT: &str = "http://publications.europa.eu/resource/authority/file-type/HTML";

fn zh(text: &str) -> Value {
    json!({ "@value": clean(text), "@language": "zh" })
}

fn date_time(e: &Entry) -> Option<Value> {
    published(e).map(|t| json!({ "@value": rfc3339(t), "@type": "xsd:dateTime" }))
}

fn document(url: &str) -> Value {
    json!({ "@id": url, "@type": "foaf:Document" })
}

fn field(e: &Entry, key: &str) -> String {
    e.body
        .as_ref()
        .and_then(|b| b.fields.iter().find(|f| f.key == key))
        .map(|f| f.value.clone())
        .unwrap_or_default()
}

/// The latest product entries that no later listing or withdrawal of the same product superseded.
async fn listed(ctx: &Ctx) -> Result<Vec<Entry>, Status> {
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
    Ok(rows
        .iter()
        .map(|r| r.to_proto(&ctx.config.http_base_url))
        .collect())
}

/// The latest AGREEMENT_SIGNED entry of each of `agreements`, by agreement name.
async fn agreement_entries(ctx: &Ctx, agreements: Vec<String>) -> Result<HashMap<String, i64>, Status> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT subject, max(sequence) FROM entries WHERE kind = $1 AND subject = ANY($2) GROUP BY subject",
    )
    .bind(EntryKind::AgreementSigned as i16)
    .bind(agreements)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(rows.into_iter().collect())
}

fn dataset(base: &str, e: &Entry, agreements: &HashMap<String, i64>) -> Value {
    let page = format!("{base}/entries/{}", e.sequence);
    let title = Some(field(e, "display_name"))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| e.title.clone());
    // DCAT-AP requires a description; a product listed without one is described by its entry's title.
    let description = Some(field(e, "description"))
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| e.title.clone());
    let operator = e.discloser.clone().unwrap_or_default();
    let operator_name = Some(operator.display_name.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| operator.name.clone());
    let mut distribution = json!({
        "@id": format!("{page}#distribution"),
        "@type": "dcat:Distribution",
        "dct:title": zh(&e.title),
        "dct:description": zh("产品和服务上架公示页面"),
        "dcat:accessURL": { "@id": page },
        "dcat:mediaType": { "@id": HTML, "@type": "dct:MediaType" },
        "dct:format": { "@id": HTML_FORMAT, "@type": "dct:MediaTypeOrExtent" },
    });
    if let Some(sequence) = agreements.get(&field(e, "agreement")) {
        distribution["dct:license"] = json!({
            "@id": format!("{base}/entries/{sequence}"),
            "@type": "dct:LicenseDocument",
            "dct:title": zh("授权运营协议"),
        });
    }
    let mut dataset = json!({
        "@id": page,
        "@type": "dcat:Dataset",
        "dct:identifier": e.subject,
        "dct:title": zh(&title),
        "dct:description": zh(&description),
        "dct:language": { "@id": CHINESE, "@type": "dct:LinguisticSystem" },
        "dct:publisher": {
            "@type": "foaf:Agent",
            "dct:identifier": operator.name,
            "foaf:name": clean(&operator_name),
        },
        "dcat:contactPoint": {
            "@type": ["vcard:Kind", "vcard:Organization"],
            "vcard:fn": clean(&operator_name),
            // What the operator disclosed, which names how to reach it.
            "vcard:hasURL": { "@id": format!("{base}/?organization={}", encode(&operator.name)) },
        },
        "dcat:landingPage": document(&page),
        "dcat:distribution": [distribution],
    });
    if let Some(issued) = date_time(e) {
        dataset["dct:issued"] = issued;
    }
    if let Some(j) = &e.jurisdiction {
        dataset["dct:spatial"] = json!({
            "@type": "dct:Location",
            "dct:identifier": j.name,
            "skos:prefLabel": zh(if j.display_name.is_empty() { &j.name } else { &j.display_name }),
        });
    }
    dataset
}

pub async fn catalog(ctx: &Ctx) -> Result<Value, Status> {
    let products = listed(ctx).await?;
    let agreements = agreement_entries(ctx, products.iter().map(|e| field(e, "agreement")).collect()).await?;
    let base = ctx.config.http_base_url.trim_end_matches('/');
    let datasets: Vec<Value> = products.iter().map(|e| dataset(base, e, &agreements)).collect();
    let mut catalog = json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "skos": "http://www.w3.org/2004/02/skos/core#",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "xsd": "http://www.w3.org/2001/XMLSchema#"
        },
        "@id": format!("{base}/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": zh("公共数据产品和服务目录"),
        "dct:description": zh(&ctx.config.description),
        "dct:publisher": { "@type": "foaf:Agent", "foaf:name": clean(&ctx.config.origin) },
        "dct:language": { "@id": CHINESE, "@type": "dct:LinguisticSystem" },
        "dct:license": { "@id": ctx.config.catalog_license, "@type": "dct:LicenseDocument" },
        "foaf:homepage": document(&format!("{base}/")),
        "dcat:dataset": datasets,
    });
    if let Some(modified) = products.iter().filter_map(published).max() {
        catalog["dct:modified"] = json!({ "@value": rfc3339(modified), "@type": "xsd:dateTime" });
    }
    Ok(catalog)
}
