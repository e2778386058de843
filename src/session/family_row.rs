//! A family as its Durable Object stores it: one JSON document in one SQLite row.
//!
//! Secrets are base64url text; times are Unix milliseconds. `delivered_at` is stored when
//! a row is written for another reason but never causes a write (a re-delivery must not
//! cost a write; see `Family::wake`). Decoding a
//! row is checked like any input: a corrupt row is an error, never a panic.
//!
//! ```
//! use edge_session::config::Policy;
//! use edge_session::session::{family_row, Family, FamilyId, Identity, RefreshSecret};
//! use edge_session::time::Timestamp;
//! let (family, _) = Family::login(FamilyId::from_bytes([1; 16]), Identity { sub: "a".into(), ctx: None, auth_time: Some(1), amr: None },
//!     false, Timestamp::from_secs(1), RefreshSecret::from_bytes([2; 32]), &Policy::default());
//! assert_eq!(family_row::decode(&family_row::encode(&family)).unwrap(), family);
//! ```

use crate::crypto::base64url;
use crate::crypto::es256::PublicKey;
use serde::{Deserialize, Serialize};

use super::credential::{FamilyId, Identity, RefreshSecret, SecretDigest};
use super::family::{Elevation, Family};
use crate::time::Timestamp;

#[derive(Serialize, Deserialize)]
struct Row {
    id: String,
    identity: Identity,
    remember: bool,
    created_at: u64,
    last_seen: u64,
    generation: u64,
    secret: String,
    issued_at: u64,
    confirmed_at: Option<u64>,
    delivered_at: u64,
    previous: Option<String>,
    revoked: bool,
    /// Absent until the family is bound to a device (DBSC), so an unbound family's row is
    /// what it was before device binding existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_key: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    challenge_floor: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    challenge_spent_at: u64,
    /// Absent once the family bound or was reported as not binding (and in rows written
    /// before DBSC offers were recorded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    binding_offered: bool,
    /// Absent unless `ON_CONTEXT_CHANGE=flag` flagged it: an unflagged row is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context_changed: Option<u64>,
    /// The current generation's secret before a step-up replaced it; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replaced: Option<String>,
    /// The step-up in force; absent otherwise (an unstepped row is unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elevation: Option<StoredElevation>,
    /// Absent in rows written before the index was told less often: read as `last_seen`.
    #[serde(default)]
    index_seen: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct StoredElevation {
    from: u64,
    auth_time: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<String>>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The stored row could not be read back (corruption or a format change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorruptRow;

impl std::fmt::Display for CorruptRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stored family row is corrupt")
    }
}

impl std::error::Error for CorruptRow {}

/// The row for `family`.
pub fn encode(family: &Family) -> String {
    let row = Row {
        id: family.id.to_string(),
        identity: family.identity.clone(),
        remember: family.remember,
        created_at: family.created_at.as_millis(),
        last_seen: family.last_seen.as_millis(),
        generation: family.generation,
        secret: base64url::encode(family.secret.as_bytes()),
        issued_at: family.issued_at.as_millis(),
        confirmed_at: family.confirmed_at.map(Timestamp::as_millis),
        delivered_at: family.delivered_at.as_millis(),
        previous: family.previous.map(|d| base64url::encode(d.as_bytes())),
        revoked: family.revoked,
        device_key: family.device_key.as_ref().map(|key| base64url::encode(key.to_sec1())),
        challenge_floor: family.challenge_floor.as_millis(),
        challenge_spent_at: family.challenge_spent_at.as_millis(),
        binding_offered: family.binding_offered,
        context_changed: family.context_changed.map(Timestamp::as_millis),
        replaced: family.replaced.map(|d| base64url::encode(d.as_bytes())),
        elevation: family.elevation.as_ref().map(|e| StoredElevation {
            from: e.from,
            auth_time: e.auth_time,
            amr: e.amr.clone(),
        }),
        index_seen: Some(family.index_seen.as_millis()),
    };
    serde_json::to_string(&row).expect("row serializes")
}

/// The family a row holds; a corrupt row is an error, never a panic.
pub fn decode(text: &str) -> Result<Family, CorruptRow> {
    let row: Row = serde_json::from_str(text).map_err(|_| CorruptRow)?;
    Ok(Family {
        id: FamilyId::parse(&row.id).ok_or(CorruptRow)?,
        // A row from before `auth_time` was kept: its login is when the family began.
        identity: Identity { auth_time: row.identity.auth_time.or(Some(row.created_at / 1000)), ..row.identity },
        remember: row.remember,
        created_at: Timestamp::from_millis(row.created_at),
        last_seen: Timestamp::from_millis(row.last_seen),
        generation: row.generation,
        secret: RefreshSecret::from_bytes(bytes32(&row.secret)?),
        issued_at: Timestamp::from_millis(row.issued_at),
        confirmed_at: row.confirmed_at.map(Timestamp::from_millis),
        delivered_at: Timestamp::from_millis(row.delivered_at),
        previous: row.previous.as_deref().map(bytes32).transpose()?.map(SecretDigest::from_bytes),
        revoked: row.revoked,
        device_key: match row.device_key {
            Some(text) => Some(base64url::decode(&text).and_then(|b| PublicKey::from_sec1(&b)).ok_or(CorruptRow)?),
            None => None,
        },
        challenge_floor: Timestamp::from_millis(row.challenge_floor),
        challenge_spent_at: Timestamp::from_millis(row.challenge_spent_at),
        binding_offered: row.binding_offered,
        context_changed: row.context_changed.map(Timestamp::from_millis),
        replaced: row.replaced.as_deref().map(bytes32).transpose()?.map(SecretDigest::from_bytes),
        elevation: row.elevation.map(|e| Elevation { from: e.from, auth_time: e.auth_time, amr: e.amr }),
        handed_out_at: Timestamp::from_millis(row.delivered_at),
        woken: false,
        index_seen: Timestamp::from_millis(row.index_seen.unwrap_or(row.last_seen)),
    })
}

fn bytes32(text: &str) -> Result<[u8; 32], CorruptRow> {
    base64url::decode_fixed(text).ok_or(CorruptRow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_rows_are_errors() {
        for text in ["", "{}", "null", r#"{"id":"x"}"#] {
            assert_eq!(decode(text), Err(CorruptRow), "{text}");
        }
    }
}
