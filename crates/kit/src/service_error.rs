//! The one error type of a service on the unit of work (`design/SPINE.md` §3), generic over the service's closed
//! list of reasons. Domain code returns it, storage turns database errors into it, and it becomes a `Status` in
//! one exhaustive match here, so every service maps errors the same way and none writes a `_ =>` arm.

use std::fmt::Debug;

use tonic::{Code, Status};

use crate::Violations;
use crate::error::ErrorDomain;
use crate::events::HandleError;
use crate::uow::Refusal;

/// A service's published list of `ErrorInfo.reason` values.
pub trait Reason: Copy + Debug + Send + Sync + 'static {
    /// The `ErrorInfo.domain` of the service, e.g. `registry`.
    const SERVICE: &'static str;
    /// The UPPER_SNAKE value, e.g. `WRONG_STATE`.
    fn as_str(self) -> &'static str;
}

/// Why a call or an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum Error<R: Reason> {
    /// The request is malformed: each violation names its field.
    #[error("invalid request: {0:?}")]
    Invalid(Violations),
    #[error("{name} does not exist")]
    NotFound { reason: R, name: String },
    /// AIP-154: the caller's etag is stale.
    #[error("{name} changed since it was read; read it again")]
    EtagMismatch { name: String },
    #[error("{message}")]
    AlreadyExists { reason: R, message: String },
    /// The caller may not do this to this resource (role, party, jurisdiction).
    #[error("{message}")]
    Denied { reason: R, message: String },
    /// A rule forbids the transition; the message says which and what would allow it.
    #[error("{message}")]
    Refused { reason: R, message: String },
    /// Refused by the kit's unit of work (a reused request id, an event too large to announce).
    #[error(transparent)]
    Kit(#[from] Refusal),
    /// A dependency is unreachable or busy; retrying the same input can succeed.
    #[error("dependency unavailable: {0:#}")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl<R: Reason> Error<R> {
    /// One violation on `field`.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Violations::new();
        v.add(field, description);
        Self::Invalid(v)
    }

    pub fn refused(reason: R, message: impl Into<String>) -> Self {
        Self::Refused {
            reason,
            message: message.into(),
        }
    }

    pub fn denied(reason: R, message: impl Into<String>) -> Self {
        Self::Denied {
            reason,
            message: message.into(),
        }
    }

    pub fn not_found(reason: R, name: impl Into<String>) -> Self {
        Self::NotFound {
            reason,
            name: name.into(),
        }
    }

    /// Retrying the same input can succeed: database or NATS unreachable, pool timeout, serialization failure,
    /// deadlock. Consumers retry these and dead-letter the rest.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// The service's reason, for the variants that carry one.
    pub fn reason(&self) -> Option<R> {
        match self {
            Self::NotFound { reason, .. }
            | Self::AlreadyExists { reason, .. }
            | Self::Denied { reason, .. }
            | Self::Refused { reason, .. } => Some(*reason),
            Self::Invalid(_)
            | Self::EtagMismatch { .. }
            | Self::Kit(_)
            | Self::Unavailable(_)
            | Self::Internal(_) => None,
        }
    }
}

/// Connection loss, pool exhaustion, serialization failures and deadlocks are `Unavailable`; a NUL or
/// untranslatable character (which a parsed request never holds) is `Invalid`, as a backstop; anything else is
/// `Internal`. Constraint violations a caller can cause are translated where their statement runs.
impl<R: Reason> From<sqlx::Error> for Error<R> {
    fn from(err: sqlx::Error) -> Self {
        let code = err
            .as_database_error()
            .and_then(|e| e.code())
            .map(|c| c.into_owned());
        match (&err, code.as_deref()) {
            (sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_), _) => {
                Self::Unavailable(err.into())
            }
            (_, Some(code)) if code.starts_with("08") || code.starts_with("57P") => {
                Self::Unavailable(err.into())
            }
            (_, Some("40001" | "40P01")) => Self::Unavailable(err.into()),
            (_, Some("22021" | "22P05")) => Self::invalid(
                "request",
                "contains a character the database cannot store (U+0000 or an untranslatable one)",
            ),
            _ => Self::Internal(err.into()),
        }
    }
}

