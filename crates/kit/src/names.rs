//! Resource names (AIP-122): `<collection>/{id}`.

/// A resource id: lower-case ASCII letters, digits and `-`, starting with a letter or digit (server-assigned
/// ids are UUIDs), 2 to 63 long.
pub fn valid_id(id: &str) -> bool {
    let len_ok = (2..=63).contains(&id.len());
    let first_ok = id
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars_ok = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    len_ok && first_ok && chars_ok && !id.ends_with('-')
}

/// The id inside `<collection>/<id>`, if `name` has that shape and a valid id.
pub fn parse<'a>(name: &'a str, collection: &str) -> Option<&'a str> {
    let id = name.strip_prefix(collection)?.strip_prefix('/')?;
    valid_id(id).then_some(id)
}

/// What a malformed name should look like, for error messages.
pub fn expected(collection: &str) -> String {
    format!(
        "must be `{collection}/{{id}}` with an id of lower-case letters, digits and `-` (2-63 characters)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        assert!(valid_id("yunnan"));
        assert!(valid_id("kunming-2"));
        assert!(!valid_id("Yunnan"));
        assert!(valid_id("0190a5c2-7d1e-7b3c-9f00-0123456789ab"));
        assert!(!valid_id("-yunnan"));
        assert!(!valid_id("y"));
        assert!(!valid_id("yunnan-"));
        assert!(!valid_id("yun_nan"));
        assert_eq!(parse("jurisdictions/yunnan", "jurisdictions"), Some("yunnan"));
        assert_eq!(parse("organizations/yunnan", "jurisdictions"), None);
        assert_eq!(parse("jurisdictions/", "jurisdictions"), None);
        assert_eq!(parse("jurisdictions/a/b", "jurisdictions"), None);
    }
}
