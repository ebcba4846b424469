//! The Merkle leaf of an entry: the RFC 8785 canonical JSON of its leaf fields in the proto3 JSON mapping
//! (entry.proto). Anyone can rebuild the bytes from a published entry and re-hash them.

use std::sync::OnceLock;

use pdop_proto::disclosure::v1::Entry;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;

/// The descriptors of every pdop message, for decoding events and printing entries as proto3 JSON.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(pdop_proto::FILE_DESCRIPTOR_SET).unwrap_or_else(|_| DescriptorPool::new())
    })
}

fn descriptor(full_name: &str) -> anyhow::Result<MessageDescriptor> {
    pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| anyhow::anyhow!("{full_name} is not in the descriptor set"))
}

/// Any pdop message as proto3 JSON (lowerCamelCase names, int64 as strings, enums by name, defaults omitted).
pub fn to_json(full_name: &str, message: &impl Message) -> anyhow::Result<Value> {
    let dynamic = DynamicMessage::decode(descriptor(full_name)?, message.encode_to_vec().as_slice())?;
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())?)
}

/// The entry with only the fields that are in the leaf (the annotations cleared).
pub fn leaf_fields(entry: &Entry) -> Entry {
    Entry {
        name: String::new(),
        leaf_input: Vec::new(),
        leaf_hash: Vec::new(),
        corrected_by: Vec::new(),
        retracted: false,
        notice: String::new(),
        html_url: String::new(),
        ..entry.clone()
    }
}

/// The leaf input of an entry.
pub fn leaf_input(entry: &Entry) -> anyhow::Result<Vec<u8>> {
    let json = to_json("pdop.disclosure.v1.Entry", &leaf_fields(entry))?;
    let mut out = String::new();
    canonical(&json, &mut out);
    Ok(out.into_bytes())
}

/// RFC 8785: object members sorted by key (the keys are ASCII proto names, so byte order is UTF-16 order), no
/// whitespace, strings escaped minimally (as serde_json writes them); numbers here are small integers.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<_> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(member, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pdop_proto::disclosure::v1::{EntryBody, EntryKind};

    #[test]
    fn the_leaf_is_sorted_compact_json_of_the_leaf_fields_only() {
        let entry = Entry {
            name: "entries/7".into(),
            leaf_version: 1,
            sequence: 7,
            kind: EntryKind::CapPrice as i32,
            title: "上限收费标准 \"api\"".into(),
            body: Some(EntryBody {
                text: "line\nbreak".into(),
                ..Default::default()
            }),
            retracted: true,
            html_url: "https://example/entries/7".into(),
            ..Default::default()
        };
        let leaf = String::from_utf8(leaf_input(&entry).unwrap_or_default()).unwrap_or_default();
        assert_eq!(
            leaf,
            r#"{"body":{"text":"line\nbreak"},"kind":"ENTRY_KIND_CAP_PRICE","leafVersion":1,"sequence":"7","title":"上限收费标准 \"api\""}"#
        );
    }
}
