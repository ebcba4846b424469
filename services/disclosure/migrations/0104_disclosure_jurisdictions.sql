-- The jurisdiction tree as the registry announces it (JurisdictionCreated/Updated), for supervision checks: a data
-- authority supervises its own jurisdiction and every one below it. Jurisdictions announced before this table
-- existed are unknown until the registry announces them again; until then only the exact jurisdiction supervises.
CREATE TABLE IF NOT EXISTS jurisdictions (
    id        text PRIMARY KEY,
    parent_id text NOT NULL DEFAULT ''
);
