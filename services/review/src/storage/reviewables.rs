//! Any reviewable resource, locked by its name for a panel action and saved after it: the panel RPCs take a
//! `parent` of any kind (§2.9).

use chrono::{DateTime, Utc};
use pdop_proto::review::v1::{DataUseApplication, DeveloperAdmission, ProductReview, ScenarioApplication};

use super::{Tx, admissions, data_uses, product_reviews, scenarios};
use crate::domain::appeal::Appealable;
use crate::domain::reviewable::Reviewable;
use crate::domain::{Error, admission, data_use, product_review, scenario};

/// The reviewable kinds; each new kind adds a variant.
pub enum Locked {
    Scenario(ScenarioApplication),
    DataUse(DataUseApplication),
    Product(ProductReview),
    Admission(Box<DeveloperAdmission>),
}

/// The collections a panel `parent` may name.
pub const COLLECTIONS: &[&str] = &[
    scenario::COLLECTION,
    data_use::COLLECTION,
    product_review::COLLECTION,
    admission::COLLECTION,
];

impl Locked {
    pub fn get(&self) -> &dyn Reviewable {
        match self {
            Self::Scenario(a) => a,
            Self::DataUse(a) => a,
            Self::Product(r) => r,
            Self::Admission(a) => a.as_ref(),
        }
    }

    /// The subject as an appeal sees it; kinds no appeal reaches are None.
    pub fn appealable(&mut self) -> Option<&mut dyn Appealable> {
        match self {
            Self::Product(r) => Some(r),
            Self::Admission(a) => Some(a.as_mut()),
            Self::Scenario(_) | Self::DataUse(_) => None,
        }
    }

    pub fn get_mut(&mut self) -> &mut dyn Reviewable {
        match self {
            Self::Scenario(a) => a,
            Self::DataUse(a) => a,
            Self::Product(r) => r,
            Self::Admission(a) => a.as_mut(),
        }
    }
}

fn collection(parent: &str) -> &str {
    parent.split('/').next().unwrap_or_default()
}

/// A violation on `field` unless `parent` names a reviewable resource.
pub fn check_parent(parent: &str, field: &str) -> Result<(), Error> {
    if COLLECTIONS
        .iter()
        .any(|c| pdop_kit::names::parse(parent, c).is_some())
    {
        return Ok(());
    }
    let expected: Vec<String> = COLLECTIONS.iter().map(|c| format!("{c}/{{id}}")).collect();
    Err(Error::invalid(
        field,
        format!("must name a reviewable resource: {}", expected.join(", ")),
    ))
}

pub async fn lock(tx: &mut Tx, parent: &str, field: &str) -> Result<Locked, Error> {
    check_parent(parent, field)?;
    match collection(parent) {
        scenario::COLLECTION => Ok(Locked::Scenario(scenarios::lock(tx, parent, "", field).await?)),
        data_use::COLLECTION => Ok(Locked::DataUse(data_uses::lock(tx, parent, "", field).await?)),
        product_review::COLLECTION => Ok(Locked::Product(
            product_reviews::lock(tx, parent, "", field).await?,
        )),
        admission::COLLECTION => Ok(Locked::Admission(Box::new(
            admissions::lock(tx, parent, "", field).await?,
        ))),
        _ => unreachable!("check_parent admits only the collections above"),
    }
}

pub async fn read(pool: &sqlx::PgPool, parent: &str, field: &str) -> Result<Locked, Error> {
    check_parent(parent, field)?;
    match collection(parent) {
        scenario::COLLECTION => Ok(Locked::Scenario(scenarios::read(pool, parent).await?)),
        data_use::COLLECTION => Ok(Locked::DataUse(data_uses::read(pool, parent).await?)),
        product_review::COLLECTION => Ok(Locked::Product(product_reviews::read(pool, parent).await?)),
        admission::COLLECTION => Ok(Locked::Admission(Box::new(admissions::read(pool, parent).await?))),
        _ => unreachable!("check_parent admits only the collections above"),
    }
}

pub async fn save(tx: &mut Tx, locked: &Locked, now: DateTime<Utc>) -> Result<(), Error> {
    match locked {
        Locked::Scenario(a) => scenarios::save(tx, a, now).await.map(|_| ()),
        Locked::DataUse(a) => data_uses::save(tx, a, now).await.map(|_| ()),
        Locked::Product(r) => product_reviews::save(tx, r, now).await.map(|_| ()),
        Locked::Admission(a) => admissions::save(tx, a, now).await.map(|_| ()),
    }
}
