//! What caps and prices need to know of their pricing case and product: who the parties are, what state the
//! case is in, and whether a product may be priced in it (N1 §一, §二).

use pdop_kit::auth::{Caller, Role};
use pdop_kit::convert::optional_date;
use pdop_proto::common::UseClass;
use pdop_proto::pricing::v1::{PricingCase, PricingCaseState};
use pdop_proto::registry::v1::ProductState;

use super::error::{Error, ErrorReason};

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
