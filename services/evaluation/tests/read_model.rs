//! The registry facts the evaluation service keeps: who was active when.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[tokio::test]
async fn agreements_in_force_are_known_with_their_term_and_a_redelivery_changes_nothing() {
    let h = common::start().await;
    let w = h.world("yunnan").await;
    // The same activation delivered again (another ce-id) leaves one row with the same days in force.
    let term = common::period(common::date(2025, 1, 1), common::date(2029, 12, 31));
    h.agreement(&w, &w.agreement(), &w.op(), term, "a-yunnan-again")
        .await;
    h.until(
        "the agreement is in force from 2025-01-01",
        "SELECT count(*) = 1 AND bool_and(activated AND active_from = '2025-01-01' AND active_until = '2029-12-31')
         FROM agreements WHERE id = 'yunnan-a1'",
    )
    .await;
}
