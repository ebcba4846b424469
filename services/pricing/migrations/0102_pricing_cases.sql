-- Read models of the registry's organizations, agreements and products (kept from its events; the last
-- event applied wins, as events of one aggregate are published in order).
CREATE TABLE organizations (
    id   text PRIMARY KEY,
    body bytea NOT NULL                              -- pdop.common.v1.OrganizationRef
);
CREATE TABLE agreements (
    id                     text PRIMARY KEY,
    jurisdiction_id        text     NOT NULL,
    implementing_agency_id text     NOT NULL,
    operator_id            text     NOT NULL,
    state                  smallint NOT NULL,         -- pdop.registry.v1.AgreementState
    body                   bytea    NOT NULL          -- pdop.registry.events.v1.AgreementSummary
);
CREATE TABLE products (
    id           text PRIMARY KEY,
    operator_id  text     NOT NULL,
    agreement_id text     NOT NULL,
    use_class    smallint NOT NULL,                   -- pdop.common.v1.UseClass
    state        smallint NOT NULL,                   -- pdop.registry.v1.ProductState
    body         bytea    NOT NULL                    -- pdop.registry.events.v1.ProductSnapshot
);

-- Pricing cases (定价): one operator and agreement priced over a period.
CREATE TABLE pricing_cases (
    id                    text PRIMARY KEY,
    jurisdiction_id       text        NOT NULL,
    authorizing_entity_id text        NOT NULL,
    operator_id           text        NOT NULL,
    agreement_id          text        NOT NULL,
    state                 smallint    NOT NULL,      -- pdop.pricing.v1.PricingCaseState
    body                  bytea       NOT NULL,      -- pdop.pricing.v1.PricingCase
    create_time           timestamptz NOT NULL,
    update_time           timestamptz NOT NULL,
    version               bigint      NOT NULL DEFAULT 1
);
-- One open (not settled) case per agreement.
CREATE UNIQUE INDEX pricing_cases_one_open ON pricing_cases (agreement_id) WHERE state <> 6;
