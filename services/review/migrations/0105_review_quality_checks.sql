-- Data-quality checks (数据校核, §2.5), stored as their message; `due` is the response deadline's last day, for the
-- overdue filter.
CREATE TABLE quality_checks (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    requester_id    text        NOT NULL,
    responsible_id  text        NOT NULL,
    resource_id     text        NOT NULL,
    state           smallint    NOT NULL,            -- pdop.review.v1.DataQualityCheckState
    due             date,
    body            bytea       NOT NULL,            -- pdop.review.v1.DataQualityCheck
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX quality_checks_by_requester ON quality_checks (requester_id);
CREATE INDEX quality_checks_by_responsible ON quality_checks (responsible_id);

-- Developer agreements as the registry announces them: a Hubei developer raises checks only under an ACTIVE one
-- (S-HB §四(七)1).
CREATE TABLE developer_agreements (
    id           text PRIMARY KEY,
    developer_id text    NOT NULL,
    operator_id  text    NOT NULL,
    agreement_id text    NOT NULL,
    active       boolean NOT NULL,
    body         bytea   NOT NULL                    -- pdop.registry.events.v1.DeveloperAgreementSigned
);
CREATE INDEX developer_agreements_by_developer ON developer_agreements (developer_id) WHERE active;
