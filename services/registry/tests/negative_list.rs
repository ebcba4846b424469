//! The negative list (负面清单) over gRPC: listing blocks authorization, yearly review (D28, S-YN Art.15).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use pdop_kit::auth::Role;
use pdop_proto::common::Date;
use pdop_proto::registry::events::v1::NegativeListEntryAdded;
use pdop_proto::registry::v1::*;
use prost::Message;
use tonic::Code;

async fn with_resource() -> Harness {
    let mut h = setup().await;
    let fields = vec![field("id_no", "", false), field("address", "", false)];
    create(&mut h, STATS, "population", resource(STATS, "人口", fields))
        .await
        .unwrap();
    h
}

fn entry(effective: Date, next_review: Option<Date>) -> NegativeListEntry {
    NegativeListEntry {
        resource: "resources/population".into(),
        reason: "涉及国家安全".into(),
        basis: "《数据安全法》第二十一条".into(),
        effective_date: Some(effective),
        next_review_date: next_review,
        ..Default::default()
    }
}

async fn list_entry(h: &mut Harness, e: NegativeListEntry) -> Result<NegativeListEntry, tonic::Status> {
    let request = CreateNegativeListEntryRequest {
        negative_list_entry: Some(e),
        request_id: String::new(),
    };
    Ok(h.client
        .create_negative_list_entry(authority(request))
        .await?
        .into_inner()
        .negative_list_entry
        .unwrap())
}

async fn resource_listed(h: &mut Harness) -> bool {
    let got = h
        .client
        .get_resource(authority(GetResourceRequest {
            name: "resources/population".into(),
        }))
        .await;
    got.unwrap().into_inner().resource.unwrap().negative_listed
}

const D: fn(i32, i32, i32) -> Date = |year, month, day| Date { year, month, day };

