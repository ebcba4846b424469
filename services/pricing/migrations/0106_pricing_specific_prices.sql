-- Specific prices (具体收费标准) and trial prices (试行收费标准) set by the operator, at or below the cap.
CREATE TABLE specific_prices (
    id              text PRIMARY KEY,
    pricing_case_id text        NOT NULL REFERENCES pricing_cases (id),
    product_id      text        NOT NULL,
    state           smallint    NOT NULL,            -- pdop.pricing.v1.SpecificPriceState
    body            bytea       NOT NULL,            -- pdop.pricing.v1.SpecificPrice
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX specific_prices_by_case ON specific_prices (pricing_case_id, product_id, state);
