-- Registration after coding: validity (for expiry), product subjects, and objections to public notices.
ALTER TABLE registrations ADD COLUMN validity_end date;
ALTER TABLE registrations ADD COLUMN product_id text REFERENCES products (id);
CREATE INDEX registrations_by_validity ON registrations (state, validity_end);

-- Objections (异议) to a registration's public notice, received from the disclosure service (N3 Art.12).
CREATE TABLE registration_objections (
    id              text PRIMARY KEY,                -- the disclosure service's objections/{id}
    registration_id text        NOT NULL REFERENCES registrations (id),
    state           smallint    NOT NULL,            -- pdop.registry.v1.ObjectionDecisionState
    body            bytea       NOT NULL,            -- pdop.registry.v1.RegistrationObjection
    file_time       timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX registration_objections_by_registration ON registration_objections (registration_id, file_time, id);
