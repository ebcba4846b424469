//! What other services' facts do to developer admissions (§2.7 consumers), in the transaction the kit's consumer
//! gives: objections disclosure forwards, the developer agreement the registry signed on an admission, and the
//! exits its facts cause. A redelivered or second fact finds nothing to change.

use pdop_kit::names;
use pdop_kit::uow::{Call, RecordedChange};
use pdop_proto::disclosure::events::v1::ObjectionFiled;
use pdop_proto::registry::events::v1::{
    BlacklistEntryAdded, DeveloperAgreementEnded, DeveloperAgreementSigned,
};
use pdop_proto::registry::v1::BlacklistAction;
use pdop_proto::review::v1::{AdmissionExitReason as ExitReason, DeveloperAdmission};

use crate::domain::admission::COLLECTION;
use crate::domain::{Error, admission_exit, admission_notice};
use crate::storage::{Tx, admission_objections, admissions};

/// The admission `name`, locked; `None` when this service does not hold it (not ours).
async fn ours(tx: &mut Tx, name: &str) -> Result<Option<DeveloperAdmission>, Error> {
    if names::parse(name, COLLECTION).is_none() {
        return Ok(None);
    }
    match admissions::lock(tx, name, "", "developer_admission").await {
        Ok(a) => Ok(Some(a)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `pdop.disclosure.objection.filed` for a developer notice (deciding service "review"): stored PENDING.
pub async fn objection_filed(
    tx: &mut Tx,
    call: &Call,
    filed: &ObjectionFiled,
) -> Result<Vec<RecordedChange>, Error> {
    let Some(id) = names::parse(&filed.name, "objections") else {
        return Ok(Vec::new());
    };
    if filed.deciding_service != "review" {
        return Ok(Vec::new());
    }
    let Some(mut a) = ours(tx, &filed.subject).await? else {
        return Ok(Vec::new());
    };
    let admission_id = names::parse(&a.name, COLLECTION).unwrap_or_default().to_owned();
    let o = admission_notice::objection_of(&a, filed, id);
    if !admission_objections::insert(tx, id, &admission_id, &o, call.now).await? {
        return Ok(Vec::new());
    }
    let change = admission_notice::received(&mut a, &o);
    admissions::save(tx, &a, call.now).await?;
    Ok(vec![change.recorded()])
}

/// `developer_agreement.signed` naming an admission: the admission records its developer agreement.
pub async fn agreement_signed(
    tx: &mut Tx,
    call: &Call,
    e: &DeveloperAgreementSigned,
) -> Result<Vec<RecordedChange>, Error> {
    let Some(mut a) = ours(tx, &e.developer_admission).await? else {
        return Ok(Vec::new());
    };
    let Some(change) = admission_exit::agreement_signed(&mut a, &e.name) else {
        return Ok(Vec::new());
    };
    admissions::save(tx, &a, call.now).await?;
    Ok(vec![change.recorded()])
}

async fn exit_each(
    tx: &mut Tx,
    call: &Call,
    admissions_named: Vec<String>,
    reason: ExitReason,
    description: &str,
    related: &str,
) -> Result<Vec<RecordedChange>, Error> {
    let mut changes = Vec::new();
    for name in admissions_named {
        let Some(mut a) = ours(tx, &name).await? else {
            continue;
        };
        let p = admissions::parties(tx, &a).await?;
        let exited = admission_exit::exit_on_fact(
            &mut a,
            call,
            reason,
            description.to_owned(),
            related.to_owned(),
            &p,
        );
        if let Some(change) = exited {
            admissions::save(tx, &a, call.now).await?;
            changes.push(change.recorded());
        }
    }
    Ok(changes)
}

/// `developer_agreement.ended` naming an admission → EXITED (AGREEMENT_ENDED); a no-op once exited.
pub async fn agreement_ended(
    tx: &mut Tx,
    call: &Call,
    e: &DeveloperAgreementEnded,
) -> Result<Vec<RecordedChange>, Error> {
    if e.developer_admission.is_empty() {
        return Ok(Vec::new());
    }
    let description = format!("开发利用协议终止 {} {}", e.name, e.reason);
    let named = vec![e.developer_admission.clone()];
    exit_each(
        tx,
        call,
        named,
        ExitReason::AgreementEnded,
        description.trim(),
        &e.name,
    )
    .await
}

/// `blacklist_entry.added` with DISQUALIFY or BAR → every ADMITTED admission of the organization EXITED
/// (DISQUALIFIED, S-YN Art.21); the registry's second fact about the same disqualification changes nothing.
pub async fn blacklisted(
    tx: &mut Tx,
    call: &Call,
    e: &BlacklistEntryAdded,
) -> Result<Vec<RecordedChange>, Error> {
    let action = BlacklistAction::try_from(e.action).unwrap_or_default();
    if !matches!(action, BlacklistAction::Disqualify | BlacklistAction::Bar) {
        return Ok(Vec::new());
    }
    let org = e
        .organization
        .as_ref()
        .map(|o| o.name.as_str())
        .unwrap_or_default();
    let Some(org_id) = names::parse(org, "organizations") else {
        return Ok(Vec::new());
    };
    let named = admissions::admitted(tx, None, Some(org_id)).await?;
    let description = format!("取消开发利用资格 ({action:?}) {}", e.name);
    exit_each(tx, call, named, ExitReason::Disqualified, &description, &e.name).await
}

/// R-RV-15: the operator agreement ended (TERMINATED or EXPIRED) → every ADMITTED admission under it EXITED
/// (OPERATOR_AGREEMENT_ENDED).
pub async fn operator_agreement_ended(
    tx: &mut Tx,
    call: &Call,
    agreement: &str,
) -> Result<Vec<RecordedChange>, Error> {
    let Some(id) = names::parse(agreement, "agreements") else {
        return Ok(Vec::new());
    };
    let named = admissions::admitted(tx, Some(id), None).await?;
    let description = format!("运营协议终止/到期 {agreement}");
    exit_each(
        tx,
        call,
        named,
        ExitReason::OperatorAgreementEnded,
        &description,
        agreement,
    )
    .await
}
