//! The public HTTP port's documents pass the standard validators: Atom feeds the RFC 4287 RELAX NG grammar (with
//! its Schematron rules), JSON feeds the JSON Feed 1.1 schema, the catalog the DCAT-AP 3.0.1 SHACL shapes
//! (pyshacl), and the pages the Nu HTML checker where Java is present. The validators run offline from
//! `standards/` (schemas with their provenance, pinned requirements) after a one-time install from PyPI and npm.
//! Also: text XML and HTML forbid is dropped when written out, self links are the requested URLs, `updated`
//! keeps sub-second precision, an empty feed is not dated 1970, and paging links percent-encode the search text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use common::*;
use pdop_proto::registry::events::v1::{ProductListed, ProductSnapshot, ProductWithdrawn};
use prost::Message;

/// The Nu HTML checker's npm package (it ships the jar).
const VNU_JAR: &str = "vnu-jar@26.9.27";

/// A search text that needs percent-encoding in a URL: `&`, a space and `#`.
const SEARCH: &str = "A&B #";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Agreements whose titles hold `SEARCH`, as many as make two pages of a feed.
async fn many(h: &Harness, count: usize) {
    for n in 0..count {
        let id = format!("e-m{n}");
        let mut event =
            pdop_proto::registry::events::v1::AgreementSigned::decode(signed(n).as_slice()).unwrap();
        let agreement = event.agreement.as_mut().unwrap();
        agreement.name = format!("agreements/m{n}");
        agreement.display_name = format!("授权运营协议 {SEARCH}{n}");
        h.publish(
            "pdop.registry.agreement.signed",
            &id,
            &id,
            &agreement.name.clone(),
            event.encode_to_vec(),
        )
        .await;
    }
}

fn product(n: usize, display_name: &str, description: &str) -> ProductSnapshot {
    ProductSnapshot {
        name: format!("products/p{n}"),
        display_name: display_name.into(),
        description: description.into(),
        operator: org("organizations/operator", "云南数据运营有限公司"),
        agreement: "agreements/a0".into(),
        jurisdiction: yunnan(),
        ..Default::default()
    }
}

/// Entries of every kind a page or feed shows differently: agreements, a cap price, two listed products (one
/// without a description), a withdrawn one, and titles holding characters XML forbids.
async fn variety(h: &Harness) -> usize {
    agreements(h, 0..2).await;
    publish_cap(h).await;
    let listed = [
        product(1, "企业信用画像接口", "按企业统一社会信用代码查询信用画像"),
        product(2, "交通流量指数\u{1}\u{fffe}", ""),
        product(3, "已下架的产品", "将被下架"),
    ];
    for (n, p) in listed.into_iter().enumerate() {
        let id = format!("e-p{n}");
        let subject = p.name.clone();
        let event = ProductListed {
            product: Some(p),
            ..Default::default()
        };
        h.publish(
            "pdop.registry.product.listed",
            &id,
            &id,
            &subject,
            event.encode_to_vec(),
        )
        .await;
    }
    let withdrawn = ProductWithdrawn {
        product: Some(product(3, "已下架的产品", "将被下架")),
        ..Default::default()
    };
    h.publish(
        "pdop.registry.product.withdrawn",
        "e-w3",
        "e-w3",
        "products/p3",
        withdrawn.encode_to_vec(),
    )
    .await;
    7
}

async fn until_entries(h: &Harness, count: usize) {
    h.until(
        &format!("{count} entries"),
        &format!("SELECT count(*) = {count} FROM entries"),
    )
    .await;
}

