-- Public data resources (公共数据资源) and the catalog (目录). The resource's descriptive content is kept
-- as its protobuf message (`body`); the columns hold what filters, rules and joins need.
CREATE TABLE resources (
    id              text PRIMARY KEY,
    display_name    text        NOT NULL,
    provider_id     text        NOT NULL REFERENCES organizations (id),
    jurisdiction_id text        NOT NULL REFERENCES jurisdictions (id),
    grade           smallint    NOT NULL,            -- pdop.common.v1.DataGrade
    state           smallint    NOT NULL,            -- pdop.registry.v1.ResourceState
    has_personal    boolean     NOT NULL,
    negative_listed boolean     NOT NULL DEFAULT false,
    registration_id text,                            -- the CODED registration, once registration lands
    body            bytea       NOT NULL,            -- pdop.registry.v1.Resource, input fields only
    revision        bigint      NOT NULL DEFAULT 1,
    retire_reason   text        NOT NULL DEFAULT '',
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX resources_by_name ON resources (display_name, id);
CREATE INDEX resources_by_provider ON resources (provider_id, display_name, id);

-- 一数一源: one authoritative source per data item per jurisdiction, among resources not retired.
CREATE TABLE authoritative_items (
    jurisdiction_id text NOT NULL,
    data_item_code  text NOT NULL,
    resource_id     text NOT NULL REFERENCES resources (id),
    field_key       text NOT NULL,
    PRIMARY KEY (jurisdiction_id, data_item_code)
);
CREATE INDEX authoritative_items_by_resource ON authoritative_items (resource_id);

-- Every accepted version of a resource (full history).
CREATE TABLE resource_revisions (
    resource_id    text        NOT NULL REFERENCES resources (id),
    revision       bigint      NOT NULL,
    snapshot       bytea       NOT NULL,             -- pdop.registry.v1.Resource as it was
    changed_fields text[]      NOT NULL,
    audit          bytea       NOT NULL,             -- pdop.common.v1.AuditInfo
    PRIMARY KEY (resource_id, revision)
);
