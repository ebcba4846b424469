-- Products and services (公共数据产品和服务). The product is kept as its protobuf message (`body`); the
-- columns hold what filters and visibility need.
CREATE TABLE products (
    id              text PRIMARY KEY,
    display_name    text        NOT NULL,
    operator_id     text        NOT NULL REFERENCES organizations (id),
    agreement_id    text        NOT NULL REFERENCES agreements (id),
    jurisdiction_id text        NOT NULL REFERENCES jurisdictions (id),
    kind            smallint    NOT NULL,            -- pdop.registry.v1.ProductKind
    use_class       smallint    NOT NULL,            -- pdop.common.v1.UseClass
    state           smallint    NOT NULL,            -- pdop.registry.v1.ProductState
    body            bytea       NOT NULL,            -- pdop.registry.v1.Product
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX products_by_operator ON products (operator_id, id);

CREATE TABLE product_sources (
    product_id  text NOT NULL REFERENCES products (id),
    resource_id text NOT NULL REFERENCES resources (id),
    PRIMARY KEY (product_id, resource_id)
);
CREATE INDEX product_sources_by_resource ON product_sources (resource_id);
