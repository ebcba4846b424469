-- Implementation plans (实施方案, N2 Art.8-11). The plan is kept as its protobuf message (`body`); the
-- columns hold what filters and the supersession chain need.
CREATE TABLE implementation_plans (
    id                     text PRIMARY KEY,
    jurisdiction_id        text        NOT NULL REFERENCES jurisdictions (id),
    lead_authority_id      text        NOT NULL REFERENCES organizations (id),
    implementing_agency_id text        NOT NULL REFERENCES organizations (id),
    state                  smallint    NOT NULL,     -- pdop.registry.v1.ImplementationPlanState
    supersedes_id          text        REFERENCES implementation_plans (id),
    body                   bytea       NOT NULL,     -- pdop.registry.v1.ImplementationPlan
    create_time            timestamptz NOT NULL,
    update_time            timestamptz NOT NULL,
    version                bigint      NOT NULL DEFAULT 1
);
CREATE INDEX implementation_plans_by_time ON implementation_plans (create_time, id);
-- One major change at a time: an in-force plan has at most one successor.
CREATE UNIQUE INDEX implementation_plans_one_successor ON implementation_plans (supersedes_id);
