//! The clock and the CSPRNG, for the layer and the client only: the protocol modules take
//! both as arguments, so the edge's wasm never reaches for either.

use std::time::SystemTime;

use crate::admin::{AdminAction, AdminRequest};
use crate::base64url;
use crate::keys::KeyRing;
use crate::time::Timestamp;

pub(crate) fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

/// A single-use admin token signed at `now`: a random 96-bit `jti`, valid 60 s.
pub(crate) fn admin_token(keys: &KeyRing, sub: &str, action: AdminAction, now: Timestamp) -> String {
    let mut jti = [0; 12];
    getrandom::fill(&mut jti).expect("the OS CSPRNG");
    AdminRequest { sub: sub.into(), action, issued_at: now, jti: base64url::encode(jti) }.sign(keys)
}
