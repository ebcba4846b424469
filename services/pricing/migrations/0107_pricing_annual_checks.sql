-- Annual checks (年度校核): actual revenue against the MAR, one per case and year.
CREATE TABLE annual_checks (
    id              text PRIMARY KEY,
    pricing_case_id text        NOT NULL REFERENCES pricing_cases (id),
    year            int         NOT NULL,
    state           smallint    NOT NULL,            -- pdop.pricing.v1.AnnualCheckState
    body            bytea       NOT NULL,            -- pdop.pricing.v1.AnnualCheck
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1,
    UNIQUE (pricing_case_id, year)
);
