//! Field masks for Update methods (AIP-134): an explicit mask names the fields to change; `*` means
//! every mutable field; no mask means every mutable field the request populates.

use std::collections::BTreeSet;

use pdop_kit::Violations;
use prost_types::FieldMask;

/// The fields an update touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask(Option<BTreeSet<String>>);

impl Mask {
    /// Every field (used for creates, where all fields are validated).
    pub fn all() -> Self {
        Self(None)
    }

    pub fn has(&self, path: &str) -> bool {
        self.0.as_ref().is_none_or(|set| set.contains(path))
    }
}

/// Resolves the request's mask against the resource's mutable fields, adding violations for paths
/// that do not exist or cannot be changed, and for an update that would change nothing.
pub fn resolve(
    mask: Option<&FieldMask>,
    mutable: &[&str],
    v: &mut Violations,
    populated: impl Fn(&str) -> bool,
) -> Mask {
    let requested: Vec<&str> = mask
        .map(|m| m.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let set: BTreeSet<String> = if requested.is_empty() {
        mutable
            .iter()
            .filter(|p| populated(p))
            .map(|p| (*p).to_owned())
            .collect()
    } else if requested == ["*"] {
        mutable.iter().map(|p| (*p).to_owned()).collect()
    } else {
        for path in &requested {
            if !mutable.contains(path) {
                v.add(
                    "update_mask",
                    format!(
                        "`{path}` cannot be updated; mutable fields: {}",
                        mutable.join(", ")
                    ),
                );
            }
        }
        requested
            .iter()
            .filter(|p| mutable.contains(p))
            .map(|p| (*p).to_owned())
            .collect()
    };
    if set.is_empty() && v.is_empty() {
        v.add("update_mask", "names no field to update");
    }
    Mask(Some(set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn explicit_star_and_implicit_masks() {
        let mutable = ["display_name", "contact"];
        let mut v = Violations::new();
        let m = resolve(Some(&fm(&["contact"])), &mutable, &mut v, |_| true);
        assert!(m.has("contact") && !m.has("display_name") && v.is_empty());
        let m = resolve(Some(&fm(&["*"])), &mutable, &mut v, |_| false);
        assert!(m.has("contact") && m.has("display_name"));
        let m = resolve(None, &mutable, &mut v, |p| p == "display_name");
        assert!(m.has("display_name") && !m.has("contact"));
        assert!(v.is_empty());
    }

    #[test]
    fn unknown_paths_and_empty_updates_are_refused() {
        let mut v = Violations::new();
        resolve(Some(&fm(&["uscc"])), &["contact"], &mut v, |_| true);
        assert_eq!(v.fields().collect::<Vec<_>>(), ["update_mask"]);
        let mut v = Violations::new();
        resolve(None, &["contact"], &mut v, |_| false);
        assert_eq!(v.fields().collect::<Vec<_>>(), ["update_mask"]);
    }
}
