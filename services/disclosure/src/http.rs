//! The public HTTP port: the log's reads as proto3 JSON (what `pdop-verify` and mirrors use), each entry's web
//! page, the front page, and the feeds. No token; everything here is public.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use pdop_proto::disclosure::v1::get_inclusion_proof_request::Leaf;
use pdop_proto::disclosure::v1::{
    GetConsistencyProofRequest, GetEntryRequest, GetInclusionProofRequest, GetSignedTreeHeadRequest,
    ListEntriesRequest,
};
use sha2::Digest as _;
use tonic::Code;

use crate::context::Ctx;
use crate::{catalog, entries, feeds, leaf, pages, proofs, reports};

type Params = Query<HashMap<String, String>>;

/// A gRPC refusal as an HTTP status with a JSON body naming the reason.
pub struct Refusal(tonic::Status);

impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        Self(status)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let code = match self.0.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({ "error": { "code": format!("{:?}", self.0.code()), "message": self.0.message() } });
        (code, axum::Json(body)).into_response()
    }
}

fn json(full_name: &str, message: &impl prost::Message) -> Result<Response, Refusal> {
    let value = leaf::to_json(full_name, message).map_err(|e| tonic::Status::internal(e.to_string()))?;
    Ok(axum::Json(value).into_response())
}

fn number(params: &HashMap<String, String>, key: &str) -> Result<i64, Refusal> {
    params.get(key).map_or(Ok(0), |v| {
        v.parse().map_err(|_| {
            Refusal(tonic::Status::invalid_argument(format!(
                "{key} must be an integer"
            )))
        })
    })
}

async fn info(State(ctx): State<Arc<Ctx>>) -> Result<Response, Refusal> {
    json(
        "pdop.disclosure.v1.GetLogInfoResponse",
        &proofs::log_info(&ctx, Default::default()).await?,
    )
}

async fn sth(State(ctx): State<Arc<Ctx>>, Query(p): Params) -> Result<Response, Refusal> {
    let req = GetSignedTreeHeadRequest {
        tree_size: number(&p, "tree_size")?,
    };
    json(
        "pdop.disclosure.v1.GetSignedTreeHeadResponse",
        &proofs::tree_head(&ctx, req).await?,
    )
}

