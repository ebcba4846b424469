//! The edge rules on real contract messages and on `tests/fixture/edge_fixture.proto`, which has the shapes the
//! contract does not use today (maps, nested types, proto3 `optional`, stated limits).

use std::collections::HashMap;

use prost::Message;

use crate::common::DocumentRef;
use crate::disclosure::v1::{CreateObjectionRequest, Objection};
use crate::edgefixture::v1::{Inner, Outer, outer};
use crate::registry::v1::{CreateResourceRequest, Resource};
use crate::{Edge, check_encoded};

fn check<M: Edge>(message: &M) -> Vec<(String, String)> {
    let mut out = Vec::new();
    message.check_edge("", &mut out);
    out
}

fn paths<M: Edge>(message: &M) -> Vec<String> {
    let mut paths: Vec<String> = check(message).into_iter().map(|(p, _)| p).collect();
    paths.sort();
    paths
}

fn resource_request(resource: Resource) -> CreateResourceRequest {
    CreateResourceRequest {
        resource: Some(resource),
        resource_id: String::new(),
        request_id: "r-1".to_owned(),
    }
}

#[test]
fn a_nul_in_a_nested_repeated_message_is_reported_with_its_full_path() {
    // THREATS L10.1: a walk over nested and repeated strings, naming the field path.
    let evidence = vec![
        DocumentRef {
            uri: "doc://ok".to_owned(),
            ..Default::default()
        },
        DocumentRef {
            uri: "doc://a\0b".to_owned(),
            ..Default::default()
        },
    ];
    let request = CreateObjectionRequest {
        objection: Some(Objection {
            evidence,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    assert_eq!(
        check(&request),
        vec![(
            "objection.evidence[1].uri".to_owned(),
            "must not contain control characters (U+0000 at character 8)".to_owned()
        )]
    );
}

#[test]
fn line_breaks_are_free_text_only() {
    // Issue 15 item 8: free text may hold tab, line feed and carriage return; a name may not.
    let resource = Resource {
        description: "line one\r\n\tline two".to_owned(),
        ..Default::default()
    };
    assert!(check(&resource_request(resource)).is_empty());
    let resource = Resource {
        name: "resources/a\nb".to_owned(),
        ..Default::default()
    };
    assert_eq!(
        check(&resource_request(resource)),
        vec![(
            "resource.name".to_owned(),
            "must not contain control characters (U+000A at character 12)".to_owned()
        )]
    );
}

#[test]
fn every_other_control_character_is_refused_even_in_free_text() {
    // Unicode Cc: C0, DEL and C1 (U+0085 is two bytes in UTF-8).
    for c in ['\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
        let resource = Resource {
            description: format!("ab{c}"),
            ..Default::default()
        };
        let found = check(&resource_request(resource));
        assert_eq!(found.len(), 1, "{c:?}");
        assert_eq!(found[0].0, "resource.description");
        assert!(
            found[0]
                .1
                .contains(&format!("U+{:04X} at character 3", u32::from(c))),
            "{found:?}"
        );
    }
    // Not Cc: line separator, zero-width joiner, CJK, emoji.
    let resource = Resource {
        description: "a\u{2028}b\u{200d}数据🙂".to_owned(),
        ..Default::default()
    };
    assert!(check(&resource_request(resource)).is_empty());
}

#[test]
fn names_hold_200_characters_not_bytes() {
    // THREATS H1.1: names are bounded; the count is in characters, so 200 CJK characters (600 bytes) fit.
    let resource = Resource {
        display_name: "数".repeat(200),
        ..Default::default()
    };
    assert!(check(&resource_request(resource)).is_empty());
    let resource = Resource {
        display_name: "数".repeat(201),
        ..Default::default()
    };
    assert_eq!(
        check(&resource_request(resource)),
        vec![(
            "resource.display_name".to_owned(),
            "must be at most 200 characters (has 201)".to_owned()
        )]
    );
}

#[test]
fn free_text_holds_10000_characters() {
    // THREATS H1.1: free text at most 10,000 characters.
    let resource = Resource {
        description: "x".repeat(10_000),
        ..Default::default()
    };
    assert!(check(&resource_request(resource)).is_empty());
    let resource = Resource {
        description: "x".repeat(10_001),
        ..Default::default()
    };
    assert_eq!(paths(&resource_request(resource)), ["resource.description"]);
}

#[test]
fn page_tokens_hold_2000_characters() {
    let outer = Outer {
        page_token: "t".repeat(2_000),
        ..Default::default()
    };
    assert!(check(&outer).is_empty());
    let outer = Outer {
        page_token: "t".repeat(2_001),
        ..Default::default()
    };
    assert_eq!(paths(&outer), ["page_token"]);
}

#[test]
fn a_list_of_1001_is_refused_without_walking_its_items() {
    // THREATS H1: the oversized objection (20,000 evidence documents) is refused on `objection.evidence`.
    let bad = DocumentRef {
        uri: "\0".to_owned(),
        ..Default::default()
    };
    let objection = |n: usize| CreateObjectionRequest {
        objection: Some(Objection {
            evidence: vec![bad.clone(); n],
            ..Default::default()
        }),
        request_id: String::new(),
    };
    assert_eq!(
        check(&objection(1_001)),
        vec![(
            "objection.evidence".to_owned(),
            "must have at most 1000 entries (has 1001)".to_owned()
        )]
    );
    assert_eq!(check(&objection(20_000)).len(), 1);
    // 1,000 entries fit; each item is then checked.
    assert_eq!(check(&objection(1_000)).len(), 1_000);
}

#[test]
fn a_limit_the_contract_states_replaces_the_default() {
    // No field of proto/ states "at most N characters|items" today; the fixture's `label` and `tags` do.
    let outer = Outer {
        label: "12345".to_owned(),
        tags: vec!["a".into(); 3],
        ..Default::default()
    };
    assert!(check(&outer).is_empty());
    let outer = Outer {
        label: "123456".to_owned(),
        tags: vec!["a".into(); 4],
        ..Default::default()
    };
    assert_eq!(
        check(&outer),
        vec![
            (
                "label".to_owned(),
                "must be at most 5 characters (has 6)".to_owned()
            ),
            (
                "tags".to_owned(),
                "must have at most 3 entries (has 4)".to_owned()
            ),
        ]
    );
}

#[test]
fn every_field_shape_is_walked() {
    let nul = || "x\0".to_owned();
    let inner = || Inner {
        uri: nul(),
        title: String::new(),
    };
    let outer = Outer {
        tags: vec![String::new(), nul()],
        items: vec![Inner::default(), inner()],
        single: Some(inner()),
        labels: HashMap::from([("k".to_owned(), nul()), ("bad\0key".to_owned(), String::new())]),
        by_key: HashMap::from([("k".to_owned(), inner())]),
        choice: Some(outer::Choice::ChoiceInner(inner())),
        maybe: Some(nul()),
        update_mask: Some(prost_types::FieldMask { paths: vec![nul()] }),
        nested: Some(outer::Nested { note: nul() }),
        child: Some(Box::new(Outer {
            owner: nul(),
            ..Default::default()
        })),
        ..Default::default()
    };
    assert_eq!(
        paths(&outer),
        [
            "by_key[k].uri",
            "child.owner",
            "choice_inner.uri",
            "items[1].uri",
            "labels[bad\\0key]",
            "labels[k]",
            "maybe",
            "nested.note",
            "single.uri",
            "tags[1]",
            "update_mask.paths[0]",
        ]
    );
    let outer = Outer {
        choice: Some(outer::Choice::ChoiceText(nul())),
        ..Default::default()
    };
    assert_eq!(paths(&outer), ["choice_text"]);
}

#[test]
fn identifiers_are_known_by_name_suffix_or_documented_pattern() {
    let long = || "x".repeat(201);
    // `owner` documents `owners/{owner}`; `title` is a name; `uri` is free text.
    let outer = Outer {
        owner: long(),
        single: Some(Inner {
            uri: long(),
            title: long(),
        }),
        ..Default::default()
    };
    assert_eq!(paths(&outer), ["owner", "single.title"]);
    // In the contract: `jurisdiction` documents its pattern on some fields only, and is a name everywhere.
    let resource = Resource {
        jurisdiction: long(),
        ..Default::default()
    };
    assert_eq!(paths(&resource_request(resource)), ["resource.jurisdiction"]);
}

#[test]
fn bytes_hold_one_mebibyte() {
    let outer = Outer {
        blob: vec![0; 1024 * 1024],
        ..Default::default()
    };
    assert!(check(&outer).is_empty());
    let outer = Outer {
        blob: vec![0; 1024 * 1024 + 1],
        ..Default::default()
    };
    assert_eq!(paths(&outer), ["blob"]);
}

#[test]
fn check_encoded_dispatches_by_full_name() {
    let request = resource_request(Resource {
        name: "\0".to_owned(),
        ..Default::default()
    });
    let bytes = request.encode_to_vec();
    assert_eq!(
        check_encoded("pdop.registry.v1.CreateResourceRequest", &bytes).unwrap(),
        vec![(
            "resource.name".to_owned(),
            "must not contain control characters (U+0000 at character 1)".to_owned()
        )]
    );
    assert_eq!(check_encoded("pdop.registry.v1.NoSuchMessage", &bytes), None);
    assert_eq!(check_encoded("google.protobuf.FieldMask", &[]), Some(vec![]));
    let garbage = check_encoded("pdop.registry.v1.CreateResourceRequest", &[0xff, 0xff]).unwrap();
    assert_eq!(garbage.len(), 1);
}
