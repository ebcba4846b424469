//! The over-collection carried into a period (N1 §四: 上一周期内实际收入超过最高准许收入的部分…予以扣减，超出较多的，
//! 可在不同周期平滑处理): a settlement's installment at offset k falls due in the k-th period after it, so a case
//! carries, from each case k periods back along its predecessors, that case's installment at offset k.

use pdop_proto::common::Money;
use pdop_proto::pricing::v1::{PeriodSettlement, PeriodSettlementState, PricingCase, PricingCaseState};
use pdop_rules::Cny;
use prost::Message;
use rust_decimal::Decimal;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling};
use crate::{cases, decimals};

/// Smoothing never reaches further back than this many periods; it bounds the walk along predecessors.
const MAX_OFFSET: i32 = 10;

/// The deduction falling due in the period that follows `predecessor` (a case name).
pub async fn due_after(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    predecessor: &str,
) -> Result<Decimal, Status> {
    let mut total = Cny::ZERO;
    let mut name = predecessor.to_owned();
    for offset in 1..=MAX_OFFSET {
        let Some(id) = pdop_kit::names::parse(&name, "pricingCases") else {
            break;
        };
        let body: Option<Vec<u8>> = sqlx::query_scalar("SELECT body FROM pricing_cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
        let Some(case) = body.and_then(|b| PricingCase::decode(b.as_slice()).ok()) else {
            break;
        };
        if let Some(settlement_id) = pdop_kit::names::parse(&case.settlement, "periodSettlements") {
            let body: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT body FROM period_settlements WHERE id = $1")
                    .bind(settlement_id)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(|e| ctx.db(e))?;
            let settlement = body
                .and_then(|b| PeriodSettlement::decode(b.as_slice()).ok())
                .filter(|s| s.state == PeriodSettlementState::Completed as i32);
            for (i, installment) in settlement.iter().flat_map(|s| s.installments.iter().enumerate()) {
                if installment.period_offset == offset {
                    let field = format!("installments[{i}].amount");
                    let amount = decimals::stored_required(
                        ctx,
                        installment.amount.as_ref(),
                        &case.settlement,
                        &field,
                    )?;
                    total = decimals::computed(ctx, total.checked_add(amount), "the deduction carried")?;
                }
            }
        }
        name = case.predecessor;
    }
    Ok(total.as_decimal())
}

/// The predecessor a new case of `agreement` follows, locked, with the deduction it passes on. A case that
/// continues an agreement's pricing must name the case it follows; `None` for a first pricing.
pub async fn predecessor_of_new(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    agreement_id: &str,
    predecessor: &str,
) -> Result<Option<(cases::Row, PricingCase, Decimal)>, Status> {
    if predecessor.is_empty() {
        let running: Option<String> = sqlx::query_scalar(
            "SELECT id FROM pricing_cases p WHERE agreement_id = $1 AND state >= $2
               AND NOT EXISTS (SELECT 1 FROM pricing_cases s WHERE s.predecessor_id = p.id)
             ORDER BY id LIMIT 1",
        )
        .bind(agreement_id)
        .bind(PricingCaseState::InEffect as i16)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| ctx.db(e))?;
        if let Some(id) = running {
            return Err(ctx.errors().failed_precondition(
                "PREDECESSOR_REQUIRED",
                format!(
                    "agreements/{agreement_id} is priced by pricingCases/{id}; the next period names it as predecessor"
                ),
            ));
        }
        return Ok(None);
    }
    let row: cases::Row = ctx.locked(tx, predecessor, "").await?;
    let case = row.to_proto();
    if case.agreement != format!("agreements/{agreement_id}") {
        return Err(ctx.errors().failed_precondition(
            "PREDECESSOR_OF_ANOTHER_AGREEMENT",
            format!("{predecessor} prices {}", case.agreement),
        ));
    }
    ctx.require_state(
        &case.name,
        cases::state_of(&case),
        &[PricingCaseState::InEffect, PricingCaseState::Settled],
        "a successor",
    )?;
    if !case.successor.is_empty() {
        return Err(ctx.errors().failed_precondition(
            "SUCCESSOR_EXISTS",
            format!("{predecessor} is already followed by {}", case.successor),
        ));
    }
    let carried = due_after(ctx, tx, &case.name).await?;
    Ok(Some((row, case, carried)))
}

/// After a settlement of `case` completes: its successor, if already opened, now knows its deduction. The
/// successor's MAR cannot have been approved yet (approval waits for this settlement).
pub async fn pass_on(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    case: &PricingCase,
) -> Result<(), Status> {
    if case.successor.is_empty() {
        return Ok(());
    }
    let row: cases::Row = ctx.locked(tx, &case.successor, "").await?;
    let mut successor = row.to_proto();
    successor.carried_deduction = Some(cny(due_after(ctx, tx, &case.name).await?));
    cases::save(ctx, tx, &row, &successor).await?;
    Ok(())
}

/// Installments are whole cents already; the amount is shown with two places like every money figure.
pub fn cny(d: Decimal) -> Money {
    let mut cents = d.round_dp(2);
    cents.rescale(2);
    Money {
        amount: cents.to_string(),
        currency: "CNY".to_owned(),
    }
}
