//! `UpdatePricingCase`. The case's other RPCs are still in `crate::cases`.

use pdop_kit::Violations;
use pdop_kit::convert::actor;
use pdop_kit::uow::{Call, Mutate};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1 as pb;

use crate::context::Ctx;
use crate::domain::{Error, case};
use crate::preview::limits;
use crate::storage;

/// Changes the masked fields of a case (AIP-134, AIP-154) and announces `PricingCaseUpdated`.
pub async fn update(
    ctx: &Ctx,
    call: Call,
    req: pb::UpdatePricingCaseRequest,
) -> Result<pb::UpdatePricingCaseResponse, Error> {
    let from = req.pricing_case.unwrap_or_default();
    let (mask, etag) = super::update_envelope(
        "pricing_case",
        &from.name,
        storage::cases::COLLECTION,
        req.update_mask.as_ref(),
        case::MUTABLE,
        |p| case::populated(&from, p),
        (req.etag, &from.etag),
    )?;
    let mut v = Violations::new();
    case::check_update(&from, &mask, &mut v);
    if !v.is_empty() {
        return Err(Error::Invalid(v));
    }
    ctx.mutate(call, |u| {
        Box::pin(async move {
            let mut c = storage::cases::lock(u.tx, &from.name, &etag).await?;
            let row = storage::cases::ancestry(u.tx, &c).await?;
            case::may_update(&u.call.caller, &c, &row)?;
            for path in mask.paths() {
                let name = match path {
                    "pricing_authority" => &from.pricing_authority,
                    "data_authority" => &from.data_authority,
                    _ => continue,
                };
                storage::cases::require_organization(u.tx, name, &format!("pricing_case.{path}")).await?;
            }
            let profile =
                storage::profiles::of(u.tx, &u.state.profiles, &c.jurisdiction, "pricing_case.name").await?;
            let change = case::update(&mut c, from, &mask, limits(&profile).period_years_max)?;
            let saved = storage::cases::save(u.tx, &c, u.call.now).await?;
            let event = ev::PricingCaseUpdated {
                pricing_case: Some(storage::cases::summary(u.tx, &saved).await?),
                changed_fields: mask.paths().map(str::to_owned).collect(),
                actor: Some(actor(&u.call.caller)),
            };
            Ok(change.announce(event).into_write(pb::UpdatePricingCaseResponse {
                pricing_case: Some(saved),
            }))
        })
    })
    .await
}
