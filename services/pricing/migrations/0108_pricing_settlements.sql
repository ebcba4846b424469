-- Period settlements (周期清算): one per pricing case, from its completed annual checks.
CREATE TABLE period_settlements (
    id              text PRIMARY KEY,
    pricing_case_id text        NOT NULL UNIQUE REFERENCES pricing_cases (id),
    state           smallint    NOT NULL,            -- pdop.pricing.v1.PeriodSettlementState
    body            bytea       NOT NULL,            -- pdop.pricing.v1.PeriodSettlement
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
