//! Average 10-year government bond yields (10年期国债平均收益率, DOMAIN §11): entered by a pricing authority
//! with their series and source document, never fetched or guessed; immutable, corrected by superseding.

use chrono::{DateTime, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Caller;
use pdop_kit::convert::{actor, timestamp};
use pdop_kit::handling::{is_unique_violation, page_after};
use pdop_proto::common::AuditInfo;
use pdop_proto::pricing::events::v1::BondYieldRecorded;
use pdop_proto::pricing::v1::{
    BondYield, BondYieldSeries, CreateBondYieldRequest, CreateBondYieldResponse, GetBondYieldRequest,
    GetBondYieldResponse, ListBondYieldsRequest, ListBondYieldsResponse,
};
use prost::Message;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling, paging};
use crate::decimals;

const COLLECTION: &str = "bondYields";

/// The plausible range of a 10-year yield (the contract's [0, 0.2]); outside it the value is a typo.
const MAX_YIELD: Decimal = dec!(0.2);

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    year: i32,
    average_yield: Decimal,
    superseded_by: Option<String>,
    body: Vec<u8>,
    create_time: DateTime<Utc>,
}

const COLUMNS: &str = "id, year, average_yield, superseded_by, body, create_time";

impl Row {
    fn to_proto(&self) -> BondYield {
        let mut b = BondYield::decode(self.body.as_slice()).unwrap_or_default();
        b.name = format!("{COLLECTION}/{}", self.id);
        b.superseded_by = self
            .superseded_by
            .as_deref()
            .map(|id| format!("{COLLECTION}/{id}"))
            .unwrap_or_default();
        b.create_time = Some(timestamp(self.create_time));
        b
    }
}

fn series_slug(series: BondYieldSeries) -> &'static str {
    match series {
        BondYieldSeries::ChinabondCurve10y => "chinabond-10y",
        _ => "other",
    }
}

/// A current (not superseded) yield for `year` usable by a calculation: its value and name.
pub async fn current(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    name: &str,
    field: &str,
) -> Result<(Decimal, i32), Status> {
    let id = ctx.parse_name(name, COLLECTION, field)?;
    let row = sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM bond_yields WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("BOND_YIELD_NOT_FOUND", name))?;
    if let Some(by) = &row.superseded_by {
        return Err(ctx.errors().failed_precondition(
            "BOND_YIELD_SUPERSEDED",
            format!("{name} was corrected by {COLLECTION}/{by}; use the current value"),
        ));
    }
    Ok((row.average_yield, row.year))
}

