-- Jurisdictions as the registry announces them (read model): which rule profile applies where.
CREATE TABLE jurisdictions (
    id         text PRIMARY KEY,
    profile_id text        NOT NULL,
    body       bytea       NOT NULL,                 -- pdop.common.v1.JurisdictionRef
    update_time timestamptz NOT NULL
);

-- Average 10-year government bond yields (DOMAIN §11), entered with their source; immutable, corrected by
-- a superseding row.
CREATE TABLE bond_yields (
    id            text PRIMARY KEY,
    year          int         NOT NULL,
    series        smallint    NOT NULL,              -- pdop.pricing.v1.BondYieldSeries
    average_yield numeric     NOT NULL,
    superseded_by text        REFERENCES bond_yields (id) DEFERRABLE INITIALLY DEFERRED,
    body          bytea       NOT NULL,              -- pdop.pricing.v1.BondYield
    create_time   timestamptz NOT NULL
);
-- One current value per year and series.
CREATE UNIQUE INDEX bond_yields_current ON bond_yields (year, series) WHERE superseded_by IS NULL;
