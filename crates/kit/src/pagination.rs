//! AIP-158 paging: page sizes with a documented default and cap, and opaque keyset page tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Page size used when a request leaves `page_size` at 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Larger requested sizes are reduced to this.
pub const MAX_PAGE_SIZE: i64 = 500;

/// Returns the effective page size, or the reason it is invalid (negative).
pub fn page_size(requested: i32) -> Result<i64, &'static str> {
    match requested {
        n if n < 0 => Err("must not be negative"),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// Encodes a keyset cursor (the sort key of the last item returned) as an opaque token.
pub fn encode_token<C: Serialize>(cursor: &C) -> String {
    let json = serde_json::to_vec(cursor).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a page token; an empty token means the first page.
pub fn decode_token<C: DeserializeOwned>(token: &str) -> Result<Option<C>, &'static str> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| "is not a token returned by this API")?;
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "is not a token returned by this API")?;
    // The cursor's strings are bound as query parameters: a NUL would fail in PostgreSQL (THREATS L10.2). This API
    // never puts a control character in a token, so one means the token was forged.
    if holds_control_character(&json) {
        return Err("is not a token returned by this API");
    }
    serde_json::from_value(json)
        .map(Some)
        .map_err(|_| "is not a token returned by this API")
}

fn holds_control_character(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    let control = |s: &str| s.chars().any(char::is_control);
    match value {
        Value::String(s) => control(s),
        Value::Array(items) => items.iter().any(holds_control_character),
        Value::Object(fields) => fields
            .iter()
            .any(|(k, v)| control(k) || holds_control_character(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_caps_and_rejects_negative() {
        // AIP-158: 0 means the default, oversize is coerced down, negative is invalid.
        assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(10), Ok(10));
        assert_eq!(page_size(100_000), Ok(MAX_PAGE_SIZE));
        assert!(page_size(-1).is_err());
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let token = encode_token(&("2026-01-01T00:00:00Z", 42_i64));
        let back: Option<(String, i64)> = decode_token(&token).unwrap();
        assert_eq!(back, Some(("2026-01-01T00:00:00Z".to_owned(), 42)));
        assert_eq!(decode_token::<(String, i64)>("").unwrap(), None);
        assert!(decode_token::<(String, i64)>("%%%").is_err());
    }

    #[test]
    fn a_token_whose_content_holds_a_control_character_is_refused() {
        // THREATS L10.2: decoded page tokens are checked like request strings.
        for key in ["a\0b", "a\nb", "\u{85}", "\u{7f}"] {
            let token = encode_token(&(key, 42_i64));
            assert_eq!(
                decode_token::<(String, i64)>(&token),
                Err("is not a token returned by this API"),
                "{key:?}"
            );
        }
        let token = encode_token(&serde_json::json!({"k\u{0}": 1}));
        assert!(decode_token::<serde_json::Value>(&token).is_err());
        let token = encode_token(&("名称 with spaces", 1_i64));
        assert!(decode_token::<(String, i64)>(&token).unwrap().is_some());
    }
}
