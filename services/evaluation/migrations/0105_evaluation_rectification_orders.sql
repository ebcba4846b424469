-- Rectification orders (整改, REVIEW-EVALUATION §3.6), each stored as its message with the columns that listings,
-- visibility and the overdue sweep need. `verifiers`: organizations besides the issuer that verify the order (an
-- evaluation's evaluators); `overdue`: announced once, the day after a deadline passed without a passed verification.
CREATE TABLE rectification_orders (
    id              text        PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    issuer_id       text        NOT NULL,
    subject_id      text        NOT NULL,
    evaluation_id   text        NOT NULL,            -- '' for orders outside an evaluation
    verifiers       text[]      NOT NULL,            -- organizations/{id}
    source          smallint    NOT NULL,            -- pdop.evaluation.v1.RectificationSource
    state           smallint    NOT NULL,            -- pdop.evaluation.v1.RectificationOrderState
    overdue         boolean     NOT NULL DEFAULT false,
    due             date        NOT NULL,
    body            bytea       NOT NULL,            -- pdop.evaluation.v1.RectificationOrder
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX rectification_orders_by_subject ON rectification_orders (subject_id);
CREATE INDEX rectification_orders_by_issuer ON rectification_orders (issuer_id);
CREATE INDEX rectification_orders_by_due ON rectification_orders (due, id);
CREATE INDEX rectification_orders_running ON rectification_orders (due) WHERE NOT overdue AND state <> 4;
