-- Developer admissions (开发主体准入, §2.7), stored as their message. One open admission per developer and operator
-- (DRAFT, UNDER_REVIEW, SUPPLEMENT_REQUESTED, QUALIFIED, PUBLIC_NOTICE).
CREATE TABLE developer_admissions (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    developer_id    text        NOT NULL,
    operator_id     text        NOT NULL,
    agreement_id    text        NOT NULL,
    state           smallint    NOT NULL,            -- pdop.review.v1.DeveloperAdmissionState
    parties         text[]      NOT NULL,
    body            bytea       NOT NULL,            -- pdop.review.v1.DeveloperAdmission
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX developer_admissions_one_open ON developer_admissions (developer_id, operator_id)
    WHERE state IN (1, 2, 3, 4, 5);
CREATE INDEX developer_admissions_by_agreement ON developer_admissions (agreement_id) WHERE state = 6;
CREATE INDEX developer_admissions_by_developer ON developer_admissions (developer_id) WHERE state = 6;
CREATE INDEX developer_admissions_by_parties ON developer_admissions USING gin (parties);

-- Objections to a developer's public notice, received from disclosure's ObjectionFiled and keyed by its id. The
-- body holds the objector's identity (personal information), shown in full to the lead reviewer only.
CREATE TABLE admission_objections (
    id           text PRIMARY KEY,
    admission_id text        NOT NULL,
    state        smallint    NOT NULL,               -- pdop.review.v1.AdmissionObjectionState
    seq          bigserial   NOT NULL,
    body         bytea       NOT NULL,               -- pdop.review.v1.DeveloperAdmissionObjection
    create_time  timestamptz NOT NULL
);
CREATE INDEX admission_objections_by_admission ON admission_objections (admission_id, seq);
