#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{NaiveDate, TimeZone, Utc};
use pdop_kit::convert::{date, timestamp};
use pdop_proto::evaluation::v1::{EvidenceKind, EvidenceRecord};

use super::*;

async fn pool() -> (pdop_testkit::TestEnv, sqlx::PgPool) {
    let env = pdop_testkit::TestEnv::new().await.unwrap();
    let db = env.fresh_database().await.unwrap();
    pdop_kit::db::migrate(&db.pool, sqlx::migrate!()).await.unwrap();
    (env, db.pool)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A collected record about `org` from event `event`, dated `on` at `hour` o'clock (UTC).
fn record(org: &str, event: &str, on: NaiveDate, hour: u32) -> EvidenceRecord {
    let time = Utc.from_utc_datetime(&on.and_hms_opt(hour, 0, 0).unwrap());
    EvidenceRecord {
        name: format!("{COLLECTION}/{}", crate::storage::new_id()),
        organization: format!("organizations/{org}"),
        jurisdiction: "jurisdictions/hubei".into(),
        kind: EvidenceKind::ProductListed as i32,
        occur_time: Some(timestamp(time)),
        occur_date: Some(date(on)),
        source_event_id: event.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_period_holds_the_organizations_records_dated_within_it_by_date() {
    let (_env, pool) = pool().await;
    let mut tx = pool.begin().await.unwrap();
    let now = Utc::now();
    let inside = [
        record("op", "e4", day(2025, 12, 31), 1),
        record("op", "e3", day(2025, 6, 30), 9),
        record("op", "e2", day(2025, 6, 30), 3),
        record("op", "e1", day(2025, 1, 1), 0),
    ];
    for r in inside.iter().chain(&[
        record("op", "before", day(2024, 12, 31), 23),
        record("op", "after", day(2026, 1, 1), 0),
        record("other", "e1", day(2025, 3, 1), 0),
    ]) {
        assert!(insert(&mut tx, r, now).await.unwrap().is_some());
    }
    // §3.3: an evaluation links the evidence of its covered period, both ends included, oldest first.
    let found = of_period(&mut tx, "organizations/op", day(2025, 1, 1), day(2025, 12, 31))
        .await
        .unwrap();
    let events: Vec<&str> = found.iter().map(|r| r.source_event_id.as_str()).collect();
    assert_eq!(events, ["e1", "e2", "e3", "e4"]);
    assert_eq!(found[0].name, inside[3].name);
}

#[tokio::test]
async fn one_record_per_source_event_and_organization() {
    let (_env, pool) = pool().await;
    let mut tx = pool.begin().await.unwrap();
    let now = Utc::now();
    // §3.5: one immutable record per (source event, organization); one event may concern several.
    assert!(
        insert(&mut tx, &record("op", "e1", day(2025, 1, 1), 0), now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        insert(&mut tx, &record("dp", "e1", day(2025, 1, 1), 0), now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        insert(&mut tx, &record("op", "e1", day(2025, 1, 1), 0), now)
            .await
            .unwrap()
            .is_none()
    );
    // MANUAL records have no source event: any number of them.
    for _ in 0..2 {
        let mut manual = record("op", "", day(2025, 1, 1), 0);
        manual.kind = EvidenceKind::Manual as i32;
        assert!(insert(&mut tx, &manual, now).await.unwrap().is_some());
    }
}
