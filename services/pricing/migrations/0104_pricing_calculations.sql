-- Stored MAR calculations: immutable inputs, result and derivation (only the state changes, on approval).
CREATE TABLE calculations (
    id              text PRIMARY KEY,
    pricing_case_id text        NOT NULL REFERENCES pricing_cases (id),
    cost_survey_id  text        NOT NULL REFERENCES cost_surveys (id),
    state           smallint    NOT NULL,            -- pdop.pricing.v1.CalculationState
    body            bytea       NOT NULL,            -- pdop.pricing.v1.Calculation
    create_time     timestamptz NOT NULL
);
CREATE INDEX calculations_by_case ON calculations (pricing_case_id, id);
