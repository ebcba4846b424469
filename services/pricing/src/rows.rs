//! The row of a table that keeps one resource as its protobuf message (`body`) with a `version` for etags.

/// Declares `Row` (id, body, create and update times, version) for the message `$msg` kept in `$table`,
/// with `to_proto` filling the output-only name, times and etag.
macro_rules! body_row {
    ($msg:ty, $table:literal, $collection:expr, $not_found:literal) => {
        #[derive(sqlx::FromRow)]
        pub struct Row {
            id: String,
            body: Vec<u8>,
            create_time: chrono::DateTime<chrono::Utc>,
            update_time: chrono::DateTime<chrono::Utc>,
            version: i64,
        }

        pub const COLUMNS: &str = "id, body, create_time, update_time, version";

        impl pdop_kit::handling::Stored for Row {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static str = COLUMNS;
            const COLLECTION: &'static str = $collection;
            const NOT_FOUND: &'static str = $not_found;
            fn version(&self) -> i64 {
                self.version
            }
        }

        impl Row {
            #[allow(dead_code, reason = "only the listings that page by id read it")]
            pub fn id(&self) -> &str {
                &self.id
            }

            pub fn to_proto(&self) -> $msg {
                let mut m = <$msg as prost::Message>::decode(self.body.as_slice()).unwrap_or_default();
                m.name = format!("{}/{}", $collection, self.id);
                m.create_time = Some(pdop_kit::convert::timestamp(self.create_time));
                m.update_time = Some(pdop_kit::convert::timestamp(self.update_time));
                m.etag = pdop_kit::convert::etag(self.version);
                m
            }
        }
    };
}

pub(crate) use body_row;
