-- Read models of what the registry announces (R-RV-12: the review service never calls the registry). Each row is
-- the latest snapshot its aggregate's events carried; events of one aggregate are published in order.
CREATE TABLE jurisdictions (
    id         text PRIMARY KEY,
    profile_id text  NOT NULL,
    parent_id  text,
    body       bytea NOT NULL                        -- pdop.common.v1.JurisdictionRef
);
CREATE TABLE organizations (
    id              text PRIMARY KEY,
    jurisdiction_id text       NOT NULL,
    roles           smallint[] NOT NULL,             -- pdop.common.v1.OrganizationRole
    credit_status   smallint   NOT NULL,             -- pdop.registry.v1.CreditStatus
    body            bytea      NOT NULL              -- pdop.common.v1.OrganizationRef
);
CREATE INDEX organizations_by_jurisdiction ON organizations (jurisdiction_id);
CREATE TABLE resources (
    id          text PRIMARY KEY,
    provider_id text     NOT NULL,
    grade       smallint NOT NULL,                   -- pdop.common.v1.DataGrade
    state       smallint NOT NULL,                   -- pdop.registry.v1.ResourceState
    body        bytea    NOT NULL                    -- pdop.registry.events.v1.ResourceSnapshot
);
CREATE TABLE agreements (
    id                     text PRIMARY KEY,
    jurisdiction_id        text     NOT NULL,
    implementing_agency_id text     NOT NULL,
    operator_id            text     NOT NULL,
    state                  smallint NOT NULL,        -- pdop.registry.v1.AgreementState
    body                   bytea    NOT NULL         -- pdop.registry.events.v1.AgreementSummary
);
CREATE INDEX agreements_by_operator ON agreements (operator_id);
-- Negative-list entries (S-YN Art.15); empty field_keys: the whole resource.
CREATE TABLE negative_list (
    id          text PRIMARY KEY,
    resource_id text    NOT NULL,
    field_keys  text[]  NOT NULL,
    lifted      boolean NOT NULL DEFAULT false
);
CREATE INDEX negative_list_by_resource ON negative_list (resource_id) WHERE NOT lifted;
-- Blacklist entries (R-RV-17).
CREATE TABLE blacklist (
    id              text PRIMARY KEY,
    organization_id text     NOT NULL,
    action          smallint NOT NULL,               -- pdop.registry.v1.BlacklistAction
    active          boolean  NOT NULL
);
CREATE INDEX blacklist_by_organization ON blacklist (organization_id) WHERE active;
CREATE TABLE products (
    id           text PRIMARY KEY,
    operator_id  text     NOT NULL,
    agreement_id text     NOT NULL,
    state        smallint NOT NULL,                  -- pdop.registry.v1.ProductState
    body         bytea    NOT NULL                   -- pdop.registry.events.v1.ProductSnapshot
);
