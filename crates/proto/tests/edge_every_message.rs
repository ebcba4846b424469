//! THREATS L10.1: the generated walk finds a NUL in any string field of any message. For every message of every
//! pdop package, every string field at the top level or one message below gets a random value holding U+0000;
//! the message is built and encoded reflectively (so this test does not share the generator's view of the
//! types), then decoded as its Rust type and checked by `check_encoded`, which must name exactly that field.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

/// Where the bad string goes: a string field, or a string field of a message field.
struct Target {
    field: FieldDescriptor,
    inner: Option<FieldDescriptor>,
}

fn string_fields(message: &MessageDescriptor) -> impl Iterator<Item = FieldDescriptor> + '_ {
    message
        .fields()
        .filter(|f| f.kind() == Kind::String && !f.is_map())
}

fn targets(message: &MessageDescriptor) -> Vec<Target> {
    let mut targets: Vec<Target> = string_fields(message)
        .map(|field| Target { field, inner: None })
        .collect();
    for field in message.fields().filter(|f| !f.is_map()) {
        if let Kind::Message(inner) = field.kind() {
            for inner_field in string_fields(&inner) {
                targets.push(Target {
                    field: field.clone(),
                    inner: Some(inner_field),
                });
            }
        }
    }
    targets
}

/// Sets `field` of `message` to `value`, as the one item of a list when it is repeated; returns the path suffix.
fn set(message: &mut DynamicMessage, field: &FieldDescriptor, value: Value) -> String {
    if field.is_list() {
        message.set_field(field, Value::List(vec![value]));
        format!("{}[0]", field.name())
    } else {
        message.set_field(field, value);
        field.name().to_owned()
    }
}

/// The encoded message with `bad` placed at `target`, and the path the check must report.
fn build(message: &MessageDescriptor, target: &Target, bad: &str) -> (Vec<u8>, String) {
    let mut outer = DynamicMessage::new(message.clone());
    let path = match (&target.inner, target.field.kind()) {
        (None, _) => set(&mut outer, &target.field, Value::String(bad.to_owned())),
        (Some(inner_field), Kind::Message(inner_type)) => {
            let mut inner = DynamicMessage::new(inner_type);
            let inner_path = set(&mut inner, inner_field, Value::String(bad.to_owned()));
            let outer_path = set(&mut outer, &target.field, Value::Message(inner));
            format!("{outer_path}.{inner_path}")
        }
        (Some(_), _) => unreachable!("inner targets sit in message fields"),
    };
    (outer.encode_to_vec(), path)
}

#[test]
fn a_nul_in_any_string_field_of_any_message_is_reported_at_its_path() {
    let pool = DescriptorPool::decode(pdop_proto::FILE_DESCRIPTOR_SET).unwrap();
    let config = Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    };
    // Text around the NUL with no other control character, so that the NUL is the first violation. Compiled once:
    // a `&str` strategy compiles its regex at every case.
    let text = || proptest::string::string_regex("\\PC{0,30}").unwrap();
    let around = (text(), text());
    let (mut messages, mut fields) = (0, 0);
    for message in pool
        .all_messages()
        .filter(|m| m.package_name().starts_with("pdop.") && !m.is_map_entry())
    {
        let targets = targets(&message);
        messages += usize::from(!targets.is_empty());
        for target in &targets {
            fields += 1;
            // A runner counts its successes: a fresh one per field, or only the first field would be tried.
            TestRunner::new(config.clone())
                .run(&around, |(before, after)| {
                    let (bytes, path) = build(&message, target, &format!("{before}\0{after}"));
                    let found = pdop_proto::check_encoded(message.full_name(), &bytes)
                        .unwrap_or_else(|| panic!("no check for {}", message.full_name()));
                    let description = format!(
                        "must not contain control characters (U+0000 at character {})",
                        before.chars().count() + 1
                    );
                    prop_assert_eq!(found, vec![(path, description)], "{}", message.full_name());
                    Ok(())
                })
                .unwrap();
        }
    }
    // Guards against a filter that silently selects nothing.
    assert!(
        messages > 500 && fields > 2_000,
        "only {messages} messages, {fields} fields checked"
    );
    eprintln!("{messages} messages, {fields} string fields checked");
}