#[tokio::test]
async fn listing_marks_the_resource_and_schedules_the_yearly_review() {
    // D28 (S-YN Art.15): negative-list entries are reviewed every year.
    let mut h = with_resource().await;
    let listed = list_entry(&mut h, entry(D(2026, 3, 2), None)).await.unwrap();
    assert_eq!(listed.state, NegativeListEntryState::Active as i32);
    assert_eq!(
        listed.next_review_date,
        Some(D(2027, 3, 2)),
        "one year after it took effect"
    );
    assert!(
        resource_listed(&mut h).await,
        "a listed resource is not authorizable"
    );

    let events = h.events("pdop.registry.negative_list_entry.added").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        NegativeListEntryAdded::decode(events[0].as_slice())
            .unwrap()
            .reason,
        "涉及国家安全"
    );

    let err = list_entry(&mut h, entry(D(2026, 3, 2), None)).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn bad_entries_are_refused_naming_the_field() {
    let mut h = with_resource().await;
    let too_late = entry(D(2026, 3, 2), Some(D(2027, 6, 1)));
    assert_invalid(
        &list_entry(&mut h, too_late).await.unwrap_err(),
        &["negative_list_entry.next_review_date"],
    );

    let unknown_field = NegativeListEntry {
        field_keys: vec!["salary".into()],
        ..entry(D(2026, 3, 2), None)
    };
    assert_invalid(
        &list_entry(&mut h, unknown_field).await.unwrap_err(),
        &["negative_list_entry.field_keys[0]"],
    );

    let blank = NegativeListEntry {
        reason: " ".into(),
        effective_date: Some(D(2026, 2, 30)),
        ..entry(D(2026, 1, 1), None)
    };
    assert_invalid(
        &list_entry(&mut h, blank).await.unwrap_err(),
        &["negative_list_entry.reason", "negative_list_entry.effective_date"],
    );

    let missing = NegativeListEntry {
        resource: "resources/nothing".into(),
        ..entry(D(2026, 3, 2), None)
    };
    assert_eq!(
        list_entry(&mut h, missing).await.unwrap_err().code(),
        Code::NotFound
    );

    let request = CreateNegativeListEntryRequest {
        negative_list_entry: Some(entry(D(2026, 3, 2), None)),
        request_id: String::new(),
    };
    let err = h
        .client
        .create_negative_list_entry(as_role(request, &[Role::DataProvider]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

/// The yearly-review obligations of an entry, by due date.
async fn review_deadlines(h: &mut Harness, entry: &str) -> Vec<ObligationDeadline> {
    deadlines_of(h, entry, ObligationKind::NegativeListReview).await
}

#[tokio::test]
async fn a_review_keeps_or_lifts_the_entry() {
    let mut h = with_resource().await;
    let listed = list_entry(&mut h, entry(D(2026, 3, 2), None)).await.unwrap();
    let review = |outcome: NegativeListReviewOutcome, on: Date| ReviewNegativeListEntryRequest {
        name: listed.name.clone(),
        review: Some(NegativeListReview {
            review_date: Some(on),
            outcome: outcome as i32,
            reason: "年度复核".into(),
            ..Default::default()
        }),
        etag: String::new(),
    };
    let kept = h
        .client
        .review_negative_list_entry(authority(review(NegativeListReviewOutcome::Kept, D(2027, 2, 20))))
        .await;
    let kept = kept.unwrap().into_inner().negative_list_entry.unwrap();
    // A year after 2027-02-20 is Sunday 2028-02-20; the due date moves to the next working day.
    assert_eq!(kept.next_review_date, Some(D(2028, 2, 21)));
    // D28 is tracked as an obligation: this year's review is met, next year's is open.
    let deadlines = review_deadlines(&mut h, &listed.name).await;
    let states: Vec<i32> = deadlines.iter().map(|d| d.state).collect();
    assert_eq!(states, [DeadlineState::Met as i32, DeadlineState::Open as i32]);
    let next = deadlines[1].deadline.clone().unwrap();
    assert_eq!(next.due_date, Some(D(2028, 2, 21)));
    assert_eq!(next.source.unwrap().rule_id, "D28");
    assert_eq!(kept.reviews.len(), 1);
    assert!(resource_listed(&mut h).await);

    let lifted = h
        .client
        .review_negative_list_entry(authority(review(
            NegativeListReviewOutcome::Lifted,
            D(2028, 2, 1),
        )))
        .await;
    let lifted = lifted.unwrap().into_inner().negative_list_entry.unwrap();
    assert_eq!(lifted.state, NegativeListEntryState::Lifted as i32);
    let open = review_deadlines(&mut h, &listed.name).await;
    assert!(
        open.iter().all(|d| d.state == DeadlineState::Met as i32),
        "no review is owed once lifted"
    );
    assert_eq!(lifted.reviews.len(), 2);
    assert!(
        !resource_listed(&mut h).await,
        "lifting makes the resource eligible again"
    );
    assert_eq!(
        h.events("pdop.registry.negative_list_entry.reviewed").await.len(),
        2
    );
    assert_eq!(
        h.events("pdop.registry.negative_list_entry.lifted").await.len(),
        1
    );

    let err = h
        .client
        .review_negative_list_entry(authority(review(NegativeListReviewOutcome::Kept, D(2029, 1, 1))))
        .await;
    let err = err.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ENTRY_LIFTED")
    );

    // After lifting, the resource may be listed again.
    list_entry(&mut h, entry(D(2029, 1, 1), None)).await.unwrap();
}

#[tokio::test]
async fn entries_due_for_review_are_listed_first() {
    let mut h = setup().await;
    for (id, effective) in [("late", D(2026, 9, 1)), ("early", D(2026, 1, 10))] {
        create(
            &mut h,
            STATS,
            id,
            resource(STATS, id, vec![field("a", "", false)]),
        )
        .await
        .unwrap();
        let e = NegativeListEntry {
            resource: format!("resources/{id}"),
            ..entry(effective, None)
        };
        list_entry(&mut h, e).await.unwrap();
    }
    let all = ListNegativeListEntriesRequest::default();
    let all = h
        .client
        .list_negative_list_entries(authority(all))
        .await
        .unwrap()
        .into_inner()
        .negative_list_entries;
    let order: Vec<_> = all.iter().map(|e| e.resource.as_str()).collect();
    assert_eq!(order, ["resources/early", "resources/late"]);

    let due = ListNegativeListEntriesRequest {
        review_due_before: Some(D(2027, 6, 1)),
        ..Default::default()
    };
    let due = h
        .client
        .list_negative_list_entries(authority(due))
        .await
        .unwrap()
        .into_inner()
        .negative_list_entries;
    assert_eq!(due.len(), 1);

    let lift = LiftNegativeListEntryRequest {
        name: due[0].name.clone(),
        reason: "解密".into(),
        etag: due[0].etag.clone(),
    };
    let lifted = h
        .client
        .lift_negative_list_entry(authority(lift))
        .await
        .unwrap()
        .into_inner()
        .negative_list_entry
        .unwrap();
    assert_eq!(lifted.state, NegativeListEntryState::Lifted as i32);
}

// THREATS H2: a data authority of another province neither reviews nor lifts Yunnan's entry, and nothing is
// written.
#[tokio::test]
async fn a_foreign_data_authority_cannot_review_or_lift_an_entry() {
    let mut h = with_resource().await;
    let listed = list_entry(&mut h, entry(D(2026, 3, 2), None)).await.unwrap();
    let lift = LiftNegativeListEntryRequest {
        name: listed.name.clone(),
        reason: "越权".into(),
        etag: String::new(),
    };
    let err = h
        .client
        .lift_negative_list_entry(henan_authority(lift))
        .await
        .unwrap_err();
    assert_outside_jurisdiction(&err, "LiftNegativeListEntry");
    let review = ReviewNegativeListEntryRequest {
        name: listed.name.clone(),
        review: Some(NegativeListReview {
            review_date: Some(D(2027, 2, 20)),
            outcome: NegativeListReviewOutcome::Lifted as i32,
            reason: "越权".into(),
            ..Default::default()
        }),
        etag: String::new(),
    };
    let err = h
        .client
        .review_negative_list_entry(henan_authority(review))
        .await
        .unwrap_err();
    assert_outside_jurisdiction(&err, "ReviewNegativeListEntry");
    assert!(resource_listed(&mut h).await, "the entry stands");
}
