//! The DBSC endpoints: which request gets which answer, as data the shell sends as is.
//!
//! * Login responses carry [`registration_offer`].
//! * `POST /__edge/dbsc/register` ([`register_step`]): a proof carrying its `jwk`; the
//!   family's object binds the family, and the answer is the session instructions
//!   ([`bound_answer`]) with a device-bound access cookie.
//! * `POST /__edge/dbsc/refresh` ([`refresh_step`]): without a proof, `403` and a fresh
//!   challenge, from the worker alone; with one, the object checks it against the bound
//!   key and the answer is a new access cookie.
//!
//! Before any object is asked, the request must carry an edge cookie (access or refresh,
//! MAC verified) of the family it names, and a challenge this edge issued for that family
//! in the last five minutes: garbage never wakes an object. Statuses follow what the browser
//! does with them: `403` with a challenge is "sign this", a `5xx` keeps its session (it
//! backs off), and any other `4xx` ends it, so that is what a refusal that should end it
//! gets (see [`refusal_answer`]).

use serde_json::json;

use super::challenge::{self, Purpose::Refresh, Purpose::Register};
use super::proof::Proof;
use crate::crypto::KeyRing;
use crate::session::{ACCESS_COOKIE, Claim, DeviceRefusal, FamilyId, GrantCookies, Presented};
use crate::time::Timestamp;

/// Where the browser registers its key.
pub const REGISTER_PATH: &str = "/__edge/dbsc/register";
/// Where the browser refreshes a device-bound cookie.
pub const REFRESH_PATH: &str = "/__edge/dbsc/refresh";
/// On a login response: the offer to bind the new session.
pub const REGISTRATION_HEADER: &str = "Secure-Session-Registration";
/// On register and refresh requests: the proof.
pub const RESPONSE_HEADER: &str = "Secure-Session-Response";
/// On refresh requests: which session (the family id).
pub const SESSION_ID_HEADER: &str = "Sec-Secure-Session-Id";
/// On a `403`: the challenge to sign.
pub const CHALLENGE_HEADER: &str = "Secure-Session-Challenge";
/// The bound cookie's attributes, as the browser must set it again. No `Max-Age`:
/// Chromium refuses a session whose attributes carry one.
pub const BOUND_COOKIE_ATTRIBUTES: &str = "Path=/; Secure; HttpOnly; SameSite=Lax";

/// `Secure-Session-Registration` for a new session: ES256 only, since that is what this
/// edge verifies (Chromium's software and TPM keys both offer it).
pub fn registration_offer(challenge: &str) -> String {
    format!("(ES256);path=\"{REGISTER_PATH}\";challenge=\"{challenge}\"")
}

/// `Secure-Session-Challenge` for `family`'s session.
pub fn challenge_header(challenge: &str, family: FamilyId) -> String {
    format!("\"{challenge}\";id=\"{family}\"")
}

/// The session instructions answering a registration: the family id names the session,
/// its scope is the whole origin, and the access cookie is the bound credential.
pub fn instructions(family: FamilyId) -> String {
    json!({
        "session_identifier": family.to_string(),
        "refresh_url": REFRESH_PATH,
        "scope": {"include_site": false, "scope_specification": []},
        "credentials": [{"type": "cookie", "name": ACCESS_COOKIE, "attributes": BOUND_COOKIE_ATTRIBUTES}],
    })
    .to_string()
}

/// What the worker does with a DBSC request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStep<'a> {
    /// Answer `403` with a fresh challenge for this family (no object asked).
    Challenge(FamilyId),
    /// Ask the family's object to decide this proof (well formed, its challenge good).
    Ask {
        /// The family the request is about.
        family: FamilyId,
        /// The proof as sent, for the object to check again.
        proof: &'a str,
    },
    /// Refuse without asking anyone.
    Refuse(DeviceRefusal),
}

/// A registration: `proof_header` is `Secure-Session-Response`, `offered` whether `DBSC`
/// offers bindings at all.
pub fn register_step<'a>(
    proof_header: Option<&'a str>,
    presented: &Presented<'_>,
    keys: &KeyRing,
    now: Timestamp,
    offered: bool,
) -> DeviceStep<'a> {
    if !offered {
        return DeviceStep::Refuse(DeviceRefusal::NotOffered);
    }
    let Some(family) = presented_family(presented) else { return DeviceStep::Refuse(DeviceRefusal::NoSession) };
    let Some(proof) = proof_header.and_then(unquote) else { return DeviceStep::Refuse(DeviceRefusal::BadProof) };
    match Proof::parse(proof) {
        // A stale registration challenge is not answered with a fresh one: registration
        // challenges go only to the browser that logged in (see `challenge`).
        Ok(parsed) if parsed.jwk.is_some() => match challenge::check(&parsed.jti, Register, family, keys, now) {
            Ok(_) => DeviceStep::Ask { family, proof },
            Err(_) => DeviceStep::Refuse(DeviceRefusal::StaleChallenge),
        },
        _ => DeviceStep::Refuse(DeviceRefusal::BadProof),
    }
}

