-- Product compliance reviews (合规审核, §2.6), stored as their message. An operator's product has at most one open
-- review (UNDER_REVIEW or SUPPLEMENT_REQUESTED), so a product submitted twice opens one.
CREATE TABLE product_reviews (
    id              text PRIMARY KEY,
    jurisdiction_id text        NOT NULL,
    applicant_id    text        NOT NULL,
    operator_id     text        NOT NULL,
    product_id      text        NOT NULL,            -- empty for a re-developed product
    state           smallint    NOT NULL,            -- pdop.review.v1.ProductReviewState
    parties         text[]      NOT NULL,
    body            bytea       NOT NULL,            -- pdop.review.v1.ProductReview
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX product_reviews_one_open ON product_reviews (product_id) WHERE product_id <> '' AND state IN (2, 3);
CREATE INDEX product_reviews_by_parties ON product_reviews USING gin (parties);
