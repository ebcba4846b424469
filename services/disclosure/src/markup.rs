//! Text as the public documents write it out. Log entries never change, so a character that XML or HTML
//! forbids (a control character in a title, say) is dropped here, when a feed or page is written, rather than
//! in the stored entry: one such character would otherwise make every Atom feed listing the entry ill-formed.

use std::borrow::Cow;

/// Whether XML 1.0 (§2.2 `Char`) or HTML (control characters and noncharacters are parse errors) forbids `c`
/// in text. Tab, line feed and carriage return are whitespace to both and stay.
fn forbidden(c: char) -> bool {
    let n = u32::from(c);
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        || (0xFDD0..=0xFDEF).contains(&n)
        || n & 0xFFFE == 0xFFFE
}

/// `text` without the characters XML and HTML forbid.
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(forbidden) {
        Cow::Owned(text.chars().filter(|c| !forbidden(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// `text` cleaned and escaped for XML and HTML text and attribute values.
pub fn escape(text: &str) -> String {
    clean(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `v` percent-encoded for a URL query: everything but RFC 3986's unreserved characters.
pub fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_dropped_and_the_rest_kept() {
        let text = "a\u{1}b\u{c}c\u{7f}d\u{85}e\u{fdd0}f\u{fffe}g\u{1ffff}h\t\n\r云南\u{e000}\u{10fffd}";
        assert_eq!(clean(text), "abcdefgh\t\n\r云南\u{e000}\u{10fffd}");
        assert!(matches!(clean("云南省 <ok>"), Cow::Borrowed(_)));
        assert_eq!(
            escape("<a href='x'>&\u{1}</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_query_value_is_percent_encoded() {
        assert_eq!(encode("信用 a&b=c/d"), "%E4%BF%A1%E7%94%A8%20a%26b%3Dc%2Fd");
    }
}
