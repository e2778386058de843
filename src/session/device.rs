//! A family bound to a device key (DBSC): the binding rules.
//!
//! Once the browser proves it holds a private key (it registers with a proof signed by
//! that key), the family is bound to it for good. From then on:
//!
//! * its refresh cookie alone identifies no one ([`Refusal::DeviceBound`](super::Refusal::DeviceBound)) and never
//!   counts as reuse, so a copied cookie jar is anonymous once its access cookie expires
//!   and cannot revoke or otherwise disturb the family;
//! * a new access cookie costs a proof over a fresh challenge, signed by the bound key;
//! * each challenge is good for one proof: the family remembers when the last spent
//!   challenge was issued (`challenge_floor`) and refuses any issued no later.
//!
//! Proof parsing and the challenge's own checks are in `crate::dbsc`; this file decides
//! what a checked proof does to the family.

use super::family::{Family, Grant, SessionState};
use crate::config::Policy;
use crate::crypto::es256::PublicKey;
use crate::time::Timestamp;

/// Why a registration or refresh proof earned nothing. The edge answers each with the
/// status `crate::dbsc` names; only [`DeviceRefusal::StaleChallenge`] keeps the browser's
/// session (it is answered with a fresh challenge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DeviceRefusal {
    /// The family is gone, revoked or expired: the browser should end its session too.
    Ended,
    /// A refresh for a family bound to no key.
    NotBound,
    /// A registration for a family already bound to another key.
    OtherKey,
    /// The challenge is not this family's, has expired, or was spent.
    StaleChallenge,
    /// The proof is malformed, or its signature is not the key's.
    BadProof,
    /// The request carried no edge cookie of this family (checked before any object).
    NoSession,
    /// A registration while `DBSC=off`.
    NotOffered,
}

impl DeviceRefusal {
    /// How logs name it (`dbsc_refresh_failed`'s `reason`).
    pub fn reason(self) -> &'static str {
        match self {
            DeviceRefusal::Ended => "ended",
            DeviceRefusal::NotBound => "not_bound",
            DeviceRefusal::OtherKey => "other_key",
            DeviceRefusal::StaleChallenge => "stale_challenge",
            DeviceRefusal::BadProof => "bad_proof",
            DeviceRefusal::NoSession => "no_session",
            DeviceRefusal::NotOffered => "not_offered",
        }
    }
}

impl Family {
    /// Binds the family to `key`, spending the challenge issued at `challenge`. The caller
    /// checked the proof is `key`'s signature over that challenge. Registering the same key
    /// again is allowed (a browser that retries); another key never replaces it. On
    /// success the family must be written.
    pub fn bind(
        &mut self,
        key: PublicKey,
        challenge: Timestamp,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Grant, DeviceRefusal> {
        self.usable_by_device(now, policy)?;
        if self.device_key.as_ref().is_some_and(|bound| *bound != key) {
            return Err(DeviceRefusal::OtherKey);
        }
        self.spend(challenge)?;
        self.device_key = Some(key);
        Ok(self.device_grant(now, policy))
    }

    /// A new access cookie for a bound family, if `proven` says the proof is the bound
    /// key's signature over the challenge issued at `challenge`. On success the family
    /// must be written (the challenge is spent, `last_seen` moves).
    pub fn refresh_device(
        &mut self,
        proven: impl FnOnce(&PublicKey) -> bool,
        challenge: Timestamp,
        now: Timestamp,
        policy: &Policy,
    ) -> Result<Grant, DeviceRefusal> {
        self.usable_by_device(now, policy)?;
        let Some(key) = &self.device_key else { return Err(DeviceRefusal::NotBound) };
        if challenge <= self.challenge_floor {
            return Err(DeviceRefusal::StaleChallenge);
        }
        if !proven(key) {
            return Err(DeviceRefusal::BadProof);
        }
        self.spend(challenge)?;
        Ok(self.device_grant(now, policy))
    }

    fn usable_by_device(&self, now: Timestamp, policy: &Policy) -> Result<(), DeviceRefusal> {
        if self.revoked || now >= self.deadline(policy) {
            return Err(DeviceRefusal::Ended);
        }
        Ok(())
    }

    /// One proof per challenge: spent challenges are those issued no later than the floor.
    fn spend(&mut self, challenge: Timestamp) -> Result<(), DeviceRefusal> {
        if challenge <= self.challenge_floor {
            return Err(DeviceRefusal::StaleChallenge);
        }
        self.challenge_floor = challenge;
        Ok(())
    }

    fn device_grant(&mut self, now: Timestamp, policy: &Policy) -> Grant {
        self.last_seen = self.last_seen.max(now);
        self.grant(policy, SessionState::Fresh, false)
    }
}
