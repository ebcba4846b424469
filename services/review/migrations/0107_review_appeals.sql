-- Appeals (申诉, §2.8), stored as their message; one open (FILED) appeal per subject.
CREATE TABLE appeals (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    appellant_id    text        NOT NULL,
    handling_id     text        NOT NULL,
    subject         text        NOT NULL,            -- e.g. productReviews/{id}
    subject_kind    smallint    NOT NULL,            -- pdop.review.v1.AppealSubjectKind
    state           smallint    NOT NULL,            -- pdop.review.v1.AppealState
    body            bytea       NOT NULL,            -- pdop.review.v1.Appeal
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX appeals_one_open ON appeals (subject) WHERE state = 1;
CREATE INDEX appeals_by_appellant ON appeals (appellant_id);
CREATE INDEX appeals_by_handling ON appeals (handling_id);
