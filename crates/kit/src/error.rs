//! Building `tonic::Status` values the same way everywhere: a canonical code, a message a person can
//! act on, and `google.rpc.ErrorInfo { reason, domain }` (plus `BadRequest` field violations for
//! invalid input). Internal errors are logged with their cause chain and returned opaque.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of one service, e.g. `registry.pdop`.
#[derive(Debug, Clone)]
pub struct ErrorDomain(String);

impl ErrorDomain {
    pub fn new(service: &str) -> Self {
        Self(format!("{service}.pdop"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns a status with `ErrorInfo { reason, domain }` and the given message.
    pub fn status(&self, code: Code, reason: &str, message: impl Into<String>) -> Status {
        let details = ErrorDetails::with_error_info(reason, self.0.clone(), HashMap::<String, String>::new());
        Status::with_error_details(code, message, details)
    }

    pub fn not_found(&self, reason: &str, name: &str) -> Status {
        self.status(Code::NotFound, reason, format!("{name} does not exist"))
    }

    /// A rule forbids the transition; `message` says which rule and what would make it allowed.
    pub fn failed_precondition(&self, reason: &str, message: impl Into<String>) -> Status {
        self.status(Code::FailedPrecondition, reason, message)
    }

    pub fn already_exists(&self, reason: &str, message: impl Into<String>) -> Status {
        self.status(Code::AlreadyExists, reason, message)
    }

    pub fn aborted(&self, reason: &str, message: impl Into<String>) -> Status {
        self.status(Code::Aborted, reason, message)
    }

    pub fn permission_denied(&self, reason: &str, message: impl Into<String>) -> Status {
        self.status(Code::PermissionDenied, reason, message)
    }

    pub fn unauthenticated(&self, reason: &str, message: impl Into<String>) -> Status {
        self.status(Code::Unauthenticated, reason, message)
    }

    pub fn unimplemented(&self, method: &str) -> Status {
        self.status(
            Code::Unimplemented,
            "NOT_IMPLEMENTED",
            format!("{method} is not implemented yet"),
        )
    }

    /// `INVALID_ARGUMENT` listing every offending field.
    pub fn invalid(&self, violations: &Violations) -> Status {
        let mut details = ErrorDetails::with_error_info(
            "INVALID_ARGUMENT",
            self.0.clone(),
            HashMap::<String, String>::new(),
        );
        for (field, description) in &violations.0 {
            details.add_bad_request_violation(field.clone(), description.clone());
        }
        let fields: Vec<&str> = violations.0.iter().map(|(f, _)| f.as_str()).collect();
        let message = match violations.0.as_slice() {
            [(field, description)] => format!("{field}: {description}"),
            _ => format!("invalid fields: {}", fields.join(", ")),
        };
        Status::with_error_details(Code::InvalidArgument, message, details)
    }

    /// Logs the full cause chain and returns an opaque `INTERNAL`.
    pub fn internal(&self, err: &anyhow::Error) -> Status {
        tracing::error!(error = %format!("{err:#}"), "internal error");
        self.status(
            Code::Internal,
            "INTERNAL",
            "internal error; see the service logs for this trace",
        )
    }

    /// Maps a database error: lost connections and pool timeouts are `UNAVAILABLE` (retryable),
    /// anything else `INTERNAL`. Constraint violations a caller can cause must be mapped before this.
    pub fn database(&self, err: sqlx::Error) -> Status {
        match err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                self.unavailable(&err.into())
            }
            other => self.internal(&other.into()),
        }
    }

    /// What the kit itself refuses (`crate::uow::Refusal`), for handlers not yet on the unit of work.
    pub fn refusal(&self, refusal: &crate::uow::Refusal) -> Status {
        use crate::uow::Refusal;
        match refusal {
            Refusal::RequestIdReused { .. } => self.already_exists("REQUEST_ID_REUSED", refusal.to_string()),
            Refusal::EventTooLarge { .. } => {
                self.status(Code::InvalidArgument, "EVENT_TOO_LARGE", refusal.to_string())
            }
        }
    }

    /// A dependency (database, NATS) is unavailable; the client may retry.
    pub fn unavailable(&self, err: &anyhow::Error) -> Status {
        tracing::warn!(error = %format!("{err:#}"), "dependency unavailable");
        self.status(
            Code::Unavailable,
            "UNAVAILABLE",
            "a dependency is unavailable; retry later",
        )
    }
}

/// Field violations collected during validation, so one response names every bad field.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push((field.into(), description.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(f, _)| f.as_str())
    }

    /// Returns `Ok(())` when nothing was added, else the `INVALID_ARGUMENT` status.
    pub fn into_result(self, domain: &ErrorDomain) -> Result<(), Status> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(domain.invalid(&self))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_every_field_in_bad_request() {
        let domain = ErrorDomain::new("registry");
        let mut v = Violations::new();
        v.add("resource.title", "must not be empty");
        v.add("page_size", "must not be negative");
        let status = v.into_result(&domain).unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .unwrap()
            .field_violations
            .iter()
            .map(|f| f.field.clone())
            .collect();
        assert_eq!(fields, ["resource.title", "page_size"]);
        let info = details.error_info().unwrap();
        assert_eq!(info.domain, "registry.pdop");
        assert_eq!(info.reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn single_violation_message_names_the_field() {
        let domain = ErrorDomain::new("pricing");
        let mut v = Violations::new();
        v.add("markup", "must be between 0 and 0.06");
        let status = domain.invalid(&v);
        assert_eq!(status.message(), "markup: must be between 0 and 0.06");
    }

    #[test]
    fn internal_errors_do_not_leak_the_cause() {
        let domain = ErrorDomain::new("registry");
        let status = domain.internal(&anyhow::anyhow!("relation \"secret_table\" does not exist"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret_table"));
    }
}
