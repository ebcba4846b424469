//! Edge checks every message gets (THREATS H1.1, L10): no control characters in strings, and bounded strings,
//! bytes and lists, so that a request cannot make PostgreSQL fail on a NUL or grow an event past NATS' payload
//! limit. `build/edge.rs` generates one `Edge` impl per message from the rules it documents; the helpers below are
//! what that code calls.

use std::collections::HashMap;
use std::fmt::Display;

/// A message whose strings, bytes and lists can be checked against the edge rules.
pub trait Edge {
    /// Adds `(field path, description)` for every string or list of this message, nested ones included, that breaks
    /// the edge rules.
    fn check_edge(&self, prefix: &str, out: &mut Vec<(String, String)>);
}

/// Names and identifiers: resource names, ids, codes, keys, titles.
pub const NAME_MAX_CHARS: usize = 200;
/// Page tokens (opaque, but longer than a name).
pub const PAGE_TOKEN_MAX_CHARS: usize = 2_000;
/// Free text: descriptions, reasons, grounds, notes and every other string.
pub const FREE_TEXT_MAX_CHARS: usize = 10_000;
/// Repeated fields and maps.
pub const LIST_MAX_ENTRIES: usize = 1_000;
/// `bytes` fields.
pub const BYTES_MAX: usize = 1024 * 1024;

/// What a string field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// Maximum length in characters (Unicode scalar values).
    pub max_chars: usize,
    /// Free text may contain tab, line feed and carriage return; no other control character is allowed anywhere.
    pub free: bool,
}

/// A name or identifier.
pub const NAME: Text = Text {
    max_chars: NAME_MAX_CHARS,
    free: false,
};
/// A page token.
pub const PAGE_TOKEN: Text = Text {
    max_chars: PAGE_TOKEN_MAX_CHARS,
    free: false,
};
/// Free text.
pub const FREE_TEXT: Text = Text {
    max_chars: FREE_TEXT_MAX_CHARS,
    free: true,
};

/// Decodes `bytes` as `M` and checks it; bytes that are not an `M` give one violation at the empty path.
#[doc(hidden)]
pub fn decode_and_check<M: prost::Message + Default + Edge>(bytes: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match M::decode(bytes) {
        Ok(message) => message.check_edge("", &mut out),
        Err(_) => out.push((String::new(), "is not a valid encoding of the message".to_owned())),
    }
    out
}

/// The path of `field` under `prefix`: `objection` + `evidence` → `objection.evidence`.
#[doc(hidden)]
pub fn path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// Checks one string field.
#[doc(hidden)]
pub fn string(value: &str, prefix: &str, field: &str, text: Text, out: &mut Vec<(String, String)>) {
    if let Some(description) = text_violation(value, text) {
        out.push((path(prefix, field), description));
    }
}

/// Checks a repeated string field: its length, then each item at `field[i]`.
#[doc(hidden)]
pub fn strings(
    values: &[String],
    prefix: &str,
    field: &str,
    max_entries: usize,
    text: Text,
    out: &mut Vec<(String, String)>,
) {
    if !list_fits(values.len(), prefix, field, max_entries, out) {
        return;
    }
    for (i, value) in values.iter().enumerate() {
        if let Some(description) = text_violation(value, text) {
            out.push((format!("{}[{i}]", path(prefix, field)), description));
        }
    }
}

/// Checks a singular message field when it is set.
#[doc(hidden)]
pub fn message<M: Edge + ?Sized>(
    value: Option<&M>,
    prefix: &str,
    field: &str,
    out: &mut Vec<(String, String)>,
) {
    if let Some(value) = value {
        value.check_edge(&path(prefix, field), out);
    }
}

/// Checks a repeated message field: its length, then each item at `field[i]`.
#[doc(hidden)]
pub fn messages<M: Edge>(
    values: &[M],
    prefix: &str,
    field: &str,
    max_entries: usize,
    out: &mut Vec<(String, String)>,
) {
    if !list_fits(values.len(), prefix, field, max_entries, out) {
        return;
    }
    let base = path(prefix, field);
    for (i, value) in values.iter().enumerate() {
        value.check_edge(&format!("{base}[{i}]"), out);
    }
}

