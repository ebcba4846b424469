//! Products as the registry announced them, seen from a pricing case: a cap or price is set only for the
//! case operator's own product, and a public-governance / public-welfare product is free (N1 §一).

use pdop_proto::common::UseClass;
use pdop_proto::pricing::v1::PricingCase;
use pdop_proto::registry::events::v1::ProductSnapshot;
use prost::Message;
use sqlx::{Postgres, Transaction};
use tonic::Status;

use crate::context::{Ctx, Handling};

/// What caps and prices need of a product.
pub struct Priced {
    pub id: String,
    pub use_class: i16,
    /// pdop.registry.v1.ProductState.
    pub state: i16,
    pub display_name: String,
}

/// The product `name` of the case's operator; `free` says whether the request gives a free-provision
/// basis, which a public-governance product needs (violation on `{prefix}.free_provision`).
pub async fn of_case(
    ctx: &Ctx,
    tx: &mut Transaction<'static, Postgres>,
    case: &PricingCase,
    name: &str,
    free: bool,
    prefix: &str,
) -> Result<Priced, Status> {
    let id = pdop_kit::names::parse(name, "products")
        .unwrap_or_default()
        .to_owned();
    let row: Option<(String, i16, i16, Vec<u8>)> =
        sqlx::query_as("SELECT operator_id, use_class, state, body FROM products WHERE id = $1")
            .bind(&id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| ctx.db(e))?;
    let (operator_id, use_class, state, body) =
        row.ok_or_else(|| ctx.errors().not_found("PRODUCT_NOT_FOUND", name))?;
    if format!("organizations/{operator_id}") != case.operator {
        return Err(ctx.errors().failed_precondition(
            "PRODUCT_NOT_PRICEABLE",
            format!("{name} is not a product of {}", case.operator),
        ));
    }
    if use_class == UseClass::PublicGovernance as i16 && !free {
        let mut v = pdop_kit::Violations::new();
        v.add(
            format!("{prefix}.free_provision"),
            "a public-governance / public-welfare product is free (N1 §一): give the basis and a charge of 0",
        );
        return Err(ctx.errors().invalid(&v));
    }
    Ok(Priced {
        id,
        use_class,
        state,
        display_name: ProductSnapshot::decode(body.as_slice())
            .unwrap_or_default()
            .display_name,
    })
}
