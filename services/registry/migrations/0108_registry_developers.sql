-- Developers (开发主体): admissions learned from the review service, developer agreements (开发利用协议) and the
-- blacklist (信用约束) that admission, agreements and other services consult.
CREATE TABLE developer_admissions (
    id           text PRIMARY KEY,                   -- the review service's developerAdmissions/{id}
    developer_id text        NOT NULL,
    operator_id  text        NOT NULL,
    agreement_id text        NOT NULL,
    admit_time   timestamptz NOT NULL
);

CREATE TABLE developer_agreements (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL REFERENCES jurisdictions (id),
    operator_id     text        NOT NULL REFERENCES organizations (id),
    developer_id    text        NOT NULL REFERENCES organizations (id),
    agreement_id    text        NOT NULL REFERENCES agreements (id),
    state           smallint    NOT NULL,            -- pdop.registry.v1.DeveloperAgreementState
    term_end        date        NOT NULL,
    body            bytea       NOT NULL,            -- pdop.registry.v1.DeveloperAgreement
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX developer_agreements_by_developer ON developer_agreements (developer_id, state);

CREATE TABLE blacklist_entries (
    id              text PRIMARY KEY,
    organization_id text        NOT NULL REFERENCES organizations (id),
    jurisdiction_id text        NOT NULL REFERENCES jurisdictions (id),
    action          smallint    NOT NULL,            -- pdop.registry.v1.BlacklistAction
    state           smallint    NOT NULL,            -- pdop.registry.v1.BlacklistEntryState
    period_start    date        NOT NULL,
    period_end      date,                            -- NULL = indefinite
    applied         boolean     NOT NULL DEFAULT false, -- SUSPEND/DISQUALIFY acted on running agreements
    body            bytea       NOT NULL,            -- pdop.registry.v1.BlacklistEntry
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX blacklist_entries_by_organization ON blacklist_entries (organization_id, state);
