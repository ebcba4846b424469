//! The one error type of pricing's moved modules and its published list of `ErrorInfo.reason` values.

/// Every `ErrorInfo.reason` the moved modules of pricing return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    CapPriceNotFound,
    SpecificPriceNotFound,
    PricingCaseNotFound,
    ProductNotFound,
    NotTheAuthorizingEntity,
    NotTheOperator,
    WrongState,
    ProductNotPriceable,
    CapRevenueExceedsMar,
    PriceAboveCap,
    NoPublishedCap,
    NoChannel,
    CaseSettled,
    AnnualCheckNotFound,
    NotAParty,
    NoMar,
    CheckExists,
    YearNotEnded,
    JurisdictionNotFound,
    /// THREATS H2: the case belongs to a jurisdiction the caller's does not supervise.
    OutsideJurisdiction,
    OrganizationNotFound,
}

impl pdop_kit::service_error::Reason for ErrorReason {
    const SERVICE: &'static str = "pricing";

    fn as_str(self) -> &'static str {
        match self {
            Self::CapPriceNotFound => "CAP_PRICE_NOT_FOUND",
            Self::SpecificPriceNotFound => "SPECIFIC_PRICE_NOT_FOUND",
            Self::PricingCaseNotFound => "PRICING_CASE_NOT_FOUND",
            Self::ProductNotFound => "PRODUCT_NOT_FOUND",
            Self::NotTheAuthorizingEntity => "NOT_THE_AUTHORIZING_ENTITY",
            Self::NotTheOperator => "NOT_THE_OPERATOR",
            Self::WrongState => "WRONG_STATE",
            Self::ProductNotPriceable => "PRODUCT_NOT_PRICEABLE",
            Self::CapRevenueExceedsMar => "CAP_REVENUE_EXCEEDS_MAR",
            Self::PriceAboveCap => "PRICE_ABOVE_CAP",
            Self::NoPublishedCap => "NO_PUBLISHED_CAP",
            Self::NoChannel => "NO_CHANNEL",
            Self::CaseSettled => "CASE_SETTLED",
            Self::AnnualCheckNotFound => "ANNUAL_CHECK_NOT_FOUND",
            Self::NotAParty => "NOT_A_PARTY",
            Self::NoMar => "NO_MAR",
            Self::CheckExists => "CHECK_EXISTS",
            Self::YearNotEnded => "YEAR_NOT_ENDED",
            Self::JurisdictionNotFound => "JURISDICTION_NOT_FOUND",
            Self::OutsideJurisdiction => "OUTSIDE_JURISDICTION",
            Self::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
        }
    }
}

pub type Error = pdop_kit::service_error::Error<ErrorReason>;

/// `FAILED_PRECONDITION` (WRONG_STATE) naming the state `name` is in and the states `action` needs.
pub fn require_state<S: PartialEq + Copy + std::fmt::Debug>(
    name: &str,
    state: S,
    allowed: &[S],
    action: &str,
) -> Result<(), Error> {
    pdop_kit::service_error::require_state(ErrorReason::WrongState, name, state, allowed, action)
}

/// A stored amount that is always set; one that is absent or does not read is internal, never zero.
pub fn stored_required(
    m: Option<&pdop_proto::common::Money>,
    resource: &str,
    field: &str,
) -> Result<pdop_rules::Cny, Error> {
    crate::decimals::stored_amount(m, resource, field)?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("stored {resource} has no {field}")))
}
