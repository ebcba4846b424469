//! Conversions between stored values and protobuf values (shared with every service).

pub use pdop_kit::convert::*;
