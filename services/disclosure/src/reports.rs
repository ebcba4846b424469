//! Disclosure reports (主动披露): the annual disclosure of the prior year by an implementing agency or an operator
//! (N4; due 31 March, D11; a late one is accepted and flagged), an operator's resource-usage disclosure (N2
//! Art.19) and an operator-selection notice. Each is published as one entry. The annual report of an
//! organization can also be generated from the log itself, bound to the signed tree head it was built from.

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate};
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::date;
use pdop_kit::handling::Handling as _;
use pdop_proto::common::{Deadline, DeadlineUnit, JurisdictionRef, OrganizationRef, SourceCitation};
use pdop_proto::disclosure::v1::{
    DiscloserRole, DisclosureReport, DisclosureReportKind, EntryBody, EntryField, EntryKind, EntrySource,
    PublishDisclosureReportRequest, PublishDisclosureReportResponse,
};
use serde_json::{Value, json};
use tonic::Status;

use crate::context::Ctx;
use crate::log::{self, COLUMNS, Draft, Row};
use crate::tree_heads;

/// The sections N4 names for an annual disclosure (report.proto), by the discloser's role.
fn required_sections(role: DiscloserRole) -> &'static [&'static str] {
    match role {
        DiscloserRole::ImplementingAgency => &["agency_info", "authorization_info", "cap_prices"],
        DiscloserRole::Operator => &[
            "operator_info",
            "authorized_resources",
            "product_list",
            "specific_prices",
        ],
        DiscloserRole::Unspecified => &[],
    }
}

/// 31 March of the year after `year` (N4; D11).
fn annual_due(year: i32) -> Option<NaiveDate> {
    // THREATS L9: checked; a year at i32::MAX has no next year.
    NaiveDate::from_ymd_opt(year.checked_add(1)?, 3, 31)
}

fn validate(r: &DisclosureReport, today: NaiveDate, v: &mut Violations) {
    let kind = DisclosureReportKind::try_from(r.kind).unwrap_or_default();
    let role = DiscloserRole::try_from(r.discloser_role).unwrap_or_default();
    if kind == DisclosureReportKind::Unspecified {
        v.add(
            "report.kind",
            "must be ANNUAL, RESOURCE_USAGE or OPERATOR_SELECTION",
        );
    }
    let role_fits = match kind {
        DisclosureReportKind::Annual => role != DiscloserRole::Unspecified,
        DisclosureReportKind::ResourceUsage => role == DiscloserRole::Operator,
        DisclosureReportKind::OperatorSelection => role == DiscloserRole::ImplementingAgency,
        DisclosureReportKind::Unspecified => true,
    };
    if !role_fits {
        v.add(
            "report.discloser_role",
            "must fit the kind: ANNUAL by either, RESOURCE_USAGE by the operator, OPERATOR_SELECTION by the agency",
        );
    }
    if pdop_kit::names::parse(&r.jurisdiction, "jurisdictions").is_none() {
        v.add("report.jurisdiction", pdop_kit::names::expected("jurisdictions"));
    }
    if r.title.trim().is_empty() {
        v.add("report.title", "must give the report a title");
    }
    let mut keys = HashSet::new();
    if r.sections
        .iter()
        .any(|s| s.key.trim().is_empty() || !keys.insert(s.key.as_str()))
    {
        v.add("report.sections", "each section needs a key of its own");
    }
    if kind == DisclosureReportKind::Annual {
        if !(2000..today.year()).contains(&r.year) {
            v.add(
                "report.year",
                "must be a past year: the annual disclosure covers the prior year",
            );
        }
        let missing: Vec<&str> = required_sections(role)
            .iter()
            .copied()
            .filter(|k| !keys.contains(k))
            .collect();
        if !missing.is_empty() {
            v.add(
                "report.sections",
                format!(
                    "an annual disclosure has the sections N4 names; missing: {}",
                    missing.join(", ")
                ),
            );
        }
    }
    if kind == DisclosureReportKind::ResourceUsage && r.period.is_none() {
        v.add("report.period", "must give the period the usage covers");
    }
    if r.referenced_entries.iter().any(|e| {
        e.strip_prefix("entries/")
            .is_none_or(|s| s.parse::<u64>().is_err())
    }) {
        v.add("report.referenced_entries", "must be entries/{sequence}");
    }
}

fn body(r: &DisclosureReport) -> EntryBody {
    let fields = r
        .sections
        .iter()
        .flat_map(|s| {
            s.fields.iter().map(|f| EntryField {
                key: format!("{}.{}", s.key, f.key),
                ..f.clone()
            })
        })
        .collect();
    let text: Vec<String> = std::iter::once(r.text.clone())
        .chain(r.sections.iter().map(|s| format!("{}\n{}", s.heading, s.text)))
        .filter(|t| !t.trim().is_empty())
        .collect();
    EntryBody {
        fields,
        text: text.join("\n\n"),
        attachments: r.attachments.clone(),
    }
}

