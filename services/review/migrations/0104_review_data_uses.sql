-- Data-use applications (用数申请, §2.4), stored as their message with the columns listings, visibility and the
-- cascades need. `parties` holds every organization that may read one besides supervisors: the applicant, the
-- co-applicant, the providers holding items and the panel's organizations (R-RV-01).
CREATE TABLE data_use_applications (
    id              text        PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    operator_id     text        NOT NULL,
    agreement_id    text        NOT NULL,
    scenario_id     text        NOT NULL,            -- '' in data_use_only profiles (DU-2)
    kind            smallint    NOT NULL,            -- pdop.review.v1.DataUseKind
    state           smallint    NOT NULL,            -- pdop.review.v1.DataUseApplicationState
    parties         text[]      NOT NULL,
    providers       text[]      NOT NULL,            -- ids of the organizations holding items
    resources       text[]      NOT NULL,            -- ids of the requested resources
    body            bytea       NOT NULL,            -- pdop.review.v1.DataUseApplication
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX data_use_applications_by_scenario ON data_use_applications (scenario_id);
CREATE INDEX data_use_applications_by_agreement ON data_use_applications (agreement_id);
CREATE INDEX data_use_applications_by_parties ON data_use_applications USING gin (parties);
