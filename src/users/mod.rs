//! The users layer: one index per user of the user's families, for "your devices" and
//! "log out everywhere".

mod index;

pub use index::{outlived, FamilyEntry, Tombstone, TokenUse, UserIndex, MAX_FAMILIES, MAX_TRACKED, MAX_USER_AGENT_LEN, TOMBSTONE_TTL};