pub async fn publish(
    ctx: &Ctx,
    caller: &Caller,
    req: PublishDisclosureReportRequest,
) -> Result<PublishDisclosureReportResponse, Status> {
    const METHOD: &str = "disclosure.PublishDisclosureReport";
    let r = req.report.unwrap_or_default();
    let mut v = Violations::new();
    validate(&r, ctx.platform.clock.today(), &mut v);
    v.into_result(ctx.errors())?;
    let role = DiscloserRole::try_from(r.discloser_role).unwrap_or_default();
    let needed = match role {
        DiscloserRole::Operator => Role::Operator,
        _ => Role::ImplementingAgency,
    };
    if !caller.has_role(needed) {
        return Err(ctx.errors().permission_denied(
            "ROLE_MISMATCH",
            format!("disclosing as {} needs the {needed:?} role", role.as_str_name()),
        ));
    }
    let kind = DisclosureReportKind::try_from(r.kind).unwrap_or_default();
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let org_id = pdop_kit::names::parse(&caller.organization, "organizations")
        .unwrap_or_default()
        .to_owned();
    let (entry_kind, due) = match kind {
        DisclosureReportKind::Annual => (EntryKind::AnnualDisclosure, annual_due(r.year)),
        DisclosureReportKind::ResourceUsage => (EntryKind::ResourceUsage, None),
        _ => (EntryKind::OperatorSelection, None),
    };
    let draft = Draft {
        kind: entry_kind,
        jurisdiction: Some(JurisdictionRef {
            name: r.jurisdiction.clone(),
            ..Default::default()
        }),
        subject: caller.organization.clone(),
        discloser: Some(OrganizationRef {
            name: caller.organization.clone(),
            ..Default::default()
        }),
        title: r.title.trim().to_owned(),
        body: body(&r),
        source: EntrySource {
            service: "disclosure".to_owned(),
            request_id: req.request_id.clone(),
            organization: caller.organization.clone(),
            ..Default::default()
        },
        related_entries: r.referenced_entries.clone(),
        due: due.map(|d| Deadline {
            due_date: Some(date(d)),
            unit: DeadlineUnit::CalendarDays as i32,
            source: Some(SourceCitation {
                rule_id: "D11".to_owned(),
                source_id: "N4".to_owned(),
                quote: "每年3月31日前披露上一年度情况".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        late: due.is_some_and(|d| ctx.platform.clock.today() > d),
        ..Default::default()
    };
    // The append takes the log's lock first; the audit row comes after every lock.
    let entry = log::append(&mut tx, draft, ctx.platform.clock.now())
        .await
        .map_err(|e| ctx.internal(e))?
        .ok_or_else(|| Status::internal("an API report has no source event and is always appended"))?;
    if kind == DisclosureReportKind::Annual {
        let inserted = sqlx::query(
            "INSERT INTO annual_disclosures (organization_id, role, year, sequence) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&org_id)
        .bind(role as i16)
        .bind(r.year)
        .bind(entry.sequence)
        .execute(&mut *tx)
        .await
        .map_err(|e| ctx.db(e))?;
        if inserted.rows_affected() == 0 {
            return Err(ctx.errors().already_exists(
                "ANNUAL_DISCLOSURE_EXISTS",
                format!(
                    "{} already published its {} annual disclosure as {}; correct it with CreateCorrection",
                    caller.organization,
                    r.year,
                    role.as_str_name()
                ),
            ));
        }
    }
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &entry.name,
        json!({ "kind": kind.as_str_name(), "year": r.year, "late": entry.late }),
    )
    .await?;
    let response = PublishDisclosureReportResponse { entry: Some(entry) };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    ctx.log.appended.notify_one();
    Ok(response)
}

/// The annual report of `organization` (an id) for `year`, generated from the log: its entries of the year (by
/// publish date in Asia/Shanghai) as of the latest signed tree head, which the report names so that anyone can
/// check each listed entry against it.
pub async fn generated(ctx: &Ctx, organization: &str, year: i32) -> Result<Value, Status> {
    let head = tree_heads::latest(ctx.pool())
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| Status::unavailable("the log has not signed a tree head yet"))?;
    let (Some(start), Some(end)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        year.checked_add(1)
            .and_then(|next| NaiveDate::from_ymd_opt(next, 1, 1)),
    ) else {
        return Err(Status::invalid_argument("year is out of range"));
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM entries
         WHERE discloser_id = $1 AND sequence < $2
           AND (publish_time AT TIME ZONE 'Asia/Shanghai')::date >= $3
           AND (publish_time AT TIME ZONE 'Asia/Shanghai')::date < $4
         ORDER BY sequence"
    ))
    .bind(organization)
    .bind(head.tree_size)
    .bind(start)
    .bind(end)
    .fetch_all(ctx.pool())
    .await
    .map_err(|e| ctx.db(e))?;
    let base = ctx.config.http_base_url.trim_end_matches('/');
    let mut by_kind: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    let mut annual = Vec::new();
    for row in &rows {
        let e = row.to_proto(base);
        let kind = EntryKind::try_from(e.kind).unwrap_or_default();
        if kind == EntryKind::AnnualDisclosure {
            annual.push(e.name.clone());
        }
        by_kind.entry(kind.as_str_name()).or_default().push(json!({
            "entry": e.name,
            "title": e.title,
            "url": e.html_url,
            "leafHash": hex::encode(&e.leaf_hash),
            "retracted": e.retracted,
        }));
    }
    let head = head.to_proto();
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    Ok(json!({
        "organization": format!("organizations/{organization}"),
        "year": year,
        "generatedAt": ctx.platform.clock.now().to_rfc3339(),
        "due": annual_due(year).map(|d| d.to_string()),
        "annualDisclosures": annual,
        "entryCount": rows.len(),
        "entriesByKind": by_kind,
        "treeHead": {
            "treeSize": head.tree_size.to_string(),
            "rootHash": b64(&head.root_hash),
            "signature": b64(&head.signature),
            "keyId": head.key_id,
        },
    }))
}
