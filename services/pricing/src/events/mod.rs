//! Consumers' decisions on the moved modules; the kit's `From<Error> for HandleError` retries what is transient.

pub mod withdrawals;
