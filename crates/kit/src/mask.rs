//! Field masks of the Update methods (AIP-134), for every service: an explicit mask names the fields to change, `*` means every
//! mutable field, and no mask means every mutable field the request populates. A path that does not exist or
//! cannot be changed is a violation on `update_mask`.

use crate::Violations;
use prost_types::FieldMask;

/// The mutable fields an update changes, in the order of the resource's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask(Vec<&'static str>);

impl Mask {
    pub fn paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }

    pub fn has(&self, path: &str) -> bool {
        self.0.contains(&path)
    }
}

/// Resolves the request's mask against the resource's `mutable` fields; `populated` says whether the request
/// sets a field (for an absent mask). Faults are added to `v` on `update_mask`.
pub fn resolve(
    mask: Option<&FieldMask>,
    mutable: &[&'static str],
    v: &mut Violations,
    populated: impl Fn(&str) -> bool,
) -> Mask {
    let requested: Vec<&str> = mask
        .map(|m| m.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let chosen: Vec<&'static str> = if requested.is_empty() {
        mutable.iter().copied().filter(|p| populated(p)).collect()
    } else if requested == ["*"] {
        mutable.to_vec()
    } else {
        for path in &requested {
            if !mutable.contains(path) {
                v.add(
                    "update_mask",
                    format!(
                        "`{path}` does not exist or cannot be updated; mutable fields: {}",
                        mutable.join(", ")
                    ),
                );
            }
        }
        mutable
            .iter()
            .copied()
            .filter(|p| requested.contains(p))
            .collect()
    };
    if chosen.is_empty() && v.is_empty() {
        v.add("update_mask", "names no field to update");
    }
    Mask(chosen)
}

/// What every Update RPC parses first (AIP-134, AIP-154): the resource's name (`<field>.name` in `collection`),
/// its mask resolved against the `mutable` paths (`populated` says which fields an absent mask means), and the
/// etag to check (the request's, else the one on the resource sent).
pub fn update_envelope<R: crate::service_error::Reason>(
    field: &str,
    name: &str,
    collection: &str,
    update_mask: Option<&FieldMask>,
    mutable: &[&'static str],
    populated: impl Fn(&str) -> bool,
    (request_etag, resource_etag): (String, &str),
) -> Result<(Mask, String), crate::service_error::Error<R>> {
    let mut v = Violations::new();
    if crate::names::parse(name, collection).is_none() {
        v.add(format!("{field}.name"), crate::names::expected(collection));
    }
    let mask = resolve(update_mask, mutable, &mut v, populated);
    if !v.is_empty() {
        return Err(crate::service_error::Error::Invalid(v));
    }
    let etag = if request_etag.is_empty() {
        resource_etag.to_owned()
    } else {
        request_etag
    };
    Ok((mask, etag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fm(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    const MUTABLE: &[&str] = &["unit_label", "cap_amount"];

    #[test]
    fn explicit_star_and_implicit_masks() {
        let mut v = Violations::new();
        let m = resolve(Some(&fm(&["cap_amount"])), MUTABLE, &mut v, |_| true);
        assert!(m.has("cap_amount") && !m.has("unit_label"));
        let m = resolve(Some(&fm(&["*"])), MUTABLE, &mut v, |_| false);
        assert!(m.has("cap_amount") && m.has("unit_label"));
        let m = resolve(None, MUTABLE, &mut v, |p| p == "unit_label");
        assert!(m.has("unit_label") && !m.has("cap_amount"));
        assert!(v.is_empty());
    }

    #[test]
    fn unknown_immutable_and_empty_masks_are_refused_on_update_mask() {
        for mask in [
            fm(&["product"]),
            fm(&["no_such_field"]),
            fm(&["cap_amount", "state"]),
        ] {
            let mut v = Violations::new();
            resolve(Some(&mask), MUTABLE, &mut v, |_| true);
            assert_eq!(v.fields().collect::<Vec<_>>(), ["update_mask"], "{mask:?}");
        }
        let mut v = Violations::new();
        resolve(None, MUTABLE, &mut v, |_| false);
        assert_eq!(v.fields().collect::<Vec<_>>(), ["update_mask"]);
    }
}
