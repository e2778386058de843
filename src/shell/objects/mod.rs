//! The two Durable Object classes, and what they share: calling them (by RPC) with a
//! deadline, and storing their state as one JSON document in one SQLite row.

pub(crate) mod call;
mod deliver;
mod rpc;
mod session_family;
mod storage;
mod user_sessions;
