//! A family bound to a device key (DBSC): the binding rules.
//!
//! Once the browser proves it holds a private key (it registers with a proof signed by
//! that key), the family is bound to it for good. From then on:
//!
//! * its refresh cookie alone identifies no one ([`Refusal::DeviceBound`](super::Refusal::DeviceBound)) and never
//!   counts as reuse, so a copied cookie jar is anonymous once its access cookie expires
//!   and cannot revoke or otherwise disturb the family;
//! * a new access cookie costs a proof over a fresh challenge, signed by the bound key;
//! * each challenge is spent by its first proof: the family remembers when the last spent
//!   challenge was issued (`challenge_floor`) and refuses any issued earlier. The last
//!   spent one is answered again, for the same key, for `GRACE_SECS` after it was spent:
//!   a registration retried after its answer was lost (else the family is bound to a key
//!   its browser never learned it holds, and the session dies with its access cookie),
//!   and refreshes that race each other, which the DBSC spec asks servers to accept. A
//!   thief replaying a captured proof gains at most that window, no more than the access
//!   cookie captured with it is already worth.
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
    /// checked the proof is `key`'s signature over that challenge. The same registration
    /// again, within `GRACE_SECS`, is answered again (a browser that retries after a lost
    /// answer); another key never replaces the bound one. On success the family must be
    /// written.
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
        self.spend(challenge, now, policy)?;
        self.device_key = Some(key);
        self.binding_offered = false;
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
        if !self.spendable(challenge, now, policy) {
            return Err(DeviceRefusal::StaleChallenge);
        }
        if !proven(key) {
            return Err(DeviceRefusal::BadProof);
        }
        self.spend(challenge, now, policy)?;
        Ok(self.device_grant(now, policy))
    }

    fn usable_by_device(&self, now: Timestamp, policy: &Policy) -> Result<(), DeviceRefusal> {
        if now >= self.deadline(policy) {
            return Err(DeviceRefusal::Ended);
        }
        Ok(())
    }

    /// A challenge issued after the last spent one, or the last spent one again within
    /// `GRACE_SECS` of its spending (see the module docs).
    fn spendable(&self, challenge: Timestamp, now: Timestamp, policy: &Policy) -> bool {
        challenge > self.challenge_floor
            || (challenge == self.challenge_floor
                && self.challenge_spent_at.as_millis() > 0
                && now.since(self.challenge_spent_at) < policy.grace)
    }

    /// Spends the challenge: every challenge issued before it is refused from now on. The
    /// last spent one presented again moves nothing (its window runs from its first use).
    fn spend(&mut self, challenge: Timestamp, now: Timestamp, policy: &Policy) -> Result<(), DeviceRefusal> {
        if !self.spendable(challenge, now, policy) {
            return Err(DeviceRefusal::StaleChallenge);
        }
        if challenge > self.challenge_floor {
            self.challenge_floor = challenge;
            self.challenge_spent_at = now;
        }
        Ok(())
    }

    fn device_grant(&mut self, now: Timestamp, policy: &Policy) -> Grant {
        self.last_seen = self.last_seen.max(now);
        self.grant(policy, SessionState::Fresh, false)
    }
}
