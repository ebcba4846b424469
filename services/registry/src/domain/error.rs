//! The one error type of the registry's moved modules and its published list of `ErrorInfo.reason` values.

/// Every `ErrorInfo.reason` the moved modules of the registry return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorReason {
    /// THREATS H2: the row belongs to a jurisdiction the caller's does not supervise.
    OutsideJurisdiction,
}

impl pdop_kit::service_error::Reason for ErrorReason {
    const SERVICE: &'static str = "registry";

    fn as_str(self) -> &'static str {
        match self {
            Self::OutsideJurisdiction => "OUTSIDE_JURISDICTION",
        }
    }
}

pub type Error = pdop_kit::service_error::Error<ErrorReason>;
