//! What caps and prices need to know of their pricing case and product: who the parties are, what state the
//! case is in, and whether a product may be priced in it (N1 §一, §二).

use chrono::Months;
use pdop_kit::Violations;
use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::optional_date;
use pdop_kit::scope::Ancestry;
use pdop_kit::uow::Change;
use pdop_proto::common::{DateRange, UseClass};
use pdop_proto::pricing::events::v1 as ev;
use pdop_proto::pricing::v1::{PricingCase, PricingCaseState, PricingCatalogue};
use pdop_proto::registry::v1::ProductState;

use super::error::{Error, ErrorReason, require_state};
use super::mask::Mask;

pub fn state_of(c: &PricingCase) -> PricingCaseState {
    PricingCaseState::try_from(c.state).unwrap_or_default()
}

/// The parties of a case (authorizing entity, operator, pricing and data authorities) and overseers read it.
pub fn may_read(caller: &Caller, c: &PricingCase) -> bool {
    caller.has_role(Role::Auditor)
        || caller.has_role(Role::Evaluator)
        || [
            &c.authorizing_entity,
            &c.operator,
            &c.pricing_authority,
            &c.data_authority,
        ]
        .iter()
        .any(|party| **party == caller.organization)
}

/// The case's pricing period, when both dates read.
pub fn period(c: &PricingCase) -> (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) {
    let p = c.pricing_period.unwrap_or_default();
    (
        optional_date(p.start_date.as_ref()).ok().flatten(),
        optional_date(p.end_date.as_ref()).ok().flatten(),
    )
}

/// A product as the registry announced it, seen from a case.
#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub operator_id: String,
    pub use_class: i16,
    /// pdop.registry.v1.ProductState.
    pub state: i16,
    pub display_name: String,
}

impl Product {
    pub fn withdrawn(&self) -> bool {
        self.state == ProductState::Withdrawn as i16
    }
}

/// A cap or price is set only for the case operator's own product, and a public-governance / public-welfare
/// product is free (N1 §一): `free` says whether the request gives a free-provision basis (violation on
/// `{prefix}.free_provision`).
pub fn priceable(
    product: &Product,
    name: &str,
    case: &PricingCase,
    free: bool,
    prefix: &str,
) -> Result<(), Error> {
    if format!("organizations/{}", product.operator_id) != case.operator {
        return Err(Error::refused(
            ErrorReason::ProductNotPriceable,
            format!("{name} is not a product of {}", case.operator),
        ));
    }
    if product.use_class == UseClass::PublicGovernance as i16 && !free {
        return Err(Error::invalid(
            format!("{prefix}.free_provision"),
            "a public-governance / public-welfare product is free (N1 §一): give the basis and a charge of 0",
        ));
    }
    Ok(())
}

/// THREATS H2: a supervisor (pricing authority, implementing agency) acts only on cases of its jurisdiction or
/// one below it; `row` is the case's jurisdiction with its ancestors.
pub fn may_supervise(caller: &Caller, case_name: &str, row: &Ancestry) -> Result<(), Error> {
    pdop_kit::scope::may_supervise(caller, row, case_name, ErrorReason::OutsideJurisdiction)
}

/// The period must be whole years (first day to the day before an anniversary), at most `max_years` (D9).
pub fn whole_years(period: &DateRange, max_years: u32) -> Result<u32, &'static str> {
    let start = optional_date(period.start_date.as_ref()).ok().flatten();
    let end = optional_date(period.end_date.as_ref()).ok().flatten();
    let (Some(start), Some(end)) = (start, end) else {
        return Err("needs valid start and end dates");
    };
    (1..=max_years)
        .find(|n| start.checked_add_months(Months::new(12 * n)).and_then(|d| d.pred_opt()) == Some(end))
        .ok_or("must be whole years (e.g. 2026-01-01 to 2028-12-31), at most the profile's evaluation cycle (D9)")
}

/// The fields `UpdatePricingCase` changes. The last four decide who prices what and over which period, so they
/// change only before the pricing basis is assessed (TRIAL or APPLIED); title and note change until SETTLED.
pub const MUTABLE: &[&str] = &[
    "display_name",
    "note",
    "pricing_authority",
    "data_authority",
    "catalogue",
    "pricing_period",
];

