-- Corrections point at the entry they correct, so an entry's annotations (corrected_by, retracted) are derived
-- from later entries and the log itself never changes.
ALTER TABLE entries ADD COLUMN corrects bigint REFERENCES entries (sequence);
ALTER TABLE entries ADD COLUMN correction_kind smallint;   -- pdop.disclosure.v1.CorrectionKind
CREATE INDEX entries_corrects ON entries (corrects) WHERE corrects IS NOT NULL;

-- Public notices (公示) opened by notice entries; the period comes from the deciding service's event.
CREATE TABLE notices (
    id               text PRIMARY KEY,
    kind             smallint    NOT NULL,           -- pdop.disclosure.v1.NoticeKind
    subject          text        NOT NULL,
    jurisdiction_id  text        NOT NULL,
    entry_sequence   bigint      NOT NULL UNIQUE REFERENCES entries (sequence),
    start_date       date        NOT NULL,
    end_date         date        NOT NULL,
    deciding_service text        NOT NULL,
    deciding_org_id  text        NOT NULL,
    objection_count  int         NOT NULL DEFAULT 0,
    body             bytea       NOT NULL,           -- pdop.disclosure.v1.Notice
    create_time      timestamptz NOT NULL
);
CREATE INDEX notices_subject ON notices (subject);

-- Objections (异议): real-name, with the objector's identity kept here and never in the log.
CREATE TABLE objections (
    id          text PRIMARY KEY,
    notice_id   text        NOT NULL REFERENCES notices (id),
    state       smallint    NOT NULL,                -- pdop.disclosure.v1.ObjectionState
    request_id  text UNIQUE,
    body        bytea       NOT NULL,                -- pdop.disclosure.v1.Objection
    file_time   timestamptz NOT NULL
);
CREATE INDEX objections_notice ON objections (notice_id, file_time);
