//! Resource names (AIP-122): `jurisdictions/{id}`, `organizations/{id}`.

pub use pdop_kit::names::{expected, parse, valid_id};

pub fn jurisdiction(id: &str) -> String {
    format!("jurisdictions/{id}")
}

pub fn organization(id: &str) -> String {
    format!("organizations/{id}")
}

pub fn resource(id: &str) -> String {
    format!("resources/{id}")
}

pub fn registration(id: &str) -> String {
    format!("registrations/{id}")
}

pub fn implementation_plan(id: &str) -> String {
    format!("implementationPlans/{id}")
}

pub fn agreement(id: &str) -> String {
    format!("agreements/{id}")
}

pub fn deadline(id: &str) -> String {
    format!("deadlines/{id}")
}
