-- Indicator systems (§3.2), kept as their message with the columns listings and visibility need.
CREATE TABLE indicator_systems (
    id              text        PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    owner_id        text        NOT NULL,
    subject_kind    smallint    NOT NULL,     -- pdop.evaluation.v1.EvaluationSubjectKind
    year            integer     NOT NULL,
    state           smallint    NOT NULL,     -- pdop.evaluation.v1.IndicatorSystemState
    body            bytea       NOT NULL,     -- pdop.evaluation.v1.IndicatorSystem
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX indicator_systems_by_jurisdiction ON indicator_systems (jurisdiction_id, subject_kind, year);
