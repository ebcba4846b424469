-- Cost surveys (成本调查): the survey with its lines and computed totals is kept as its protobuf message.
CREATE TABLE cost_surveys (
    id              text PRIMARY KEY,
    pricing_case_id text        NOT NULL REFERENCES pricing_cases (id),
    state           smallint    NOT NULL,            -- pdop.pricing.v1.CostSurveyState
    body            bytea       NOT NULL,            -- pdop.pricing.v1.CostSurvey
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX cost_surveys_by_case ON cost_surveys (pricing_case_id);
