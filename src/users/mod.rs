//! The users layer: one index per user of the user's families, for "your devices" and
//! "log out everywhere".

mod index;
mod user_agent;

pub use index::{
    FamilyEntry, MAX_FAMILIES, MAX_TRACKED, MAX_USER_AGENT_LEN, TOMBSTONE_TTL, TokenUse, Tombstone, UserIndex,
    clean_user_agent, outlived,
};
pub use user_agent::{browser_of, os_of};
