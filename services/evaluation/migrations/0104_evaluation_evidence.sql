-- Evidence records (评价证据, REVIEW-EVALUATION §3.5): immutable facts about an organization, collected from the
-- other services' events or uploaded (MANUAL). The body is the pdop.evaluation.v1.EvidenceRecord as recorded;
-- the columns are what listings, the covered-period reads of evaluations and visibility need.
CREATE TABLE evidence_records (
    id              text PRIMARY KEY,
    organization_id text        NOT NULL,
    jurisdiction_id text        NOT NULL,
    kind            smallint    NOT NULL,            -- pdop.evaluation.v1.EvidenceKind
    occur_time      timestamptz NOT NULL,
    occur_date      date        NOT NULL,            -- Asia/Shanghai
    source_event_id text,                            -- ce-id; NULL for MANUAL records
    body            bytea       NOT NULL,
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
-- §3.5: one record per (source event, organization); a redelivered event records nothing.
CREATE UNIQUE INDEX evidence_records_by_source ON evidence_records (source_event_id, organization_id)
    WHERE source_event_id IS NOT NULL;
CREATE INDEX evidence_records_by_organization ON evidence_records (organization_id, occur_date);
CREATE INDEX evidence_records_by_jurisdiction ON evidence_records (jurisdiction_id, occur_time, id);
CREATE INDEX evidence_records_by_time ON evidence_records (occur_time, id);
