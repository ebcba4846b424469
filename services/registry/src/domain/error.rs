//! The one error type of the registry's moved modules and its published list of `ErrorInfo.reason` values.

/// Every `ErrorInfo.reason` the moved modules of the registry return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    /// THREATS H2: the row belongs to a jurisdiction the caller's does not supervise.
    OutsideJurisdiction,
    RegistrationNotFound,
    ObjectionNotFound,
    ResourceNotFound,
    ProductNotFound,
    OrganizationNotFound,
    JurisdictionNotFound,
    WrongState,
    OwnApplication,
    NotYourApplication,
    NotTheRegistrant,
    ResourceRetired,
    ProductNotReviewed,
    SubjectMismatch,
    MaterialsMissing,
    ProfilePrecondition,
    NoticeOpen,
    ObjectionsOpen,
    RenewalWindowClosed,
    NotACancellationOfThis,
    NotExpired,
    AlreadyEnded,
    DeadlineNotFound,
    NotYourObligation,
    NotAFollowUp,
}

impl pdop_kit::service_error::Reason for ErrorReason {
    const SERVICE: &'static str = "registry";

    fn as_str(self) -> &'static str {
        match self {
            Self::OutsideJurisdiction => "OUTSIDE_JURISDICTION",
            Self::RegistrationNotFound => "REGISTRATION_NOT_FOUND",
            Self::ObjectionNotFound => "OBJECTION_NOT_FOUND",
            Self::ResourceNotFound => "RESOURCE_NOT_FOUND",
            Self::ProductNotFound => "PRODUCT_NOT_FOUND",
            Self::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            Self::JurisdictionNotFound => "JURISDICTION_NOT_FOUND",
            Self::WrongState => "WRONG_STATE",
            Self::OwnApplication => "OWN_APPLICATION",
            Self::NotYourApplication => "NOT_YOUR_APPLICATION",
            Self::NotTheRegistrant => "NOT_THE_REGISTRANT",
            Self::ResourceRetired => "RESOURCE_RETIRED",
            Self::ProductNotReviewed => "PRODUCT_NOT_REVIEWED",
            Self::SubjectMismatch => "SUBJECT_MISMATCH",
            Self::MaterialsMissing => "MATERIALS_MISSING",
            Self::ProfilePrecondition => "PROFILE_PRECONDITION",
            Self::NoticeOpen => "NOTICE_OPEN",
            Self::ObjectionsOpen => "OBJECTIONS_OPEN",
            Self::RenewalWindowClosed => "RENEWAL_WINDOW_CLOSED",
            Self::NotACancellationOfThis => "NOT_A_CANCELLATION_OF_THIS",
            Self::NotExpired => "NOT_EXPIRED",
            Self::AlreadyEnded => "ALREADY_ENDED",
            Self::DeadlineNotFound => "DEADLINE_NOT_FOUND",
            Self::NotYourObligation => "NOT_YOUR_OBLIGATION",
            Self::NotAFollowUp => "NOT_AN_EVALUATION_FOLLOW_UP",
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
