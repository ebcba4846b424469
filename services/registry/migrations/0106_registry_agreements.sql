-- Operator agreements (运营协议, N2 Art.12-14). The agreement is kept as its protobuf message (`body`); the
-- columns hold what filters, access rules and the expiry scheduler need.
CREATE TABLE agreements (
    id                     text PRIMARY KEY,
    jurisdiction_id        text        NOT NULL REFERENCES jurisdictions (id),
    implementing_agency_id text        NOT NULL REFERENCES organizations (id),
    operator_id            text        NOT NULL REFERENCES organizations (id),
    state                  smallint    NOT NULL,     -- pdop.registry.v1.AgreementState
    term_start             date        NOT NULL,
    term_end               date        NOT NULL,
    predecessor_id         text        UNIQUE REFERENCES agreements (id),
    body                   bytea       NOT NULL,     -- pdop.registry.v1.Agreement
    revision               bigint      NOT NULL DEFAULT 1,
    create_time            timestamptz NOT NULL,
    update_time            timestamptz NOT NULL,
    version                bigint      NOT NULL DEFAULT 1
);
CREATE INDEX agreements_by_operator ON agreements (operator_id, id);
-- The scheduler looks for filed agreements whose term began and running ones whose term ended.
CREATE INDEX agreements_by_state_term ON agreements (state, term_start, term_end);

-- The resource scope, for "which agreements cover this resource".
CREATE TABLE agreement_resources (
    agreement_id text NOT NULL REFERENCES agreements (id),
    resource_id  text NOT NULL REFERENCES resources (id),
    PRIMARY KEY (agreement_id, resource_id)
);
CREATE INDEX agreement_resources_by_resource ON agreement_resources (resource_id);

-- Every version of an agreement (协议版本): full history.
CREATE TABLE agreement_revisions (
    agreement_id   text   NOT NULL REFERENCES agreements (id),
    revision       bigint NOT NULL,
    snapshot       bytea  NOT NULL,                  -- pdop.registry.v1.Agreement as it was
    changed_fields text[] NOT NULL,
    audit          bytea  NOT NULL,                  -- pdop.common.v1.AuditInfo
    PRIMARY KEY (agreement_id, revision)
);
