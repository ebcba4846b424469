//! §2.6: the registry announced a product submitted for release, so its compliance review opens UNDER_REVIEW
//! (round 1) with the profile's panel and checklist. A product that already has an open review (the fact
//! announced again) opens nothing.

use pdop_kit::uow::{Call, RecordedChange};
use pdop_proto::registry::events::v1::ProductSnapshot;
use pdop_proto::review::v1::ProductReview;
use pdop_rules::Profiles;

use crate::domain::product_review::{self, COLLECTION, Parties};
use crate::domain::{Error, panel, rules};
use crate::storage::{self, Tx, facts, product_reviews};

/// The registry announces agreements, resources and products on separate streams, so a fact this event needs may
/// not be known yet: that is worth retrying, never a dead letter.
fn lagging(e: Error) -> Error {
    match e {
        Error::NotFound { name, .. } => {
            Error::Unavailable(anyhow::anyhow!("{name} is not known from the registry yet"))
        }
        other => other,
    }
}

pub async fn submitted(
    tx: &mut Tx,
    call: &Call,
    profiles: &Profiles,
    product: &ProductSnapshot,
    event_id: &str,
) -> Result<Vec<RecordedChange>, Error> {
    let jurisdiction = product.jurisdiction.clone().unwrap_or_default().name;
    let profile = facts::profile(tx, profiles, &jurisdiction)
        .await
        .map_err(lagging)?;
    let rules = rules::product(&profile);
    let mut review = ProductReview {
        name: format!("{COLLECTION}/{}", storage::new_id()),
        ..Default::default()
    };
    product_review::open(&mut review, call, product, &rules);
    let agreement = facts::agreement(tx, &review.agreement, "product.agreement")
        .await
        .map_err(lagging)?;
    let mut providers = Vec::new();
    for resource in &review.source_resources {
        let snapshot = facts::resource(tx, resource, "product.source_resources")
            .await
            .map_err(lagging)?;
        providers.extend(snapshot.provider.map(|p| p.name));
    }
    let seats = facts::resolve_panel(tx, &rules.panel, &jurisdiction, &agreement, &providers).await?;
    let (name, applicant) = (review.name.clone(), review.applicant.clone());
    panel::seat(&name, &mut review.reviewers, &seats, &applicant, call)?;
    let parties = Parties {
        applicant: facts::organization(tx, &review.applicant).await?,
        operator: facts::organization(tx, &review.operator).await?,
        jurisdiction: facts::jurisdiction(tx, &jurisdiction).await?,
    };
    let change = product_review::opened(&review, call, event_id, &parties);
    match product_reviews::insert(tx, &review, call.now).await? {
        Some(_) => Ok(vec![change.recorded()]),
        None => Ok(Vec::new()),
    }
}
