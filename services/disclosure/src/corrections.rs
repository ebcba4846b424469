//! Corrections (更正/撤回): the only way to fix a published entry. A correction is a new entry that references the
//! one it corrects; the original stays in the log unchanged and is only annotated (corrected_by, retracted).

use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::handling::Handling as _;
use pdop_proto::disclosure::v1::{
    Correction, CorrectionKind, CreateCorrectionRequest, CreateCorrectionResponse, Entry, EntryKind,
    EntrySource,
};
use tonic::Status;

use crate::context::Ctx;
use crate::log::{self, COLUMNS, Draft, Row};

/// The retraction of a notice entry after an upheld objection.
pub fn retraction(
    original: &Entry,
    sequence: i64,
    reason: &str,
    objection: &str,
    source: EntrySource,
) -> Draft {
    Draft {
        kind: EntryKind::Correction,
        jurisdiction: original.jurisdiction.clone(),
        subject: format!("entries/{sequence}"),
        discloser: original.discloser.clone(),
        title: format!("撤回：{}", original.title),
        body: pdop_proto::disclosure::v1::EntryBody {
            text: format!("因异议成立，撤回第{sequence}号披露：{reason}"),
            ..Default::default()
        },
        source,
        correction: Some(Correction {
            corrects: format!("entries/{sequence}"),
            kind: CorrectionKind::Retraction as i32,
            reason: reason.to_owned(),
            objection: objection.to_owned(),
            ..Default::default()
        }),
        related_entries: vec![format!("entries/{sequence}")],
        ..Default::default()
    }
}

fn validate(req: &CreateCorrectionRequest, v: &mut Violations) -> Option<i64> {
    let sequence = req
        .entry
        .strip_prefix("entries/")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s >= 0);
    if sequence.is_none() {
        v.add("entry", "must be entries/{sequence}");
    }
    if req.reason.trim().is_empty() {
        v.add("reason", "must say why the entry is corrected (更正/撤回理由)");
    }
    match CorrectionKind::try_from(req.kind).unwrap_or_default() {
        CorrectionKind::Amendment => {
            if req
                .body
                .as_ref()
                .is_none_or(|b| b.fields.is_empty() && b.text.trim().is_empty())
            {
                v.add("body", "an amendment carries the full corrected content");
            }
            if req.corrected_fields.is_empty() {
                v.add("corrected_fields", "an amendment names the fields it changes");
            }
        }
        CorrectionKind::Retraction => {}
        CorrectionKind::Unspecified => v.add("kind", "must be AMENDMENT or RETRACTION"),
    }
    sequence
}

/// The data authority corrects entries of its jurisdiction and those below it (`supervises`); agencies and
/// operators correct their own. An empty claim never widens access (THREATS H2, M8).
fn may_correct(caller: &Caller, original: &Entry, supervises: bool) -> bool {
    let own = original
        .discloser
        .as_ref()
        .is_some_and(|d| !d.name.is_empty() && d.name == caller.organization);
    (caller.has_role(Role::DataAuthority) && supervises)
        || ((caller.has_role(Role::ImplementingAgency) || caller.has_role(Role::Operator)) && own)
}

pub async fn create(
    ctx: &Ctx,
    caller: &Caller,
    req: CreateCorrectionRequest,
) -> Result<CreateCorrectionResponse, Status> {
    const METHOD: &str = "disclosure.CreateCorrection";
    let mut v = Violations::new();
    let sequence = validate(&req, &mut v);
    v.into_result(ctx.errors())?;
    let sequence = sequence.unwrap_or_default();
    let mut tx = ctx.begin().await?;
    if let Some(previous) = ctx.replay(&mut tx, METHOD, &req.request_id, caller).await? {
        return Ok(previous);
    }
    let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM entries WHERE sequence = $1"))
        .bind(sequence)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| ctx.db(e))?
        .ok_or_else(|| ctx.errors().not_found("ENTRY_NOT_FOUND", &req.entry))?;
    let original = row.to_proto(&ctx.config.http_base_url);
    let entry_jurisdiction = original
        .jurisdiction
        .as_ref()
        .map(|j| j.name.as_str())
        .unwrap_or_default();
    let ancestry = pdop_kit::scope::ancestry(&mut *tx, entry_jurisdiction)
        .await
        .map_err(|e| ctx.db(e))?;
    let supervises = pdop_kit::scope::supervises(caller, &ancestry);
    if !may_correct(caller, &original, supervises) {
        return Err(ctx.errors().permission_denied(
            "NOT_THE_DISCLOSER",
            format!(
                "{} is corrected by its discloser or the data authority",
                req.entry
            ),
        ));
    }
    if original.retracted {
        return Err(ctx
            .errors()
            .failed_precondition("ENTRY_RETRACTED", format!("{} is already retracted", req.entry)));
    }
    let kind = CorrectionKind::try_from(req.kind).unwrap_or_default();
    let title = if req.title.trim().is_empty() {
        let prefix = if kind == CorrectionKind::Retraction {
            "撤回"
        } else {
            "更正"
        };
        format!("{prefix}：{}", original.title)
    } else {
        req.title.trim().to_owned()
    };
    let draft = Draft {
        kind: EntryKind::Correction,
        jurisdiction: original.jurisdiction.clone(),
        subject: req.entry.clone(),
        discloser: original.discloser.clone(),
        title,
        body: if kind == CorrectionKind::Amendment {
            req.body.clone().unwrap_or_default()
        } else {
            pdop_proto::disclosure::v1::EntryBody {
                text: req.reason.trim().to_owned(),
                ..Default::default()
            }
        },
        source: EntrySource {
            service: "disclosure".to_owned(),
            request_id: req.request_id.clone(),
            organization: caller.organization.clone(),
            ..Default::default()
        },
        correction: Some(Correction {
            corrects: req.entry.clone(),
            kind: kind as i32,
            reason: req.reason.trim().to_owned(),
            corrected_fields: req.corrected_fields.clone(),
            ..Default::default()
        }),
        related_entries: vec![req.entry.clone()],
        ..Default::default()
    };
    let appended = log::append(&mut tx, draft, ctx.platform.clock.now())
        .await
        .map_err(|e| ctx.internal(e))?
        .ok_or_else(|| Status::internal("a correction has no source event and is always appended"))?;
    ctx.audit(
        &mut tx,
        caller,
        METHOD,
        &appended.name,
        serde_json::json!({ "corrects": req.entry, "kind": kind.as_str_name() }),
    )
    .await?;
    let mut corrected = original;
    corrected.corrected_by.push(appended.name.clone());
    corrected.retracted |= kind == CorrectionKind::Retraction;
    let response = CreateCorrectionResponse {
        correction_entry: Some(appended),
        original: Some(corrected),
    };
    ctx.remember(&mut tx, METHOD, &req.request_id, caller, &response)
        .await?;
    ctx.commit(tx).await?;
    ctx.log.appended.notify_one();
    Ok(response)
}
