//! What the review service does when the registry announces a fact that ends or blocks its own resources.

pub mod admissions;
pub mod agreements;
pub mod products;
