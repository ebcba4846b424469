//! The six data-quality-check RPCs (数据校核, §2.5).

use chrono::{DateTime, NaiveDate, Utc};
use pdop_kit::Violations;
use pdop_kit::auth::Role;
use pdop_kit::handling::{optional_name, paging};
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::review::v1 as pb;
use pdop_proto::review::v1::DataQualityCheck;
use pdop_rules::Calendar;
use pdop_rules::profiles::{CallerRole, OrgRole};

use super::parse;
use crate::context::Ctx;
use crate::domain::quality::{self, COLLECTION, Parties, STEP};
use crate::domain::{Error, ErrorReason, facts as rules_facts};
use crate::storage::{self, Tx, deadlines, facts, quality_checks};

const FIELD: &str = "data_quality_check";

async fn parties(tx: &mut Tx, c: &DataQualityCheck) -> Result<Parties, Error> {
    Ok(Parties {
        requester: facts::organization(tx, &c.requester).await?,
        responsible: facts::organization(tx, &c.responsible_provider).await?,
        jurisdiction: facts::jurisdiction(tx, &c.jurisdiction).await?,
    })
}

pub async fn create(
    ctx: &Ctx,
    call: Call,
    req: pb::CreateDataQualityCheckRequest,
) -> Result<pb::CreateDataQualityCheckResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut c = req.data_quality_check.unwrap_or_default();
    let mut v = Violations::new();
    if pdop_kit::names::parse(&c.resource, "resources").is_none() {
        v.add(
            format!("{FIELD}.resource"),
            pdop_kit::names::expected("resources"),
        );
    }
    if c.issue_kind == 0 {
        v.add(format!("{FIELD}.issue_kind"), "must be set");
    }
    parse::required(&c.description, &format!("{FIELD}.description"), &mut v);
    for (i, d) in c.evidence.iter().enumerate() {
        parse::document(Some(d), &format!("{FIELD}.evidence[{i}]"), &mut v);
    }
    optional_name(
        &c.data_use_application,
        "dataUseApplications",
        &format!("{FIELD}.data_use_application"),
        &mut v,
    );
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let resource = facts::resource(u.tx, &c.resource, &format!("{FIELD}.resource")).await?;
            rules_facts::holds(&resource, &c.field_keys, &format!("{FIELD}.field_keys"))?;
            let jurisdiction = resource.jurisdiction.clone().unwrap_or_default().name;
            let profile = facts::profile(u.tx, &u.state.profiles, &jurisdiction).await?;
            let rules = quality::rules(&profile);
            let caller = &u.call.caller;
            // An operator's agreement must cover the resource (inferred); a Hubei developer needs an ACTIVE
            // developer agreement (S-HB §四(七)1).
            let agreement = match quality::may_raise(caller, &rules)? {
                CallerRole::Operator => {
                    facts::covering_agreement(u.tx, &caller.organization, &c.resource).await?
                }
                CallerRole::Developer => {
                    match facts::developer_agreement(u.tx, &caller.organization).await? {
                        Some(name) => Some(facts::agreement(u.tx, &name, "name").await?),
                        None => None,
                    }
                }
            }
            .ok_or_else(|| {
                Error::refused(
                    ErrorReason::NoCoveringAgreement,
                    format!(
                        "{} has no ACTIVE agreement covering {}; data checks are raised on data one may use",
                        caller.organization, c.resource
                    ),
                )
            })?;
            let responsible = match rules.responder {
                OrgRole::DataProvider => resource.provider.clone().unwrap_or_default().name,
                OrgRole::ImplementingAgency => agreement.implementing_agency.clone().unwrap_or_default().name,
                other => facts::only_holder(u.tx, other, &jurisdiction).await?,
            };
            let deadline = profile.data.check_response.as_ref().map(|setting| {
                let d = pdop_rules::deadlines::deadline(
                    &u.state.calendar,
                    &profile,
                    quality::rule_id(&setting.source),
                    setting,
                    u.call.today(),
                );
                pdop_kit::convert::deadline(&d)
            });
            c.name = format!("{COLLECTION}/{}", storage::new_id());
            let p = Parties {
                requester: facts::organization(u.tx, &caller.organization).await?,
                responsible: facts::organization(u.tx, &responsible).await?,
                jurisdiction: facts::jurisdiction(u.tx, &jurisdiction).await?,
            };
            let change = quality::raise(&mut c, u.call, &profile.id, deadline.clone(), &p);
            let saved = quality_checks::insert(u.tx, &c, u.call.now).await?;
            if let Some(d) = &deadline {
                deadlines::open(u.tx, &c.name, STEP, &responsible, &jurisdiction, d).await?;
            }
            Ok(change.into_write(pb::CreateDataQualityCheckResponse {
                data_quality_check: Some(saved),
            }))
        })
    })
    .await
}

fn is_supervisor(call: &Call) -> bool {
    [Role::DataAuthority, Role::Evaluator, Role::Auditor]
        .iter()
        .any(|r| call.caller.has_role(*r))
}

pub async fn get(
    ctx: &Ctx,
    call: Call,
    req: pb::GetDataQualityCheckRequest,
) -> Result<pb::GetDataQualityCheckResponse, Error> {
    let c = quality_checks::read(&ctx.platform.pool, &req.name).await?;
    let party = quality::is_party(&call.caller, &c);
    super::may_read(ctx, &call, party, is_supervisor(&call), &c.jurisdiction, &c.name).await?;
    Ok(pb::GetDataQualityCheckResponse {
        data_quality_check: Some(c),
    })
}

