-- Revenue-sharing ratios per agreement (收益分配, S-HN Art.21, S-LY §五(二)); immutable versions, changed by a
-- superseding row.
CREATE TABLE revenue_sharings (
    id            text PRIMARY KEY,
    agreement_id  text        NOT NULL,
    superseded_by text        REFERENCES revenue_sharings (id) DEFERRABLE INITIALLY DEFERRED,
    body          bytea       NOT NULL,              -- pdop.pricing.v1.RevenueSharing
    create_time   timestamptz NOT NULL
);
-- One current version per agreement.
CREATE UNIQUE INDEX revenue_sharings_current ON revenue_sharings (agreement_id) WHERE superseded_by IS NULL;
