-- Every running review deadline (R-RV-07): a provider's confirmation (D20), a data-check response (D19, D19').
-- `met_at` is set when the step is done; the scheduler announces a deadline missed once, on the day after `due`
-- (`missed_at`).
CREATE TABLE review_deadlines (
    subject         text        NOT NULL,        -- the resource, e.g. dataQualityChecks/{id}
    step            text        NOT NULL,        -- e.g. respond, confirm:organizations/{id}
    responsible     text        NOT NULL,        -- organizations/{id}
    jurisdiction    text        NOT NULL,        -- jurisdictions/{id}
    due             date        NOT NULL,
    deadline        bytea       NOT NULL,        -- pdop.common.v1.Deadline
    met_at          timestamptz,
    missed_at       timestamptz,
    PRIMARY KEY (subject, step)
);
CREATE INDEX review_deadlines_open ON review_deadlines (due) WHERE met_at IS NULL AND missed_at IS NULL;
