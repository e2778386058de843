//! The users layer: one index per user of the user's families, for "your devices" and
//! "log out everywhere".

mod index;

pub use index::{
    FamilyEntry, MAX_FAMILIES, MAX_TRACKED, MAX_USER_AGENT_LEN, TOMBSTONE_TTL, TokenUse, Tombstone, UserIndex,
    clean_user_agent, outlived,
};
