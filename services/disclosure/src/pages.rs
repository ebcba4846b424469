//! Plain HTML pages: the front page (recent entries, a search box, proof links) and one page per entry. No
//! scripts and no external assets, so the pages are fast and work anywhere.

use std::collections::HashMap;

use pdop_proto::disclosure::v1::{Entry, EntryKind};

use crate::feeds::{Recent, filters, link};
use crate::markup::escape;

const STYLE: &str = "body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}\
code{word-break:break-all}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    )
}

fn kind(e: &Entry) -> &'static str {
    EntryKind::try_from(e.kind).unwrap_or_default().as_str_name()
}

fn time(e: &Entry) -> String {
    e.publish_time
        .and_then(|t| chrono::DateTime::<chrono::Utc>::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The front page for the request parameters `p` (filters and the search text `q`).
pub fn front(recent: &Recent, p: &HashMap<String, String>) -> String {
    let q = p.get("q").map_or("", String::as_str);
    let mut body = String::from("<h1>公共数据资源授权运营信息披露</h1>");
    body.push_str(&format!(
        "<form method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"搜索披露信息\">\
         <button type=\"submit\">搜索</button></form>",
        escape(q)
    ));
    body.push_str("<p><a href=\"/feeds/all.atom\">Atom</a> · <a href=\"/feeds/all.json\">JSON Feed</a> · <a href=\"/catalog.jsonld\">数据产品目录 (DCAT)</a> · <a href=\"/log/v1/sth\">签名树头</a></p>");
    body.push_str("<table><thead><tr><th>序号</th><th>公开时间</th><th>类别</th><th>标题</th><th>证明</th></tr></thead><tbody>");
    for e in &recent.entries {
        body.push_str(&format!(
            "<tr><td>{seq}</td><td>{time}</td><td>{kind}</td><td><a href=\"/entries/{seq}\">{title}</a></td>\
             <td><a href=\"/log/v1/proof/inclusion?sequence={seq}\">包含证明</a></td></tr>",
            seq = e.sequence,
            time = time(e),
            kind = kind(e),
            title = escape(&e.title)
        ));
    }
    body.push_str("</tbody></table>");
    if let Some(older) = recent.older {
        // The next page keeps the filters and search text, percent-encoded.
        body.push_str(&format!(
            "<p><a href=\"{}\">更早</a></p>",
            escape(&link("", "/", &filters(p), Some(older)))
        ));
    }
    page("信息披露", &body)
}

pub fn entry(e: &Entry) -> String {
    let mut body = format!("<h1>{}</h1>", escape(&e.title));
    body.push_str(&format!("<p>序号 {} · {} · {}</p>", e.sequence, kind(e), time(e)));
    if e.retracted {
        body.push_str("<p><strong>本条已撤回。</strong></p>");
    }
    body.push_str("<table><tbody>");
    for f in e.body.iter().flat_map(|b| &b.fields) {
        body.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&f.label),
            escape(crate::render::shown(f))
        ));
    }
    body.push_str("</tbody></table>");
    if let Some(text) = e.body.as_ref().map(|b| &b.text).filter(|t| !t.is_empty()) {
        body.push_str(&format!("<pre>{}</pre>", escape(text)));
    }
    body.push_str(&format!(
        "<p>叶哈希 <code>{}</code></p><p><a href=\"/log/v1/proof/inclusion?sequence={seq}\">包含证明</a> · \
         <a href=\"/log/v1/entries?start={seq}&amp;end={seq}\">JSON</a></p>",
        hex::encode(&e.leaf_hash),
        seq = e.sequence
    ));
    page(&e.title, &body)
}