/// Checks one `bytes` field.
#[doc(hidden)]
pub fn bytes(value: &[u8], prefix: &str, field: &str, max: usize, out: &mut Vec<(String, String)>) {
    if value.len() > max {
        out.push((
            path(prefix, field),
            format!("must be at most {max} bytes (has {})", value.len()),
        ));
    }
}

/// Checks a repeated `bytes` field: its length, then each item at `field[i]`.
#[doc(hidden)]
pub fn bytes_list(
    values: &[Vec<u8>],
    prefix: &str,
    field: &str,
    max_entries: usize,
    max: usize,
    out: &mut Vec<(String, String)>,
) {
    if !list_fits(values.len(), prefix, field, max_entries, out) {
        return;
    }
    for (i, value) in values.iter().enumerate() {
        if value.len() > max {
            out.push((
                format!("{}[{i}]", path(prefix, field)),
                format!("must be at most {max} bytes (has {})", value.len()),
            ));
        }
    }
}

/// Checks the length of a repeated field of numbers, booleans or enums.
#[doc(hidden)]
pub fn list(len: usize, prefix: &str, field: &str, max_entries: usize, out: &mut Vec<(String, String)>) {
    list_fits(len, prefix, field, max_entries, out);
}

/// Checks a map: its length, then each entry with `each(key, value, path of the value, out)`; the value path is
/// `field[key]`, control characters in the key escaped.
#[doc(hidden)]
pub fn map<K: Display, V>(
    entries: &HashMap<K, V>,
    prefix: &str,
    field: &str,
    max_entries: usize,
    out: &mut Vec<(String, String)>,
    mut each: impl FnMut(&K, &V, &str, &mut Vec<(String, String)>),
) {
    if !list_fits(entries.len(), prefix, field, max_entries, out) {
        return;
    }
    let base = path(prefix, field);
    for (key, value) in entries {
        let at = format!("{base}[{}]", key.to_string().escape_debug());
        each(key, value, &at, out);
    }
}

/// Checks a string map key; a violation is reported at the entry's path.
#[doc(hidden)]
pub fn map_key(key: &str, at: &str, text: Text, out: &mut Vec<(String, String)>) {
    if let Some(description) = text_violation(key, text) {
        out.push((at.to_owned(), format!("key {description}")));
    }
}

/// Checks a string map value at the entry's path.
#[doc(hidden)]
pub fn map_value(value: &str, at: &str, text: Text, out: &mut Vec<(String, String)>) {
    if let Some(description) = text_violation(value, text) {
        out.push((at.to_owned(), description));
    }
}

/// Items of a list over the limit are not walked: the list is refused anyway, and walking 20,000 items would only
/// cost time and flood the answer.
fn list_fits(
    len: usize,
    prefix: &str,
    field: &str,
    max_entries: usize,
    out: &mut Vec<(String, String)>,
) -> bool {
    if len > max_entries {
        out.push((
            path(prefix, field),
            format!("must have at most {max_entries} entries (has {len})"),
        ));
        return false;
    }
    true
}

/// Why `value` breaks `text`, if it does. Positions are 1-based, in characters.
pub fn text_violation(value: &str, text: Text) -> Option<String> {
    // Cc is U+0000–U+001F, U+007F and U+0080–U+009F, whose UTF-8 starts with 0xC2: a byte scan rules most strings out.
    let suspect = value.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2);
    if suspect {
        let allowed = |c: char| text.free && matches!(c, '\t' | '\n' | '\r');
        if let Some((at, c)) = value
            .chars()
            .enumerate()
            .find(|&(_, c)| c.is_control() && !allowed(c))
        {
            return Some(format!(
                "must not contain control characters (U+{:04X} at character {})",
                u32::from(c),
                at + 1
            ));
        }
    }
    // A string of at most max_chars bytes has at most max_chars characters: count only longer ones.
    if value.len() > text.max_chars {
        let chars = value.chars().count();
        if chars > text.max_chars {
            return Some(format!(
                "must be at most {} characters (has {chars})",
                text.max_chars
            ));
        }
    }
    None
}

// One `impl Edge` per message and `check_encoded`.
include!(concat!(env!("OUT_DIR"), "/edge.rs"));

#[cfg(test)]
mod tests;
