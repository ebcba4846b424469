-- The negative list (负面清单): data that may not enter authorized operation, reviewed yearly (D28, S-YN Art.15).
CREATE TABLE negative_list_entries (
    id               text PRIMARY KEY,
    jurisdiction_id  text        NOT NULL REFERENCES jurisdictions (id),
    resource_id      text        NOT NULL REFERENCES resources (id),
    field_keys       text[]      NOT NULL,           -- empty: the whole resource
    reason           text        NOT NULL,
    basis            text        NOT NULL,
    effective_date   date        NOT NULL,
    next_review_date date        NOT NULL,
    state            smallint    NOT NULL,           -- pdop.registry.v1.NegativeListEntryState
    reviews          bytea[]     NOT NULL DEFAULT '{}', -- pdop.registry.v1.NegativeListReview, oldest first
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1
);
-- One active entry per resource: a second listing is refused, a changed scope is a review or a new entry after lifting.
CREATE UNIQUE INDEX negative_list_one_active ON negative_list_entries (resource_id) WHERE state = 1;
CREATE INDEX negative_list_by_review ON negative_list_entries (next_review_date, id);