/// Marks the value `b` corrects as superseded by the new value's id (the reference is checked at commit)
/// and returns that id: `{year}-{series}-r{n}`.
async fn supersede(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    b: &BondYield,
    series: BondYieldSeries,
    base: &str,
) -> Result<String, Status> {
    let old_id = pdop_kit::names::parse(&b.supersedes, COLLECTION).unwrap_or_default();
    let old = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM bond_yields WHERE id = $1 FOR UPDATE"
    ))
    .bind(old_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?
    .ok_or_else(|| ctx.errors().not_found("BOND_YIELD_NOT_FOUND", &b.supersedes))?;
    if old.year != b.year || old.to_proto().series != b.series || old.superseded_by.is_some() {
        return Err(ctx.errors().failed_precondition(
            "NOT_SUPERSEDABLE",
            format!(
                "{} is not the current {:?} value of {}",
                b.supersedes, series, b.year
            ),
        ));
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bond_yields WHERE year = $1 AND series = $2")
        .bind(b.year)
        .bind(series as i16)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    let id = format!("{base}-r{count}");
    sqlx::query("UPDATE bond_yields SET superseded_by = $2 WHERE id = $1")
        .bind(old_id)
        .bind(&id)
        .execute(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
    Ok(id)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateBondYieldRequest,
) -> Result<CreateBondYieldResponse, Status> {
    const METHOD: &str = "pricing.CreateBondYield";
    let b = req.bond_yield.unwrap_or_default();
    let mut v = Violations::new();
    if !(2000..=9999).contains(&b.year) {
        v.add("bond_yield.year", "must be a calendar year from 2000 to 9999");
    }
    let value = decimals::rate(b.average_yield.as_ref(), "bond_yield.average_yield", &mut v);
    if value.is_some_and(|y| y < Decimal::ZERO || y > MAX_YIELD) {
        v.add(
            "bond_yield.average_yield",
            "must be a decimal fraction within [0, 0.2], e.g. \"0.0170\" for 1.70%",
        );
    }
    let series = BondYieldSeries::try_from(b.series).unwrap_or_default();
    if series == BondYieldSeries::Unspecified {
        v.add("bond_yield.series", "must be CHINABOND_CURVE_10Y or OTHER");
    }
    for (field, text) in [
        ("bond_yield.averaging_method", &b.averaging_method),
        ("bond_yield.source_publisher", &b.source_publisher),
    ] {
        if text.trim().is_empty() {
            v.add(field, "is required: a yield is a sourced figure (DOMAIN §11)");
        }
    }
    if b.source_document.as_ref().is_none_or(|d| d.uri.is_empty()) {
        v.add("bond_yield.source_document", "must reference the source document");
    }
    if !b.supersedes.is_empty() && pdop_kit::names::parse(&b.supersedes, COLLECTION).is_none() {
        v.add("bond_yield.supersedes", pdop_kit::names::expected(COLLECTION));
    }
    v.into_result(ctx.errors())?;
    let value = value.unwrap_or_default();
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let base = format!("{}-{}", b.year, series_slug(series));
    let id = if b.supersedes.is_empty() {
        base
    } else {
        supersede(ctx, &mut tx, &b, series, &base).await?
    };
    let recorded = BondYield {
        name: String::new(),
        superseded_by: String::new(),
        recorded: Some(AuditInfo {
            actor: Some(actor(caller)),
            time: Some(timestamp(ctx.platform.clock.now())),
            ..Default::default()
        }),
        create_time: None,
        ..b.clone()
    };
    let inserted = sqlx::query_as::<_, Row>(&format!(
        "INSERT INTO bond_yields (id, year, series, average_yield, body, create_time)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    ))
    .bind(&id)
    .bind(b.year)
    .bind(series as i16)
    .bind(value)
    .bind(recorded.encode_to_vec())
    .bind(ctx.platform.clock.now())
    .fetch_one(&mut *tx)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(err) if is_unique_violation(&err) => {
            return Err(ctx.errors().already_exists(
                "YIELD_EXISTS",
                format!(
                    "{} already has a current {:?} value; correct it by setting `supersedes` to it",
                    b.year, series
                ),
            ));
        }
        Err(err) => return Err(ctx.db(err)),
    };
    let created = row.to_proto();
    let event = BondYieldRecorded {
        name: created.name.clone(),
        year: created.year,
        average_yield: created.average_yield.clone(),
        series: created.series,
        source_publisher: created.source_publisher.clone(),
        supersedes: created.supersedes.clone(),
        actor: Some(actor(caller)),
    };
    ctx.record(
        &mut tx,
        caller,
        METHOD,
        &created.name,
        serde_json::json!({ "year": created.year, "average_yield": value.to_string() }),
        ("pdop.pricing.bond_yield.recorded", &event),
    )
    .await?;
    let response = CreateBondYieldResponse {
        bond_yield: Some(created),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    Ok(response)
}

pub async fn get(ctx: &Ctx, req: GetBondYieldRequest) -> Result<GetBondYieldResponse, Status> {
    let id = ctx.parse_name(&req.name, COLLECTION, "name")?;
    let row = sqlx::query_as::<_, Row>(&format!("SELECT {COLUMNS} FROM bond_yields WHERE id = $1"))
        .bind(id)
        .fetch_optional(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("BOND_YIELD_NOT_FOUND", &req.name))?;
    Ok(GetBondYieldResponse {
        bond_yield: Some(row.to_proto()),
    })
}

pub async fn list(ctx: &Ctx, req: ListBondYieldsRequest) -> Result<ListBondYieldsResponse, Status> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(i32, String)>) = paging(req.page_size, &req.page_token, &mut v);
    v.into_result(ctx.errors())?;
    let (after_year, after_id) = after.unzip();
    let mut rows = sqlx::query_as::<_, Row>(&format!(
        "SELECT {COLUMNS} FROM bond_yields
         WHERE ($1::int IS NULL OR (year < $1 OR (year = $1 AND id > $2)))
           AND ($3 = 0 OR year = $3)
           AND ($4::smallint = 0 OR series = $4)
           AND ($5 OR superseded_by IS NULL)
         ORDER BY year DESC, id LIMIT $6"
    ))
    .bind(after_year)
    .bind(after_id)
    .bind(req.year)
    .bind(i16::try_from(req.series).unwrap_or(0))
    .bind(req.include_superseded)
    .bind(size + 1)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let next_page_token = page_after(&mut rows, size, |r| (r.year, r.id.clone()));
    Ok(ListBondYieldsResponse {
        bond_yields: rows.iter().map(Row::to_proto).collect(),
        next_page_token,
    })
}
