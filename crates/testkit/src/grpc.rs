//! Calling a service as somebody, and reading its refusals.

use pdop_kit::auth::Role;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

use crate::{dev_token, dev_token_in};

/// A request carrying a token of `organization` with `roles`.
pub fn acting<T>(organization: &str, roles: &[Role], message: T) -> Request<T> {
    with_token(&dev_token(organization, roles), message)
}

/// A request carrying a token of `organization` with `roles`, acting in `jurisdiction` (`jurisdictions/…`).
pub fn acting_in<T>(organization: &str, roles: &[Role], jurisdiction: &str, message: T) -> Request<T> {
    with_token(&dev_token_in(organization, roles, jurisdiction), message)
}

fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    match token.parse() {
        Ok(value) => {
            request.metadata_mut().insert("authorization", value);
        }
        Err(err) => panic!("a dev token is always a valid header value: {err}"),
    }
    request
}

/// Asserts INVALID_ARGUMENT whose BadRequest names exactly `fields`, in order.
pub fn assert_invalid(status: &Status, fields: &[&str]) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let named: Vec<String> = status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|f| f.field.clone()).collect())
        .unwrap_or_default();
    assert_eq!(named, fields, "{status:?}");
}

/// The `ErrorInfo.reason` of a status.
pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
