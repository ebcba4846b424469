-- Registration applications (登记, N3). The whole application is kept as its protobuf message (`body`);
-- the columns hold what filters, uniqueness and the code sequence need.
CREATE TABLE registrations (
    id                text PRIMARY KEY,
    kind              smallint    NOT NULL,          -- pdop.registry.v1.RegistrationKind
    resource_id       text        REFERENCES resources (id),
    applicant_id      text        NOT NULL REFERENCES organizations (id),
    jurisdiction_id   text        NOT NULL REFERENCES jurisdictions (id),
    state             smallint    NOT NULL,          -- pdop.registry.v1.RegistrationState
    registration_code text        UNIQUE,
    body              bytea       NOT NULL,          -- pdop.registry.v1.Registration
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL,
    version           bigint      NOT NULL DEFAULT 1
);
CREATE INDEX registrations_by_applicant ON registrations (applicant_id, create_time, id);
CREATE INDEX registrations_by_resource ON registrations (resource_id);

-- Per jurisdiction and year, the last sequence number used in a registration code.
CREATE TABLE registration_code_sequences (
    jurisdiction_id text   NOT NULL,
    year            int    NOT NULL,
    last            bigint NOT NULL,
    PRIMARY KEY (jurisdiction_id, year)
);
