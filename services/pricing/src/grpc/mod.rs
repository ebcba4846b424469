//! The gRPC handlers of the moved modules: parse the request into typed values (collecting every violation),
//! then hand `mutate` a body that reads, decides (in `domain`) and writes (in `storage`); reads use the pool.

pub mod annual;
pub mod caps;
pub mod prices;