/// A refresh: `session_id` is `Sec-Secure-Session-Id`, `proof_header` the proof if this
/// is the signed retry.
pub fn refresh_step<'a>(
    session_id: Option<&str>,
    proof_header: Option<&'a str>,
    presented: &Presented<'_>,
    keys: &KeyRing,
    now: Timestamp,
) -> DeviceStep<'a> {
    let family = session_id.and_then(unquote).and_then(FamilyId::parse);
    let Some(family) = family.filter(|f| presented_family(presented) == Some(*f)) else {
        return DeviceStep::Refuse(DeviceRefusal::NoSession);
    };
    let Some(proof_header) = proof_header else { return DeviceStep::Challenge(family) };
    let Some(proof) = unquote(proof_header) else { return DeviceStep::Refuse(DeviceRefusal::BadProof) };
    match Proof::parse(proof) {
        // A stale challenge is answered with a fresh one, as the browser expects.
        Ok(parsed) => match challenge::check(&parsed.jti, Refresh, family, keys, now) {
            Ok(_) => DeviceStep::Ask { family, proof },
            Err(_) => DeviceStep::Challenge(family),
        },
        Err(_) => DeviceStep::Refuse(DeviceRefusal::BadProof),
    }
}

/// The family the request's edge cookies name: its refresh cookie, or a valid access
/// cookie (a proactive refresh arrives while the access cookie still lives).
fn presented_family(presented: &Presented<'_>) -> Option<FamilyId> {
    match &presented.claim {
        Claim::Access(access) => access.family().or(presented.refresh_family),
        _ => presented.refresh_family,
    }
}

/// A header value as a bare token or an RFC 8941 string (`"…"`): what is inside. `None`
/// for a quoted string with escapes or anything after the closing quote (nothing the edge
/// issues looks like that).
fn unquote(value: &str) -> Option<&str> {
    let value = value.trim_matches([' ', '\t']);
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"')?,
        None => value,
    };
    (!inner.is_empty() && !inner.contains(['"', '\\'])).then_some(inner)
}

/// An HTTP answer the edge gives itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAnswer {
    /// The status code.
    pub status: u16,
    /// Headers besides `Cache-Control: no-store`, which every answer carries.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

/// `403` with `challenge` for `family`: sign this and try again.
pub fn challenge_answer(family: FamilyId, challenge: &str) -> DeviceAnswer {
    DeviceAnswer {
        status: 403,
        headers: vec![(CHALLENGE_HEADER, challenge_header(challenge, family))],
        body: String::new(),
    }
}

/// The answer to a refusal. A stale refresh challenge (`family` given) is answered with
/// the fresh refresh `challenge`; the rest end the browser's session (`4xx`) or this
/// registration.
pub fn refusal_answer(refusal: DeviceRefusal, family: Option<FamilyId>, challenge: &str) -> DeviceAnswer {
    if let (DeviceRefusal::StaleChallenge, Some(family)) = (refusal, family) {
        return challenge_answer(family, challenge);
    }
    let status = match refusal {
        DeviceRefusal::BadProof | DeviceRefusal::StaleChallenge => 400,
        DeviceRefusal::OtherKey => 409,
        DeviceRefusal::NotOffered => 404,
        DeviceRefusal::Ended | DeviceRefusal::NotBound | DeviceRefusal::NoSession => 401,
    };
    DeviceAnswer { status, headers: Vec::new(), body: format!("edge-session: dbsc {}\n", refusal.reason()) }
}

/// `200`: the session instructions, the new device-bound access cookie, and the
/// challenge for the next refresh. The browser keeps that challenge and signs it right
/// away next time, saving the `403` round trip while it holds the page's requests.
pub fn bound_answer(family: FamilyId, cookies: &GrantCookies, next_challenge: &str) -> DeviceAnswer {
    let mut headers = vec![("Content-Type", "application/json".to_owned())];
    headers.extend(cookies.access.iter().map(|line| ("Set-Cookie", line.clone())));
    headers.push((CHALLENGE_HEADER, challenge_header(next_challenge, family)));
    DeviceAnswer { status: 200, headers, body: instructions(family) }
}
