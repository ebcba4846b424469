-- Jurisdictions (辖区) form a tree (national > province > city > county); each is bound to a rule profile.
CREATE TABLE jurisdictions (
    id            text PRIMARY KEY,                  -- the {jurisdiction} in jurisdictions/{jurisdiction}
    display_name  text        NOT NULL,
    level         smallint    NOT NULL,              -- pdop.common.v1.JurisdictionLevel
    parent_id     text        REFERENCES jurisdictions (id),
    profile_id    text        NOT NULL,
    division_code text        NOT NULL DEFAULT '',
    create_time   timestamptz NOT NULL,
    update_time   timestamptz NOT NULL,
    version       bigint      NOT NULL DEFAULT 1     -- etag
);
CREATE INDEX jurisdictions_parent ON jurisdictions (parent_id, display_name, id);

-- Organizations (机构) with their roles and unified social credit code (统一社会信用代码).
CREATE TABLE organizations (
    id                   text PRIMARY KEY,
    display_name         text        NOT NULL,
    uscc                 text        NOT NULL UNIQUE,
    roles                smallint[]  NOT NULL,        -- pdop.common.v1.OrganizationRole values
    jurisdiction_id      text        NOT NULL REFERENCES jurisdictions (id),
    legal_representative text        NOT NULL DEFAULT '',
    contact              text        NOT NULL DEFAULT '',
    credit_status        smallint    NOT NULL,        -- pdop.registry.v1.CreditStatus
    credit_checked_date  date,
    founded_date         date,
    create_time          timestamptz NOT NULL,
    update_time          timestamptz NOT NULL,
    version              bigint      NOT NULL DEFAULT 1
);
CREATE INDEX organizations_by_name ON organizations (display_name, id);
CREATE INDEX organizations_by_jurisdiction ON organizations (jurisdiction_id, display_name, id);

-- Security incidents (网络安全/数据安全事件): operators need none in the last 3 years (DOMAIN §4.3).
CREATE TABLE security_incidents (
    seq             bigserial PRIMARY KEY,
    organization_id text        NOT NULL REFERENCES organizations (id),
    occur_date      date        NOT NULL,
    incident        bytea       NOT NULL,             -- pdop.registry.v1.SecurityIncident as recorded
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX security_incidents_by_org ON security_incidents (organization_id, occur_date DESC);
