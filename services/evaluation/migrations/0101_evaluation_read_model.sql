-- What the registry announces, kept because the evaluation service never calls it: jurisdictions (rule profile,
-- parent), organizations (roles, display name), operator agreements and developer agreements (who was active
-- when: the subjects of a campaign, the expected operator reports) and resources (their provider).
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
-- `active_from` .. `active_until`: the days the agreement was in force (its term, cut short by a termination);
-- `activated`: it has been ACTIVE at some point (a signed agreement never activated evaluates nobody).
CREATE TABLE agreements (
    id                     text PRIMARY KEY,
    jurisdiction_id        text     NOT NULL,
    implementing_agency_id text     NOT NULL,
    operator_id            text     NOT NULL,
    state                  smallint NOT NULL,        -- pdop.registry.v1.AgreementState
    activated              boolean  NOT NULL DEFAULT false,
    active_from            date,
    active_until           date,
    body                   bytea    NOT NULL         -- pdop.registry.events.v1.AgreementSummary
);
CREATE INDEX agreements_by_operator ON agreements (operator_id);
CREATE INDEX agreements_by_jurisdiction ON agreements (jurisdiction_id);
CREATE TABLE developer_agreements (
    id              text PRIMARY KEY,
    jurisdiction_id text     NOT NULL,
    operator_id     text     NOT NULL,
    developer_id    text     NOT NULL,
    agreement_id    text     NOT NULL,
    ended           boolean  NOT NULL DEFAULT false,
    active_from     date,
    active_until    date
);
CREATE INDEX developer_agreements_by_operator ON developer_agreements (operator_id);
CREATE TABLE resources (
    id          text PRIMARY KEY,
    provider_id text NOT NULL
);
