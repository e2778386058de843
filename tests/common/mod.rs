//! Shared by `rules.rs` and `scenarios.rs`: a simulated clock, a family's object
//! (one decision at a time, a fresh secret drawn for each) and a browser's cookie jar
//! that refuses to move back a generation.
#![allow(dead_code)] // each test file uses a subset

use std::time::Duration;

use edge_session::config::Policy;
use edge_session::crypto::KeyRing;
use edge_session::session::{Decision, Family, Grant, Outcome, SessionState, may_set_refresh};
use edge_session::session::{FamilyId, Identity, RefreshCredential, RefreshSecret};
use edge_session::time::Timestamp;

/// The simulated clock starts here; tests write `T0 + secs(10)`.
pub const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
pub const FAMILY: FamilyId = FamilyId::from_bytes([1; 16]);

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Short windows — rotate after 10 s, grace 2 s, recovery 30 s — and the other defaults.
pub fn short() -> Policy {
    Policy { rotate_after: secs(10), grace: secs(2), recovery: secs(30), ..Policy::default() }
}

pub fn keys() -> KeyRing {
    KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
}

pub fn alice() -> Identity {
    Identity { sub: "alice".into(), ctx: None, auth_time: None, amr: None }
}

/// The secret a login or rotation is given: distinct for each `n`.
pub fn secret(n: u64) -> RefreshSecret {
    let mut bytes = [0xA5; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    RefreshSecret::from_bytes(bytes)
}

/// A family's Durable Object: decisions are serialized, each handed a fresh secret.
#[derive(Clone, Debug)]
pub struct Object {
    pub family: Family,
    pub policy: Policy,
    draws: u64,
}

impl Object {
    /// Alice logs in at `now`; the login grant hands out generation 1.
    pub fn login(policy: Policy, remember: bool, now: Timestamp) -> (Object, Grant) {
        let (family, grant) = Family::login(FAMILY, alice(), remember, now, secret(0), &policy);
        (Object { family, policy, draws: 0 }, grant)
    }

    pub fn present(&mut self, cred: &RefreshCredential, now: Timestamp) -> Decision {
        self.draws += 1;
        self.family.handle_refresh(cred, now, &self.policy, secret(self.draws))
    }
}

/// The grant of an authenticated decision; panics with the outcome otherwise.
pub fn grant(d: &Decision) -> &Grant {
    match &d.outcome {
        Outcome::Authenticated(g) => g,
        other => panic!("expected an identity, got {other:?}"),
    }
}

pub fn state(d: &Decision) -> SessionState {
    grant(d).state
}

/// The generation of the refresh credential the answer hands out, if any.
pub fn handed(d: &Decision) -> Option<u64> {
    grant(d).refresh.as_ref().map(|c| c.generation)
}

/// The refresh cookie a browser holds, updated from each response it reads.
#[derive(Clone, Debug)]
pub struct Jar {
    pub refresh: RefreshCredential,
}

impl Jar {
    pub fn new(login: &Grant) -> Jar {
        Jar { refresh: login.refresh.clone().expect("a login hands out a refresh credential") }
    }

    pub fn generation(&self) -> u64 {
        self.refresh.generation
    }

    /// Reads a response that left the edge right after its decision.
    pub fn read(&mut self, d: &Decision) {
        if let Outcome::Authenticated(Grant { refresh: Some(cred), .. }) = &d.outcome {
            self.store(cred);
        }
    }

    /// Reads a response decided at `decided` that the edge sends at `sent`: the slow
    /// rule decides whether it may still carry its refresh cookie.
    pub fn read_late(&mut self, d: &Decision, decided: Timestamp, sent: Timestamp, policy: &Policy) {
        if may_set_refresh(decided, sent, policy) {
            self.read(d);
        }
    }

    fn store(&mut self, cred: &RefreshCredential) {
        assert!(
            cred.generation >= self.refresh.generation,
            "jar moved back from g{} to g{}",
            self.refresh.generation,
            cred.generation
        );
        self.refresh = cred.clone();
    }
}
