//! Jurisdiction scope (THREATS H2): a supervisor role (data authority, implementing agency, pricing authority,
//! evaluator) acts only on rows of its token's jurisdiction and of the jurisdictions below it, since supervision
//! runs down the tree the registry holds. Loading a row's ancestry is storage; deciding is the pure
//! [`supervises`], which each service's `domain/` wraps in its own `may_*` check and error.

use sqlx::PgExecutor;

use crate::auth::Caller;
use crate::names;
use crate::service_error::{Error, Reason};

/// Deeper than any real tree (province, city, county); bounds the walk up a corrupt (cyclic) read model.
const MAX_DEPTH: i32 = 16;

/// A jurisdiction and its ancestors, nearest first (ids without the `jurisdictions/` prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ancestry(Vec<String>);

impl Ancestry {
    /// An ancestry given in full, nearest first: for tests and for rows that carry their chain.
    pub fn new(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self(ids.into_iter().map(Into::into).collect())
    }

    /// The jurisdiction itself (the first id), if known.
    pub fn own(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.iter().any(|a| a == id)
    }
}

/// Reads `id` (a bare id or a `jurisdictions/…` name) and its ancestors from the service's
/// `jurisdictions (id, parent_id)` table, where the root's parent is NULL or empty. A jurisdiction the table
/// does not hold has an ancestry of itself only, so only its own supervisors act on it.
pub async fn ancestry<'e>(db: impl PgExecutor<'e>, id: &str) -> Result<Ancestry, sqlx::Error> {
    let id = if id.contains('/') {
        names::parse(id, "jurisdictions")
    } else {
        names::valid_id(id).then_some(id)
    };
    let Some(id) = id else {
        return Ok(Ancestry::default());
    };
    let mut up: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE up (id, depth) AS (
             SELECT parent_id, 1 FROM jurisdictions WHERE id = $1
             UNION ALL
             SELECT j.parent_id, up.depth + 1 FROM jurisdictions j JOIN up ON j.id = up.id
             WHERE up.depth < $2
         )
         SELECT id FROM up WHERE id IS NOT NULL AND id <> '' ORDER BY depth",
    )
    .bind(id)
    .bind(MAX_DEPTH)
    .fetch_all(db)
    .await?;
    up.insert(0, id.to_owned());
    Ok(Ancestry(up))
}

/// True when `caller`'s jurisdiction is the row's own or one of its ancestors. A caller without a jurisdiction
/// claim (the service itself, the public) supervises nothing.
pub fn supervises(caller: &Caller, row: &Ancestry) -> bool {
    let Some(own) = names::parse(&caller.jurisdiction, "jurisdictions") else {
        return false;
    };
    !own.is_empty() && row.contains(own)
}

/// `what` (e.g. `organizations/yn-op`) belongs to the jurisdiction whose ancestry is `row`; the caller must
/// supervise it. Otherwise `PERMISSION_DENIED` with the service's `reason` (OUTSIDE_JURISDICTION).
pub fn may_supervise<R: Reason>(
    caller: &Caller,
    row: &Ancestry,
    what: &str,
    reason: R,
) -> Result<(), Error<R>> {
    if supervises(caller, row) {
        return Ok(());
    }
    let owner = row.own().unwrap_or("(none)");
    let own = if caller.jurisdiction.is_empty() {
        "the caller's (none)"
    } else {
        &caller.jurisdiction
    };
    Err(Error::denied(
        reason,
        format!("{what} belongs to jurisdictions/{owner}, outside {own} and the jurisdictions below it"),
    ))
}

/// R-RV-01, R-EV-01: a `party` to the resource reads it; so does a `supervisor` (by role) of its jurisdiction or
/// one above it (THREATS H2); anyone else is PERMISSION_DENIED with `reason`.
pub async fn may_read<R: Reason>(
    pool: &sqlx::PgPool,
    caller: &Caller,
    party: bool,
    supervisor: bool,
    jurisdiction: &str,
    name: &str,
    reason: R,
) -> Result<(), Error<R>> {
    if party {
        return Ok(());
    }
    if supervisor {
        let row = ancestry(pool, jurisdiction).await?;
        return may_supervise(caller, &row, name, reason);
    }
    Err(Error::denied(
        reason,
        format!("{} is not a party to {name}", caller.organization),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn da_in(jurisdiction: &str) -> Caller {
        Caller {
            subject: "u".into(),
            organization: "organizations/da".into(),
            roles: vec![Role::DataAuthority],
            jurisdiction: jurisdiction.into(),
        }
    }

    #[test]
    fn a_supervisor_acts_on_its_own_jurisdiction_and_below_only() {
        let zhengzhou = Ancestry::new(["zhengzhou", "henan", "cn"]);
        assert!(supervises(&da_in("jurisdictions/zhengzhou"), &zhengzhou));
        assert!(supervises(&da_in("jurisdictions/henan"), &zhengzhou));
        assert!(supervises(&da_in("jurisdictions/cn"), &zhengzhou));
        assert!(!supervises(&da_in("jurisdictions/yunnan"), &zhengzhou));
        let henan = Ancestry::new(["henan", "cn"]);
        assert!(
            !supervises(&da_in("jurisdictions/zhengzhou"), &henan),
            "a child does not supervise its parent"
        );
    }

    #[test]
    fn a_caller_without_a_jurisdiction_supervises_nothing() {
        let row = Ancestry::new(["henan"]);
        assert!(!supervises(&da_in(""), &row));
        assert!(
            !supervises(&da_in("henan"), &row),
            "a bare id is not a jurisdiction name"
        );
        assert!(!supervises(&Caller::system("registry"), &row));
        assert!(!supervises(&da_in("jurisdictions/henan"), &Ancestry::default()));
    }
}
