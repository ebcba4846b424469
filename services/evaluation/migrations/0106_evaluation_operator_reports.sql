-- Operator reports (运营报告, REVIEW-EVALUATION §3.7), each stored as its message; one per (agreement, kind, year,
-- quarter).
CREATE TABLE operator_reports (
    id              text        PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    operator_id     text        NOT NULL,
    agreement_id    text        NOT NULL,
    kind            smallint    NOT NULL,            -- pdop.evaluation.v1.ReportKind
    year            integer     NOT NULL,
    quarter         integer     NOT NULL,            -- 0 for annual reports
    recipients      text[]      NOT NULL,            -- organizations/{id}
    state           smallint    NOT NULL,            -- pdop.evaluation.v1.OperatorReportState
    body            bytea       NOT NULL,            -- pdop.evaluation.v1.OperatorReport
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1,
    UNIQUE (agreement_id, kind, year, quarter)
);
CREATE INDEX operator_reports_by_operator ON operator_reports (operator_id);

-- The reports an agreement owes (the profile cadence × the periods it was in force), each settled once after its
-- due date: `overdue` when it was missing then (OperatorReportOverdue was announced), else on time.
CREATE TABLE operator_report_dues (
    agreement_id text        NOT NULL,
    kind         smallint    NOT NULL,
    year         integer     NOT NULL,
    quarter      integer     NOT NULL,
    due          date        NOT NULL,
    overdue      boolean     NOT NULL,
    settled_at   timestamptz NOT NULL,
    PRIMARY KEY (agreement_id, kind, year, quarter)
);
