-- Obligation deadlines (法定期限): one row per obligation with a due date computed on the working-day calendar.
-- The scheduler marks open ones OVERDUE the day after they fall due.
CREATE TABLE deadlines (
    id              text PRIMARY KEY,
    kind            smallint    NOT NULL,            -- pdop.registry.v1.ObligationKind
    subject         text        NOT NULL,            -- e.g. agreements/{id}
    responsible_id  text,                            -- NULL for the registry's own duties
    jurisdiction_id text        NOT NULL,
    due_date        date        NOT NULL,
    state           smallint    NOT NULL,            -- pdop.registry.v1.DeadlineState
    met_late        boolean     NOT NULL DEFAULT false,
    body            bytea       NOT NULL,            -- pdop.registry.v1.ObligationDeadline
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
-- One open obligation of a kind per subject (a restarted clock replaces it).
CREATE UNIQUE INDEX deadlines_one_open ON deadlines (subject, kind) WHERE state IN (1, 3);
CREATE INDEX deadlines_by_due ON deadlines (due_date, id);
CREATE INDEX deadlines_by_responsible ON deadlines (responsible_id, due_date);
