-- Reviewable resources are stored as their message, with the columns listings, visibility and sweeps need.
-- `parties` holds every organization that may read the resource besides supervisors: the applicant, a co-applicant
-- and the panel's organizations (R-RV-01).
CREATE TABLE scenario_applications (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    operator_id     text        NOT NULL,
    agreement_id    text        NOT NULL,
    state           smallint    NOT NULL,            -- pdop.review.v1.ScenarioApplicationState
    parties         text[]      NOT NULL,
    resources       text[]      NOT NULL,            -- ids of the demanded resources
    body            bytea       NOT NULL,            -- pdop.review.v1.ScenarioApplication
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX scenario_applications_by_agreement ON scenario_applications (agreement_id);
CREATE INDEX scenario_applications_by_parties ON scenario_applications USING gin (parties);

-- Opinions of every reviewable resource (`{parent}/opinions/{id}`); immutable once given.
CREATE TABLE opinions (
    parent       text        NOT NULL,
    id           text        NOT NULL,
    review_round integer     NOT NULL,
    seq          bigserial   NOT NULL,
    body         bytea       NOT NULL,               -- pdop.review.v1.ReviewOpinion
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (parent, id)
);
CREATE INDEX opinions_by_round ON opinions (parent, review_round, seq);