/// `/checkpoint`: the latest tree head as a C2SP `tlog-checkpoint` signed note, for witnesses and log tooling.
async fn checkpoint(State(ctx): State<Arc<Ctx>>) -> Result<Response, Refusal> {
    let note = proofs::checkpoint_note(&ctx).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

async fn range(State(ctx): State<Arc<Ctx>>, Query(p): Params) -> Result<Response, Refusal> {
    let (start, end) = (number(&p, "start")?, number(&p, "end")?);
    // THREATS L9: checked, so that extreme bounds are a 400 rather than an overflow.
    let Some(span) = end.checked_sub(start).filter(|span| (0..1000).contains(span)) else {
        return Err(Refusal(tonic::Status::invalid_argument(
            "end must be at least start, and at most 1000 entries are returned",
        )));
    };
    let req = ListEntriesRequest {
        start_sequence: start,
        page_size: i32::try_from(span + 1).unwrap_or(1000),
        ..Default::default()
    };
    let mut page = entries::list(&ctx, req).await?;
    page.next_page_token.clear();
    json("pdop.disclosure.v1.ListEntriesResponse", &page)
}

async fn inclusion(State(ctx): State<Arc<Ctx>>, Query(p): Params) -> Result<Response, Refusal> {
    let leaf = match (p.get("sequence"), p.get("leaf_hash")) {
        (Some(_), _) => Leaf::Sequence(number(&p, "sequence")?),
        (None, Some(hash)) => Leaf::LeafHash(
            base64::engine::general_purpose::STANDARD
                .decode(hash)
                .map_err(|_| Refusal(tonic::Status::invalid_argument("leaf_hash must be base64")))?,
        ),
        (None, None) => {
            return Err(Refusal(tonic::Status::invalid_argument(
                "give sequence or leaf_hash",
            )));
        }
    };
    let req = GetInclusionProofRequest {
        leaf: Some(leaf),
        tree_size: number(&p, "tree_size")?,
    };
    json(
        "pdop.disclosure.v1.GetInclusionProofResponse",
        &proofs::inclusion(&ctx, req).await?,
    )
}

async fn consistency(State(ctx): State<Arc<Ctx>>, Query(p): Params) -> Result<Response, Refusal> {
    let req = GetConsistencyProofRequest {
        first_tree_size: number(&p, "first")?,
        second_tree_size: number(&p, "second")?,
    };
    json(
        "pdop.disclosure.v1.GetConsistencyProofResponse",
        &proofs::consistency(&ctx, req).await?,
    )
}

async fn entry_page(State(ctx): State<Arc<Ctx>>, Path(sequence): Path<String>) -> Result<Response, Refusal> {
    let entry = entries::get(
        &ctx,
        GetEntryRequest {
            name: format!("entries/{sequence}"),
        },
    )
    .await?
    .entry
    .unwrap_or_default();
    Ok(html(pages::entry(&entry)))
}

async fn front(State(ctx): State<Arc<Ctx>>, Query(p): Params) -> Result<Response, Refusal> {
    let recent = feeds::recent(&ctx, &p).await?;
    Ok(html(pages::front(&recent, &p)))
}

/// What a public page may load: its own inline style and nothing else (THREATS L9). Escaping keeps markup out;
/// this keeps a slip in escaping from running script, and the page out of other sites' frames.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
                           form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn html(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// A feed (`/feeds/{feed}.atom` or `.json`), with ETag and Last-Modified so readers can poll cheaply.
async fn feed(
    State(ctx): State<Arc<Ctx>>,
    Path(file): Path<String>,
    Query(mut p): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let not_found = || Refusal(tonic::Status::not_found(format!("no feed {file}")));
    let (name, atom) = match (file.strip_suffix(".atom"), file.strip_suffix(".json")) {
        (Some(name), _) => (name, true),
        (_, Some(name)) => (name, false),
        _ => return Err(not_found()),
    };
    let urls = feeds::FeedUrls::new(
        &ctx.config.http_base_url,
        &ctx.config.origin,
        uri.path(),
        uri.query(),
        &p,
    );
    for (key, value) in feeds::feed_filters(name).ok_or_else(not_found)? {
        p.insert(key.to_owned(), value);
    }
    let page = feeds::recent(&ctx, &p).await?;
    let newest = page.entries.first();
    let mut query: Vec<_> = p.iter().collect();
    query.sort();
    let etag = format!(
        "\"{}\"",
        &hex::encode(sha2::Sha256::digest(format!(
            "{file}{query:?}{:?}",
            newest.map(|e| e.sequence)
        )))[..16]
    );
    // Seconds: what the header can say. An empty page has no date to give.
    let modified = newest
        .and_then(|e| e.publish_time)
        .and_then(|t| chrono::DateTime::<chrono::Utc>::from_timestamp(t.seconds, 0));
    let unchanged = match headers.get(header::IF_NONE_MATCH) {
        Some(tag) => tag.to_str().is_ok_and(|t| t == etag),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(&v.replace("GMT", "+0000")).ok())
            .zip(modified)
            .is_some_and(|(since, modified)| modified <= since),
    };
    let mut cache = HeaderMap::new();
    cache.insert(header::ETAG, header_value(&etag));
    if let Some(modified) = modified {
        let date = modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        cache.insert(header::LAST_MODIFIED, header_value(&date));
    }
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    Ok(if atom {
        let body = feeds::atom(&urls, &page, ctx.platform.clock.now());
        (
            cache,
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            body,
        )
            .into_response()
    } else {
        (
            cache,
            [(header::CONTENT_TYPE, "application/feed+json")],
            axum::Json(feeds::json_feed(&urls, &page)),
        )
            .into_response()
    })
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `/reports/{organization}/{year}.json`: the annual report generated from the log, bound to a signed tree head.
async fn annual_report(
    State(ctx): State<Arc<Ctx>>,
    Path((organization, file)): Path<(String, String)>,
) -> Result<Response, Refusal> {
    let year: i32 = file
        .strip_suffix(".json")
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| Refusal(tonic::Status::not_found(format!("no report {file}"))))?;
    Ok(axum::Json(reports::generated(&ctx, &organization, year).await?).into_response())
}

async fn catalog(State(ctx): State<Arc<Ctx>>) -> Result<Response, Refusal> {
    let body = catalog::catalog(&ctx).await?;
    Ok(([(header::CONTENT_TYPE, "application/ld+json")], axum::Json(body)).into_response())
}

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(front))
        .route("/log/v1/info", get(info))
        .route("/log/v1/sth", get(sth))
        .route("/checkpoint", get(checkpoint))
        .route("/log/v1/entries", get(range))
        .route("/log/v1/proof/inclusion", get(inclusion))
        .route("/log/v1/proof/consistency", get(consistency))
        .route("/entries/{sequence}", get(entry_page))
        .route("/feeds/{file}", get(feed))
        .route("/catalog.jsonld", get(catalog))
        .route("/reports/{organization}/{file}", get(annual_report))
        .with_state(ctx)
}

/// Serves the public port until the service stops.
pub async fn serve(ctx: Arc<Ctx>, addr: SocketAddr) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("binding disclosure.http_addr {addr}: {e}"))?;
    tracing::info!(addr = %listener.local_addr()?, "public HTTP port listening");
    let platform = ctx.platform.clone();
    let observed =
        axum::middleware::from_fn_with_state(platform.metrics.clone(), pdop_kit::metrics::observe_http);
    let app = router(ctx).layer(observed);
    platform.spawn_task("public-http", move |mut stop| async move {
        let stop = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
            tracing::error!(%err, "public HTTP server failed");
        }
    });
    Ok(())
}