/// Whether the update request sets `path` (for an update without a mask).
pub fn populated(c: &PricingCase, path: &str) -> bool {
    match path {
        "display_name" => !c.display_name.is_empty(),
        "note" => !c.note.is_empty(),
        "pricing_authority" => !c.pricing_authority.is_empty(),
        "data_authority" => !c.data_authority.is_empty(),
        "catalogue" => c.catalogue != 0,
        "pricing_period" => c.pricing_period.is_some(),
        _ => false,
    }
}

/// Checks the masked fields of an update request, adding a violation on `pricing_case.<field>` for each fault.
pub fn check_update(from: &PricingCase, mask: &Mask, v: &mut Violations) {
    for path in mask.paths() {
        let field = format!("pricing_case.{path}");
        match path {
            "display_name" if from.display_name.trim().is_empty() => {
                v.add(field, "must give the case a title")
            }
            "pricing_authority" | "data_authority" => {
                let name = if path == "pricing_authority" {
                    &from.pricing_authority
                } else {
                    &from.data_authority
                };
                if pdop_kit::names::parse(name, "organizations").is_none() {
                    v.add(field, pdop_kit::names::expected("organizations"));
                }
            }
            "catalogue"
                if PricingCatalogue::try_from(from.catalogue).unwrap_or_default()
                    == PricingCatalogue::Unspecified =>
            {
                v.add(
                    field,
                    "must be CENTRAL or LOCAL: the catalogue follows where the products are registered (N1 §一)",
                );
            }
            _ => {}
        }
    }
}

/// Who may change a case: its authorizing entity (授权主体) or a pricing authority, either acting inside the
/// case's jurisdiction (THREATS H2).
pub fn may_update(caller: &Caller, c: &PricingCase, row: &Ancestry) -> Result<(), Error> {
    let party = caller.organization == c.authorizing_entity && caller.has_role(Role::ImplementingAgency);
    if !party && !caller.has_role(Role::PricingAuthority) {
        return Err(Error::denied(
            ErrorReason::NotTheAuthorizingEntity,
            format!(
                "{} is changed by its authorizing entity {} or a pricing authority",
                c.name, c.authorizing_entity
            ),
        ));
    }
    may_supervise(caller, &c.name, row)
}

/// Changes the masked fields of `c` (`UpdatePricingCase`, AIP-134). `period_years_max` is the profile's
/// evaluation cycle (D9). The caller is checked with [`may_update`] first; the event is announced by the caller
/// of this function once the case's summary is built.
pub fn update(
    c: &mut PricingCase,
    from: PricingCase,
    mask: &Mask,
    period_years_max: u32,
) -> Result<Change<ev::PricingCaseUpdated>, Error> {
    let frozen = mask.paths().any(|p| !matches!(p, "display_name" | "note"));
    if frozen {
        require_state(
            &c.name,
            state_of(c),
            &[PricingCaseState::Trial, PricingCaseState::Applied],
            "changing its authorities, catalogue or period",
        )?;
    } else {
        let open = state_of(c) != PricingCaseState::Settled;
        if !open {
            return Err(Error::refused(
                ErrorReason::CaseSettled,
                format!("{} is SETTLED; its record is closed", c.name),
            ));
        }
    }
    for path in mask.paths() {
        match path {
            "display_name" => c.display_name = from.display_name.trim().to_owned(),
            "note" => c.note.clone_from(&from.note),
            "pricing_authority" => c.pricing_authority.clone_from(&from.pricing_authority),
            "data_authority" => c.data_authority.clone_from(&from.data_authority),
            "catalogue" => c.catalogue = from.catalogue,
            "pricing_period" => {
                match &from.pricing_period {
                    Some(period) => {
                        if let Err(why) = whole_years(period, period_years_max) {
                            return Err(Error::invalid("pricing_case.pricing_period", why));
                        }
                    }
                    // The application rests on the period (N1 §二), so it stays set once applied.
                    None if state_of(c) != PricingCaseState::Trial => {
                        return Err(Error::invalid(
                            "pricing_case.pricing_period",
                            "stays set once the application is submitted",
                        ));
                    }
                    None => {}
                }
                c.pricing_period = from.pricing_period;
            }
            other => {
                return Err(Error::Internal(anyhow::anyhow!(
                    "update_mask path {other} is listed as mutable but has no field"
                )));
            }
        }
    }
    let paths: Vec<&str> = mask.paths().collect();
    Ok(Change::new(&c.name, serde_json::json!({ "changed": paths })))
}
