//! The origin's third directive, [`StepUp`] (`X-Edge-Step-Up`): the user of this session
//! just proved who they are again (a password re-entered, a second factor), so the edge
//! moves the session's `auth_time` to now and rotates its credential, keeping the session
//! itself: its id, its place in "your devices", its device binding.
//!
//! Signed like a login (`DIRECTIVE_SECRET`, else `ORIGIN_SECRET`; bound to the request's
//! `X-Edge-Nonce`), typed `edge-step-up+jwt` so that no login or logout passes for one. It
//! names the user: the edge applies it only to the session that identified the request,
//! and only if that session is this user's, so a step-up can never move a session from
//! one user to another (a login is the only way to change who a browser is).
//!
//! ```
//! use edge_session_origin::{KeyRing, RequestNonce, StepUp, Timestamp};
//! let secret = KeyRing::parse("d1:0123456789abcdef0123456789abcdef").unwrap(); // DIRECTIVE_SECRET
//! let now = Timestamp::from_secs(1_700_000_000);
//! let step_up = StepUp { sub: "alice".into(), amr: Some(vec!["pwd".into(), "otp".into()]) };
//! let header = step_up.sign(&secret, now, "AAAAAAAAAAAAAAAAAAAAAA"); // the request's X-Edge-Nonce
//! let request = RequestNonce::from_bytes([0; 16]);
//! assert_eq!(StepUp::verify(&header, &secret, now, &request).unwrap(), step_up);
//! ```

use serde_json::Value;

use crate::directives::{RequestNonce, directive_claims, directive_expect, valid_amr};
use crate::jws;
use crate::keys::KeyRing;
use crate::time::Timestamp;
use crate::token::{TokenError, valid_sub};

/// `typ` of `X-Edge-Step-Up`.
pub const STEP_UP_TYPE: &str = "edge-step-up+jwt";

/// `X-Edge-Step-Up`: `sub`, the user of the request's session, proved who they are just
/// now, by `amr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUp {
    /// The user the session must belong to.
    pub sub: String,
    /// How they proved it (RFC 8176 names, as a login's): the session's `amr` from now on.
    pub amr: Option<Vec<String>>,
}

impl StepUp {
    /// Signs the directive for the request whose `X-Edge-Nonce` is `nonce`, valid for five
    /// minutes from `now`.
    pub fn sign(&self, directive_secret: &KeyRing, now: Timestamp, nonce: &str) -> String {
        let mut claims = directive_claims(now, nonce);
        claims.insert("sub".into(), self.sub.clone().into());
        if let Some(amr) = &self.amr {
            claims.insert("amr".into(), Value::from(amr.clone()));
        }
        jws::sign(directive_secret.signing(), STEP_UP_TYPE, &claims)
    }

    /// Verifies an `X-Edge-Step-Up` answering the request whose nonce is `nonce`.
    pub fn verify(
        token: &str,
        directive_secret: &KeyRing,
        now: Timestamp,
        nonce: &RequestNonce,
    ) -> Result<StepUp, TokenError> {
        let claims = jws::verify(token, directive_secret, &directive_expect(STEP_UP_TYPE), now)?;
        nonce.check(&claims)?;
        Ok(StepUp { sub: valid_sub(&claims)?, amr: valid_amr(claims.get("amr"))? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directives::Login;

    fn secret() -> KeyRing {
        KeyRing::parse("d1:0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn a_step_up_is_neither_a_login_nor_a_logout_and_refuses_a_bad_amr() {
        let now = Timestamp::from_secs(1_700_000_000);
        let nonce = RequestNonce::from_bytes([1; 16]);
        let step_up = StepUp { sub: "ada".into(), amr: None };
        let token = step_up.sign(&secret(), now, nonce.as_str());
        assert_eq!(StepUp::verify(&token, &secret(), now, &nonce).unwrap(), step_up);
        assert!(Login::verify(&token, &secret(), now, &nonce).is_err(), "a step-up is no login");
        let login = Login { sub: "ada".into(), remember: false, ctx: None, amr: None, auth_time: None };
        let as_login = login.sign(&secret(), now, nonce.as_str());
        assert!(StepUp::verify(&as_login, &secret(), now, &nonce).is_err(), "a login is no step-up");
        let other = RequestNonce::from_bytes([2; 16]);
        assert_eq!(StepUp::verify(&token, &secret(), now, &other), Err(TokenError::WrongNonce));
        let bad =
            StepUp { sub: "ada".into(), amr: Some(vec!["has space".into()]) }.sign(&secret(), now, nonce.as_str());
        assert!(StepUp::verify(&bad, &secret(), now, &nonce).is_err());
    }
}