/// The only mapping to `Status`: each status keeps `ErrorInfo { reason, domain }` (and `BadRequest` for invalid
/// input); internal errors are logged with their cause chain and returned opaque.
impl<R: Reason> From<Error<R>> for Status {
    fn from(err: Error<R>) -> Self {
        let domain = ErrorDomain::new(R::SERVICE);
        match err {
            Error::Invalid(v) => domain.invalid(&v),
            Error::NotFound { reason, name } => domain.not_found(reason.as_str(), &name),
            Error::EtagMismatch { name } => domain.aborted(
                "ETAG_MISMATCH",
                format!("{name} changed since it was read; read it again"),
            ),
            Error::AlreadyExists { reason, message } => domain.already_exists(reason.as_str(), message),
            Error::Denied { reason, message } => domain.permission_denied(reason.as_str(), message),
            Error::Refused { reason, message } => domain.failed_precondition(reason.as_str(), message),
            Error::Kit(refusal) => domain.refusal(&refusal),
            Error::Unavailable(cause) => domain.unavailable(&cause),
            Error::Internal(cause) => domain.internal(&cause),
        }
    }
}

/// Consumers retry what is transient and dead-letter the rest (`design/SPINE.md` §3).
impl<R: Reason> From<Error<R>> for HandleError {
    fn from(err: Error<R>) -> Self {
        if err.is_transient() {
            HandleError::Transient(anyhow::Error::new(err))
        } else {
            HandleError::Permanent(anyhow::Error::new(err))
        }
    }
}

/// `FAILED_PRECONDITION` with the service's `reason` (its WRONG_STATE), naming the state `name` is in and the
/// states `action` needs.
pub fn require_state<R: Reason, S: PartialEq + Copy + std::fmt::Debug>(
    reason: R,
    name: &str,
    state: S,
    allowed: &[S],
    action: &str,
) -> Result<(), Error<R>> {
    if allowed.contains(&state) {
        return Ok(());
    }
    let wanted: Vec<String> = allowed.iter().map(|s| format!("{s:?}")).collect();
    Err(Error::refused(
        reason,
        format!(
            "{name} is {state:?}; {action} needs it to be {}",
            wanted.join(" or ")
        ),
    ))
}

/// The code a status of this error would carry (for tests of domain decisions).
pub fn code_of<R: Reason>(err: Error<R>) -> Code {
    Status::from(err).code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum TestReason {
        WrongState,
    }

    impl Reason for TestReason {
        const SERVICE: &'static str = "kittest";
        fn as_str(self) -> &'static str {
            match self {
                TestReason::WrongState => "WRONG_STATE",
            }
        }
    }

    type E = Error<TestReason>;

    #[test]
    fn outages_are_transient_and_refusals_are_not() {
        assert!(E::from(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!E::refused(TestReason::WrongState, "no").is_transient());
        assert!(!E::invalid("name", "empty").is_transient());
    }

    #[test]
    fn every_variant_keeps_its_code_and_reason() {
        assert_eq!(
            code_of(E::refused(TestReason::WrongState, "no")),
            Code::FailedPrecondition
        );
        assert_eq!(
            code_of(E::denied(TestReason::WrongState, "no")),
            Code::PermissionDenied
        );
        assert_eq!(
            code_of(E::not_found(TestReason::WrongState, "x/1")),
            Code::NotFound
        );
        assert_eq!(code_of(E::invalid("name", "empty")), Code::InvalidArgument);
        assert_eq!(code_of(E::EtagMismatch { name: "x/1".into() }), Code::Aborted);
        assert_eq!(
            code_of(E::from(Refusal::RequestIdReused {
                request_id: "r".into()
            })),
            Code::AlreadyExists
        );
        assert_eq!(
            code_of(E::Unavailable(anyhow::anyhow!("down"))),
            Code::Unavailable
        );
        let internal = Status::from(E::Internal(anyhow::anyhow!("relation secret_table")));
        assert_eq!(internal.code(), Code::Internal);
        assert!(!internal.message().contains("secret_table"));
    }
}
