//! Consumers' decisions on the moved modules; the kit's `From<Error> for HandleError` retries what is transient
//! and dead-letters the rest.

pub mod objections;
