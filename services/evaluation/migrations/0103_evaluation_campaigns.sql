-- Campaigns (§3.3) and their evaluations (§3.4). `parties`: the organizations that read a row as a party
-- (the evaluating organization, the evaluators and, for evaluations, the subject).
CREATE TABLE campaigns (
    id               text        PRIMARY KEY,
    jurisdiction_id  text        NOT NULL,
    evaluating_id    text        NOT NULL,
    subject_kind     smallint    NOT NULL,
    year             integer     NOT NULL,
    period_start     date        NOT NULL,
    period_end       date        NOT NULL,
    state            smallint    NOT NULL,    -- pdop.evaluation.v1.EvaluationCampaignState
    parties          text[]      NOT NULL,
    body             bytea       NOT NULL,    -- pdop.evaluation.v1.EvaluationCampaign
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1
);
CREATE INDEX campaigns_by_evaluating ON campaigns (evaluating_id, subject_kind, jurisdiction_id);
CREATE TABLE evaluations (
    id               text        PRIMARY KEY,
    campaign_id      text        NOT NULL REFERENCES campaigns (id),
    jurisdiction_id  text        NOT NULL,
    subject_id       text        NOT NULL,
    year             integer     NOT NULL,
    state            smallint    NOT NULL,    -- pdop.evaluation.v1.EvaluationState
    grade            smallint    NOT NULL DEFAULT 0,
    self_due         date,
    parties          text[]      NOT NULL,
    body             bytea       NOT NULL,    -- pdop.evaluation.v1.Evaluation
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1,
    UNIQUE (campaign_id, subject_id)
);
CREATE INDEX evaluations_by_subject ON evaluations (subject_id);
CREATE INDEX evaluations_collecting ON evaluations (self_due) WHERE state = 2;
