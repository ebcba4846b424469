//! The event view of a product, shared by the product handlers and the registration lifecycle that lists one.

use pdop_proto::common::{JurisdictionRef, OrganizationRef};
use pdop_proto::registry::events::v1 as ev;
use pdop_proto::registry::v1::Product;

/// What the registry's product events carry: pricing keeps products and their use class from it, and the review
/// service takes a submitted product's scenario applications from it (一场景一审核).
pub fn snapshot(
    p: &Product,
    operator: OrganizationRef,
    jurisdiction: JurisdictionRef,
) -> ev::ProductSnapshot {
    ev::ProductSnapshot {
        name: p.name.clone(),
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        kind: p.kind,
        operator: Some(operator),
        agreement: p.agreement.clone(),
        jurisdiction: Some(jurisdiction),
        source_resources: p.source_resources.clone(),
        use_class: p.use_class,
        state: p.state,
        involves_personal_info: p.involves_personal_info,
        scenario_applications: p.scenario_applications.clone(),
    }
}
