//! EVALUATION_FOLLOW_UP obligations (REVIEW-EVALUATION §3.8): opened when an evaluation fact recommends a measure
//! that only an authority may decide, owed by the data authority of the agreement's jurisdiction (for a developer
//! subject, by the operator that evaluated it, on the developer agreement), due `evaluation.follow_up_period` after
//! the fact. Met by SuspendAgreement, TerminateAgreement, TerminateDeveloperAgreement, a blacklist measure against
//! the developer, or RecordEvaluationFollowUp; a newer one on the same subject replaces the open one.

use chrono::NaiveDate;
use pdop_proto::common::OrganizationRole;
use pdop_proto::registry::v1::{Agreement, ObligationGround, ObligationKind};
use pdop_rules::deadlines::{deadline, rule_id};
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling};
use crate::convert;
use crate::deadlines::{self, Obligation};
use crate::domain::consequence::FollowUp;
use crate::names;

const KIND: ObligationKind = ObligationKind::EvaluationFollowUp;

/// Where the subject of a consequence lives and who must follow it up.
pub struct Party {
    pub jurisdiction_id: String,
    /// `organizations/{…}`.
    pub responsible: String,
}

/// The jurisdiction and responsible organization of `subject` (`agreements/…` or `developerAgreements/…`); `None`
/// when the registry holds no such agreement.
pub async fn locate(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    subject: &str,
) -> Result<Option<Party>, Status> {
    if let Some(id) = names::parse(subject, "developerAgreements") {
        // The operator evaluates its developers (S-YN Art.26) and acts on the result (inferred).
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT jurisdiction_id, operator_id FROM developer_agreements WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| ctx.db(e))?;
        return Ok(row.map(|(jurisdiction_id, operator)| Party {
            jurisdiction_id,
            responsible: names::organization(&operator),
        }));
    }
    let Some(id) = names::parse(subject, "agreements") else {
        return Ok(None);
    };
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT jurisdiction_id, body FROM agreements WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    let Some((jurisdiction_id, body)) = row else {
        return Ok(None);
    };
    let filed_with = Agreement::decode(body.as_slice())
        .map(|a| a.filed_with)
        .unwrap_or_default();
    let responsible = data_authority(ctx, tx, &jurisdiction_id, filed_with).await?;
    Ok(Some(Party {
        jurisdiction_id,
        responsible,
    }))
}

/// The data authority of the jurisdiction: the one the registry knows there; where it knows none or several, the
/// one the agreement was filed with.
async fn data_authority(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    jurisdiction_id: &str,
    filed_with: String,
) -> Result<String, Status> {
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM organizations WHERE jurisdiction_id = $1 AND $2 = ANY(roles) ORDER BY id LIMIT 2",
    )
    .bind(jurisdiction_id)
    .bind(OrganizationRole::DataAuthority as i16)
    .fetch_all(&mut **tx)
    .await
    .map_err(|e| ctx.db(e))?;
    Ok(match found.as_slice() {
        [only] => names::organization(only),
        _ if !filed_with.is_empty() => filed_with,
        [first, ..] => names::organization(first),
        [] => String::new(),
    })
}

/// Opens the follow-up `f` for `party`, due the profile's `evaluation.follow_up_period` after `date`, the fact's
/// day in Asia/Shanghai. A profile without the period opens nothing.
pub async fn open(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    f: FollowUp,
    party: &Party,
    date: NaiveDate,
) -> Result<(), Status> {
    let profile = ctx.profile_of(tx, &party.jurisdiction_id).await?;
    let Some(period) = &profile.evaluation.follow_up_period else {
        return Ok(());
    };
    let rule = rule_id("evaluation_follow_up", &period.source);
    let due = convert::deadline(&deadline(&ctx.calendar, &profile, &rule, period, date));
    let jurisdiction = names::jurisdiction(&party.jurisdiction_id);
    let obligation = Obligation {
        kind: KIND,
        subject: &f.subject,
        responsible: &party.responsible,
        jurisdiction: &jurisdiction,
    };
    let ground = ObligationGround {
        source: f.source.clone(),
        consequences: f.consequences.clone(),
        description: f.description.clone(),
        follow_up: None,
    };
    deadlines::open_grounded(ctx, tx, obligation, &due, Some(ground)).await
}

/// A registry measure on `subject` (suspension, termination) meets its open follow-up.
pub async fn meet(ctx: &Ctx, tx: &mut Transaction<'static, Postgres>, subject: &str) -> Result<(), Status> {
    deadlines::meet(ctx, tx, subject, KIND).await
}

/// A blacklist measure against `developer` meets the follow-ups open on its developer agreements.
pub async fn meet_for_developer(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    developer: &str,
) -> Result<(), Status> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM developer_agreements WHERE developer_id = $1 ORDER BY id")
            .bind(developer.trim_start_matches("organizations/"))
            .fetch_all(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    for id in ids {
        meet(ctx, tx, &format!("developerAgreements/{id}")).await?;
    }
    Ok(())
}