pub async fn list(
    ctx: &Ctx,
    call: Call,
    req: pb::ListDataQualityChecksRequest,
) -> Result<pb::ListDataQualityChecksResponse, Error> {
    let mut v = Violations::new();
    let (size, after): (i64, Option<(DateTime<Utc>, String)>) =
        paging(req.page_size, &req.page_token, &mut v);
    let jurisdiction = optional_name(&req.jurisdiction, "jurisdictions", "jurisdiction", &mut v);
    let requester = optional_name(&req.requester, "organizations", "requester", &mut v);
    let responsible = optional_name(
        &req.responsible_provider,
        "organizations",
        "responsible_provider",
        &mut v,
    );
    let resource = optional_name(&req.resource, "resources", "resource", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    let supervised = super::supervised(ctx, &call, is_supervisor(&call)).await?;
    let (checks, next) = quality_checks::list(
        &ctx.platform.pool,
        quality_checks::Filter {
            jurisdiction,
            requester,
            responsible,
            resource,
            state: req.state,
            overdue_on: req.overdue.then(|| call.today()),
            visible_to: pdop_kit::names::parse(&call.caller.organization, "organizations")
                .unwrap_or_default(),
            supervised,
            size,
            after,
        },
    )
    .await?;
    Ok(pb::ListDataQualityChecksResponse {
        data_quality_checks: checks,
        next_page_token: next,
    })
}

/// Working days from the day of receipt (not counted) to `today` (counted), as D19 counts them.
fn working_days(calendar: &Calendar, c: &DataQualityCheck, today: NaiveDate) -> i32 {
    let received = c
        .receive_time
        .as_ref()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, 0))
        .map(pdop_kit::clock::china_date);
    let Some(mut day) = received.and_then(|d| d.succ_opt()) else {
        return 0;
    };
    let mut n = 0;
    while day <= today {
        n += i32::from(calendar.is_working_day(day));
        day = day.succ_opt().unwrap_or(today.succ_opt().unwrap_or(day));
    }
    n
}

pub async fn respond(
    ctx: &Ctx,
    call: Call,
    req: pb::RespondDataQualityCheckRequest,
) -> Result<pb::RespondDataQualityCheckResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let response = req.response.unwrap_or_default();
    let mut v = Violations::new();
    quality::check_response(&response, call.today(), &mut v);
    for (i, d) in response.attachments.iter().enumerate() {
        parse::document(Some(d), &format!("response.attachments[{i}]"), &mut v);
    }
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = quality_checks::lock(u.tx, &req.name, &req.etag).await?;
            let p = parties(u.tx, &c).await?;
            let days = working_days(&u.state.calendar, &c, u.call.today());
            let change = quality::respond(&mut c, u.call, response, days, &p)?;
            deadlines::meet(u.tx, &c.name, STEP, u.call.now).await?;
            let saved = quality_checks::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::RespondDataQualityCheckResponse {
                data_quality_check: Some(saved),
            }))
        })
    })
    .await
}

pub async fn close(
    ctx: &Ctx,
    call: Call,
    req: pb::CloseDataQualityCheckRequest,
) -> Result<pb::CloseDataQualityCheckResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    if !req.accept_response && req.comment.trim().is_empty() {
        return Err(Error::invalid(
            "comment",
            "a disputed response is closed with a comment saying why",
        ));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = quality_checks::lock(u.tx, &req.name, &req.etag).await?;
            let p = parties(u.tx, &c).await?;
            let change = quality::close(&mut c, u.call, req.accept_response, req.comment, &p)?;
            let saved = quality_checks::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::CloseDataQualityCheckResponse {
                data_quality_check: Some(saved),
            }))
        })
    })
    .await
}

pub async fn withdraw(
    ctx: &Ctx,
    call: Call,
    req: pb::WithdrawDataQualityCheckRequest,
) -> Result<pb::WithdrawDataQualityCheckResponse, Error> {
    let call = call.with_request(&req.request_id, &req);
    let mut v = Violations::new();
    parse::required(&req.reason, "reason", &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = quality_checks::lock(u.tx, &req.name, &req.etag).await?;
            let p = parties(u.tx, &c).await?;
            let change = quality::withdraw(&mut c, u.call, req.reason, &p)?;
            deadlines::meet_all(u.tx, &c.name, u.call.now).await?;
            let saved = quality_checks::save(u.tx, &c, u.call.now).await?;
            Ok(change.into_write(pb::WithdrawDataQualityCheckResponse {
                data_quality_check: Some(saved),
            }))
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_skip_the_day_of_receipt_and_the_national_day_holiday() {
        // D19 counts from receipt, the trigger day not counted (§0). Received Wed 2026-09-30 (16:00 UTC is
        // 10-01 00:00 in China, so use 02:00 UTC): 10-01..10-07 are holidays, 10-08 Thu and 10-09 Fri work.
        let calendar = Calendar::builtin();
        let received = chrono::NaiveDate::from_ymd_opt(2026, 9, 30)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap()
            .and_utc();
        let c = DataQualityCheck {
            receive_time: Some(pdop_kit::convert::timestamp(received)),
            ..Default::default()
        };
        let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(working_days(&calendar, &c, day(9, 30)), 0);
        assert_eq!(working_days(&calendar, &c, day(10, 7)), 0);
        assert_eq!(working_days(&calendar, &c, day(10, 9)), 2);
    }
}