/// The python of the validators' virtual environment (made on first use).
fn python() -> PathBuf {
    let root = root();
    let out = Command::new(root.join("scripts/pyenv.sh"))
        .args([
            "standards",
            "services/disclosure/tests/standards/requirements.txt",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The Nu HTML checker's jar, installed from npm on first use; `None` without Java.
fn vnu() -> Option<PathBuf> {
    if Command::new("java").arg("-version").output().is_err() {
        eprintln!("no Java: the pages are not checked with the Nu HTML checker");
        return None;
    }
    let root = root();
    let jar = root.join(".pdop/vnu/node_modules/vnu-jar/build/dist/vnu.jar");
    if !jar.exists() {
        let out = Command::new("npm")
            .args([
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                ".pdop/vnu",
                VNU_JAR,
            ])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    Some(jar)
}

async fn fetch(h: &Harness, path: &str) -> reqwest::Response {
    let response = reqwest::get(format!("{}{path}", h.http)).await.unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response
}

#[tokio::test]
async fn feeds_catalog_and_pages_pass_the_standard_validators() {
    let h = start().await;
    let count = variety(&h).await + 105;
    many(&h, 105).await;
    until_entries(&h, count).await;
    let q = "A%26B%20%23";
    let sequence = |subject: &str| {
        sqlx::query_scalar::<_, i64>("SELECT min(sequence) FROM entries WHERE subject = $1")
            .bind(subject.to_owned())
            .fetch_one(&h.db.pool)
    };
    let (product_entry, cap_entry) = (
        sequence("products/p2").await.unwrap(),
        sequence("capPrices/c1").await.unwrap(),
    );
    let older: i64 =
        sqlx::query_scalar("SELECT sequence FROM entries ORDER BY sequence DESC OFFSET 100 LIMIT 1")
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    // Every feed kind, filtered, searched, paged, and empty; both formats of each.
    let feeds = [
        ("all", "all", String::new()),
        ("all-older", "all", format!("?before={}", older + 1)),
        ("yunnan", "yunnan", String::new()),
        ("cap-price", "cap-price", String::new()),
        ("yunnan.product-listed", "yunnan.product-listed", String::new()),
        (
            "all-filtered",
            "all",
            "?organization=organizations/agency&jurisdiction=jurisdictions/yunnan".to_owned(),
        ),
        ("all-searched", "all", format!("?q={q}")),
        (
            "all-empty",
            "all",
            "?organization=organizations/nobody".to_owned(),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("pdop-standards-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, feed, query) in &feeds {
        for ext in ["atom", "json"] {
            let body = fetch(&h, &format!("/feeds/{feed}.{ext}{query}"))
                .await
                .text()
                .await
                .unwrap();
            std::fs::write(dir.join(format!("{file}.{ext}")), body).unwrap();
        }
    }
    let catalog = fetch(&h, "/catalog.jsonld").await.text().await.unwrap();
    std::fs::write(dir.join("catalog.jsonld"), &catalog).unwrap();
    let pages = [
        ("front", "/".to_owned()),
        ("front-searched", format!("/?q={q}")),
        ("front-empty", "/?q=nothing-matches".to_owned()),
        ("entry-agreement", "/entries/0".to_owned()),
        ("entry-cap", format!("/entries/{cap_entry}")),
        ("entry-product", format!("/entries/{product_entry}")),
    ];
    for (file, path) in &pages {
        let body = fetch(&h, path).await.text().await.unwrap();
        std::fs::write(dir.join(format!("{file}.html")), body).unwrap();
    }
    // The catalog holds the two listed products, not the withdrawn one.
    let value: serde_json::Value = serde_json::from_str(&catalog).unwrap();
    assert_eq!(value["dcat:dataset"].as_array().unwrap().len(), 2, "{catalog}");

    let script = root().join("services/disclosure/tests/standards/validate.py");
    let out = Command::new(python()).arg(script).arg(&dir).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Each file was checked: 8 feeds in 2 formats and the catalog.
    assert!(said.contains("validated 17 files, 0 failing"), "{said}");
    eprintln!("{said}");

    if let Some(jar) = vnu() {
        let htmls: Vec<PathBuf> = pages.iter().map(|(f, _)| dir.join(format!("{f}.html"))).collect();
        let out = Command::new("java")
            .arg("-jar")
            .arg(jar)
            .args(["--format", "text", "--Werror"])
            .args(&htmls)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn text_xml_and_html_forbid_is_dropped_when_written_out() {
    let h = start().await;
    let count = variety(&h).await;
    until_entries(&h, count).await;
    // The stored entry keeps its title as the event gave it.
    let stored = h.entries().await;
    let bad = stored.iter().find(|e| e.title.contains('\u{1}')).unwrap();
    let atom = fetch(&h, "/feeds/all.atom").await.text().await.unwrap();
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.clone().unwrap().content)
        .collect();
    assert!(
        titles.contains(&"产品和服务上架：交通流量指数".to_owned()),
        "{titles:?}"
    );
    let json: serde_json::Value = fetch(&h, "/feeds/all.json").await.json().await.unwrap();
    let json_titles: Vec<&str> = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(
        json_titles.contains(&"产品和服务上架：交通流量指数"),
        "{json_titles:?}"
    );
    for path in [
        "/".to_owned(),
        format!("/entries/{}", bad.sequence),
        "/catalog.jsonld".to_owned(),
    ] {
        let text = fetch(&h, &path).await.text().await.unwrap();
        assert!(text.contains("交通流量指数"), "{path}: {text}");
        assert!(!text.contains('\u{1}') && !text.contains('\u{fffe}'), "{path}");
    }
}

#[tokio::test]
async fn feed_self_links_are_the_requested_urls() {
    let h = start().await;
    let count = variety(&h).await;
    until_entries(&h, count).await;
    for path in [
        "/feeds/all.atom",
        // Unsorted, slashes unencoded: as the reader wrote it.
        "/feeds/all.atom?organization=organizations/agency&jurisdiction=jurisdictions/yunnan",
        // A named feed's own filters are not added to its URL.
        "/feeds/yunnan.cap-price.atom",
        "/feeds/cap-price.atom?before=5",
    ] {
        let url = format!("{}{path}", h.http);
        let atom = fetch(&h, path).await.text().await.unwrap();
        let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
        let own = feed
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("self"))
            .unwrap();
        assert_eq!(own.href, url);
        let json: serde_json::Value = fetch(&h, &path.replace(".atom", ".json"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(json["feed_url"], url.replace(".atom", ".json"));
    }
    // The feed's id (and first page) name the feed without the paging position.
    let atom = fetch(&h, "/feeds/cap-price.atom?before=5")
        .await
        .text()
        .await
        .unwrap();
    let feed = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    assert_eq!(feed.id, format!("{}/feeds/cap-price.atom", h.http));
}

#[tokio::test]
async fn updated_keeps_sub_second_precision_and_an_empty_feed_is_dated_now() {
    let h = start().await;
    let count = variety(&h).await;
    until_entries(&h, count).await;
    let newest = h.entries().await.last().unwrap().publish_time.unwrap();
    let atom = fetch(&h, "/feeds/all.atom").await.text().await.unwrap();
    let updated = atom
        .split("<updated>")
        .nth(1)
        .unwrap()
        .split("</updated>")
        .next()
        .unwrap();
    let parsed = DateTime::parse_from_rfc3339(updated).unwrap().with_timezone(&Utc);
    assert_eq!(
        (
            parsed.timestamp(),
            i32::try_from(parsed.timestamp_subsec_nanos()).unwrap()
        ),
        (newest.seconds, newest.nanos),
        "{updated}"
    );

    let before = Utc::now();
    let response = fetch(&h, "/feeds/all.atom?organization=organizations/nobody").await;
    assert!(response.headers().get("last-modified").is_none());
    let empty = feed_rs::parser::parse(response.text().await.unwrap().as_bytes()).unwrap();
    assert!(empty.entries.is_empty());
    let dated = empty.updated.unwrap();
    assert!(
        dated >= before - chrono::Duration::seconds(1) && dated <= Utc::now(),
        "{dated}"
    );
}

#[tokio::test]
async fn the_front_pages_paging_link_percent_encodes_the_search_text() {
    let h = start().await;
    agreements(&h, 0..1).await;
    many(&h, 103).await;
    until_entries(&h, 104).await;
    let first = fetch(&h, "/?q=A%26B%20%23").await.text().await.unwrap();
    assert_eq!(first.matches("<tr><td>").count(), 100);
    let href = first
        .split("<a href=\"")
        .find(|s| s.contains("更早"))
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let older = href.replace("&amp;", "&");
    assert!(older.starts_with("/?q=A%26B%20%23&before="), "{older}");
    // Following it gives the rest of the search, not the unrelated agreement.
    let rest = fetch(&h, &older).await.text().await.unwrap();
    assert_eq!(rest.matches("<tr><td>").count(), 3, "{rest}");
    assert!(!rest.contains("授权运营协议签订：授权运营协议0<"), "{rest}");
    assert!(!rest.contains("更早"));
}
