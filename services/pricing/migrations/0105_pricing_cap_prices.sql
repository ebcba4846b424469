-- Cap prices (上限收费标准) per product and billing unit, set by the authorizing entity within the MAR.
CREATE TABLE cap_prices (
    id               text PRIMARY KEY,
    pricing_case_id  text        NOT NULL REFERENCES pricing_cases (id),
    product_id       text        NOT NULL,
    state            smallint    NOT NULL,           -- pdop.pricing.v1.CapPriceState
    expected_revenue numeric     NOT NULL,           -- cap × expected annual volume, to 0.01
    body             bytea       NOT NULL,           -- pdop.pricing.v1.CapPrice
    create_time      timestamptz NOT NULL,
    update_time      timestamptz NOT NULL,
    version          bigint      NOT NULL DEFAULT 1
);
CREATE INDEX cap_prices_by_case ON cap_prices (pricing_case_id, state);
