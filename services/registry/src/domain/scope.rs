//! Jurisdiction scope (THREATS H2): supervisor roles act on rows of their own jurisdiction and those below it.

use pdop_kit::auth::Caller;
use pdop_kit::scope::Ancestry;

use super::error::{Error, ErrorReason};

/// `what` (e.g. `organizations/yn-op`) belongs to the jurisdiction whose ancestry is `row`; the caller must
/// supervise it. Otherwise `PERMISSION_DENIED` with reason `OUTSIDE_JURISDICTION`.
pub fn may_supervise(caller: &Caller, row: &Ancestry, what: &str) -> Result<(), Error> {
    pdop_kit::scope::may_supervise(caller, row, what, ErrorReason::OutsideJurisdiction)
}

#[cfg(test)]
mod tests {
    use pdop_kit::auth::Role;

    use super::*;

    // THREATS H2: a Henan supervisor cannot act on a Yunnan row, and the refusal names the reason.
    #[test]
    fn a_henan_supervisor_is_refused_a_yunnan_row() {
        let caller = Caller {
            subject: "u".into(),
            organization: "organizations/hn-agency".into(),
            roles: vec![Role::ImplementingAgency],
            jurisdiction: "jurisdictions/henan".into(),
        };
        let err = may_supervise(&caller, &Ancestry::new(["yunnan"]), "organizations/yn-op").unwrap_err();
        assert_eq!(err.reason(), Some(ErrorReason::OutsideJurisdiction));
        assert!(matches!(err, Error::Denied { .. }));
        assert!(may_supervise(&caller, &Ancestry::new(["zhengzhou", "henan"]), "x").is_ok());
    }
}
