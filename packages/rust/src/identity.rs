//! Who a session belongs to ([`Identity`]), the session's id ([`FamilyId`], the `sid`
//! the origin sees) and the limits the edge holds a login to.
//!
//! ```
//! use edge_session_origin::FamilyId;
//! let sid = FamilyId::from_bytes([7; 16]);
//! assert_eq!(sid.to_string(), "BwcHBwcHBwcHBwcHBwcHBw");
//! assert_eq!(FamilyId::parse("BwcHBwcHBwcHBwcHBwcHBw"), Some(sid));
//! assert_eq!(FamilyId::parse("not-a-sid"), None);
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::base64url::{self, decode_fixed};

/// Longest `sub` accepted from a login directive and carried in cookies.
pub const MAX_SUB_LEN: usize = 256;
/// Largest serialized `ctx` object: 1 KiB, so any identity fits an access cookie.
pub const MAX_CTX_LEN: usize = 1024;

/// A session family id: 128 random bits, base64url (22 characters) in cookies and
/// headers. The origin sees it as `sid` and `X-Edge-Session`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId([u8; 16]);

impl FamilyId {
    /// The id of these 128 bits.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        FamilyId(bytes)
    }

    /// Its 128 bits.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the 22-character base64url form.
    pub fn parse(text: &str) -> Option<FamilyId> {
        decode_fixed(text).map(FamilyId)
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&base64url::encode(self.0))
    }
}

/// As its text, in the messages between the worker and the objects and in the user
/// index; a malformed id fails deserialization, so no handler sees one.
impl Serialize for FamilyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FamilyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FamilyId, D::Error> {
        let text = String::deserialize(d)?;
        FamilyId::parse(&text).ok_or_else(|| serde::de::Error::custom("malformed family id"))
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FamilyId({self})")
    }
}

/// Who a session belongs to: `sub` and the optional `ctx` object the login supplied, and
/// how they last proved it: when (`auth_time`) and by what means (`amr`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The user, as the login named them.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Claims the login attached, carried to the origin.
    pub ctx: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the user last proved who they are (the login), Unix seconds (OIDC's
    /// `auth_time`). The edge sets it; `None` only in what older versions stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    /// How (RFC 8176 values: `pwd`, `otp`, `mfa`, `hwk`…), as the login directive said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_id_is_22_chars_of_base64url() {
        let id = FamilyId::from_bytes([0xff; 16]);
        assert_eq!(id.to_string().len(), 22);
        assert_eq!(FamilyId::parse(&id.to_string()), Some(id));
        assert_eq!(FamilyId::parse("too-short"), None);
    }

    #[test]
    fn family_id_serializes_as_its_text_and_refuses_a_malformed_one() {
        let id = FamilyId::from_bytes([1; 16]);
        assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(id.to_string()));
        assert!(serde_json::from_value::<FamilyId>(serde_json::json!("nope")).is_err());
    }
}
