//! Messages between the stateless worker and a family's Durable Object.
//!
//! The worker has already checked the refresh cookie's MAC (so garbage never reaches an
//! object); it forwards the cookie value and the object checks it again before deciding.
//! Replies carry the `Set-Cookie` lines ready-made, so the worker needs no family state
//! and never sees a rule. JSON keeps the hop debuggable; it is a few hundred bytes.
//! Enums use serde's default (external) tagging, `{"refresh":{"cookie":…}}`: internal
//! tags (`{"op":"refresh",…}`) made serde buffer every message through its generic
//! `Content` tree, 61 KB of wasm before optimization.
//!
//! ```
//! use edge_session::messages::FamilyCommand;
//! let cmd = FamilyCommand::Logout;
//! let json = serde_json::to_string(&cmd).unwrap();
//! assert_eq!(serde_json::from_str::<FamilyCommand>(&json).unwrap(), cmd);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::events::RequestContext;
use crate::session::{
    AnonymousState, DeviceRefusal, FamilyId, Grant, GrantCookies, Identity, Refusal, RevokedBy, SessionState,
};
use crate::time::Timestamp;
use crate::users::{FamilyEntry, TokenUse};

/// What the worker asks of a family's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FamilyCommand {
    /// Decide a presented refresh cookie (its raw value).
    Refresh {
        /// The cookie's raw value, MAC already checked by the worker.
        cookie: String,
        /// The request's `Secure-Session-Skipped` names this family: its browser says it
        /// skipped a DBSC refresh, for this reason (crate::dbsc::skipped). Left out when
        /// absent, so an older object reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skipped: Option<String>,
        /// The request's device, for context changes and events (crate::events). Left
        /// out when unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<RequestContext>,
    },
    /// Create this family (id chosen by the worker) for a login directive.
    Login {
        /// The new family's id: 128 random bits the worker drew.
        family: FamilyId,
        /// The user, from the verified directive.
        sub: String,
        /// The directive's `ctx`, carried in the access cookie and the assertion.
        ctx: Option<Map<String, Value>>,
        /// "Remember me": a persistent refresh cookie and the longer lifetime.
        remember: bool,
        /// The login response offers device binding (DBSC). Left out when false.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dbsc_offered: bool,
        /// The login request's device. Left out when unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context: Option<RequestContext>,
        /// How the user proved who they are (the directive's `amr`). Left out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amr: Option<Vec<String>>,
        /// When, if earlier than now (the directive's `auth_time`: a bridge's adoption
        /// says 0). Left out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth_time: Option<u64>,
    },
    /// Its user proved who they are again (the origin's step-up directive): move
    /// `auth_time` to now and rotate (crate::session::Family::step_up). An object older
    /// than this message answers 400, and the step-up is lost, never misapplied.
    StepUp {
        /// The user the worker found the session to be; checked again by the object.
        sub: String,
        /// How they proved it (the directive's `amr`). Left out when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amr: Option<Vec<String>>,
    },
    /// End this family: its user logged out of it.
    Logout,
    /// End this family for another reason than its own logout (`session.revoked`'s `by`).
    /// An object older than this message answers 400: the index retries its revocations
    /// every minute, so a deploy in progress delays one, never loses it.
    Revoke {
        /// Who asked.
        by: RevokedBy,
    },
    /// Bind this family to the device key a DBSC registration proof carries.
    BindDevice {
        /// The proof (`Secure-Session-Response`) as the browser sent it.
        proof: String,
    },
    /// A new access cookie for a device-bound family, for a proof by its key.
    RefreshDevice {
        /// The proof as the browser sent it.
        proof: String,
    },
}

/// What the object answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyReply {
    /// The decision.
    pub verdict: Verdict,
    /// Storage rows written while deciding (observability: 0 between rotations).
    pub writes: u32,
    /// The family was offered device binding and came back unbound (counted once per
    /// family). Left out when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dbsc_not_registered: bool,
    /// Tell the user's index the family's `last_seen` (at most every half idle timeout:
    /// crate::session::Family::index_due). Left out when false; an older object leaves it
    /// out, and its families' "last seen" then waits for the next deploy's first touch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub touch_index: bool,
}

/// What a family's object decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// An identity for this request, with the cookies to set. `decided_at` (Unix ms)
    /// lets the worker apply the slow rule once the origin has answered.
    Granted {
        /// Who the request is.
        identity: Identity,
        /// How it was identified (`X-Edge-Session-State`).
        state: SessionState,
        /// The `Set-Cookie` lines to send.
        cookies: GrantCookies,
        /// When the object decided, Unix ms.
        decided_at: u64,
        /// When the family refreshed from another context, Unix seconds
        /// (`ON_CONTEXT_CHANGE=flag`), for the assertion. Left out when never.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        context_changed: Option<u64>,
    },
    /// No identity: the request goes on anonymous, and no cookie is touched.
    Refused {
        /// Why.
        refusal: Refusal,
    },
    /// Reuse of a retired credential; `revoked` says whether the family was ended.
    ReuseDetected {
        /// Whether the family was revoked (`ON_REUSE=revoke`).
        revoked: bool,
    },
    /// A logout was carried out (or there was nothing left to end).
    Done,
    /// A device proof was good: the family is bound, and this is its new access cookie.
    DeviceBound {
        /// Who the family is.
        identity: Identity,
        /// The device-bound access cookie.
        cookies: GrantCookies,
        /// When the object decided, Unix ms.
        decided_at: u64,
    },
    /// A device proof earned nothing.
    DeviceRefused {
        /// Why.
        refusal: DeviceRefusal,
    },
}

impl Verdict {
    /// The answer for a granted identity and its cookies, decided `now`.
    pub fn granted(grant: &Grant, cookies: GrantCookies, now: Timestamp) -> Verdict {
        Verdict::Granted {
            identity: grant.identity.clone(),
            state: grant.state,
            cookies,
            decided_at: now.as_millis(),
            context_changed: grant.context_changed.map(Timestamp::as_secs),
        }
    }

    /// `Granted(rotated)`, `Refused(Expired)`, `ReuseDetected(revoked)`…: how
    /// `X-Edge-Debug` names the answer.
    pub fn label(&self) -> String {
        match self {
            Verdict::Granted { state, .. } => format!("Granted({})", state.as_str()),
            Verdict::Refused { refusal } => format!("Refused({refusal:?})"),
            Verdict::ReuseDetected { revoked: true } => "ReuseDetected(revoked)".into(),
            Verdict::ReuseDetected { revoked: false } => "ReuseDetected(rejected)".into(),
            Verdict::Done => "Done".into(),
            Verdict::DeviceBound { .. } => "DeviceBound".into(),
            Verdict::DeviceRefused { refusal } => format!("DeviceRefused({})", refusal.reason()),
        }
    }

    /// What an anonymous request is told (`X-Edge-Session-State`) when its refresh cookie
    /// earned this; `None` for an identity.
    pub fn anonymous_state(&self) -> Option<AnonymousState> {
        match self {
            Verdict::Refused { refusal } => Some(AnonymousState::of_refusal(*refusal)),
            Verdict::ReuseDetected { .. } => Some(AnonymousState::Reused),
            Verdict::Granted { .. } | Verdict::DeviceBound { .. } => None,
            // Never the answer to a refresh cookie.
            Verdict::Done | Verdict::DeviceRefused { .. } => Some(AnonymousState::Invalid),
        }
    }

    /// The family's object holds nothing: the family was deleted once it ended (or never
    /// existed), and it can never identify anyone again. The worker then remembers it
    /// ([`EndedFamilies`](crate::session::EndedFamilies)). A revoked or expired family is
    /// not yet gone: its alarm deletes it at once, and the next answer is this one; only
    /// then is the object empty for good, so that is what the worker remembers.
    pub fn family_gone(&self) -> bool {
        matches!(self, Verdict::Refused { refusal: Refusal::UnknownFamily })
    }
}

/// What the worker, a family or the admin API asks of a user's `UserSessions` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserCommand {
    /// A new family of this user exists.
    Register {
        /// The family, as "your devices" will list it.
        entry: FamilyEntry,
    },
    /// The family refreshed at `at` (Unix ms): move its `last_seen`.
    Touch {
        /// The family.
        family: FamilyId,
        /// When it refreshed, Unix ms.
        at: u64,
        /// The family is bound to a device key (DBSC). Left out when false, so an index
        /// of an older version still reads the message.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        device_bound: bool,
    },
    /// The family's object was deleted (it ended): drop it from the index.
    Unregister {
        /// The family.
        family: FamilyId,
        /// When it was created, Unix ms (how long a tombstone must last).
        created_at: u64,
    },
    /// List the user's live families.
    List,
    /// Revoke one listed family (an admin call, spending its token).
    Revoke {
        /// The family to end.
        family: FamilyId,
        /// The admin token spent on it.
        token: Option<TokenUse>,
    },
    /// Revoke every family of this user but `except` (a logout-everywhere directive, or
    /// an admin call spending its token).
    RevokeAll {
        /// A family to keep: the caller's own, for "sign out all other devices".
        except: Option<FamilyId>,
        /// The admin token spent on it; `None` for a logout-everywhere directive.
        token: Option<TokenUse>,
    },
}

/// What the `UserSessions` object answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReply {
    /// For `Register`: false when the family must not exist and must be revoked.
    pub accepted: bool,
    /// For `Revoke` and `RevokeAll`: families whose objects confirmed the revocation.
    pub revoked: usize,
    /// Families revoked in the index whose objects did not answer yet: retried every
    /// minute until they do.
    #[serde(default)]
    pub pending: usize,
    /// For `List`: the live families, oldest first.
    #[serde(default)]
    pub sessions: Vec<FamilyEntry>,
    /// For `Revoke` and `RevokeAll`: the token was already used; nothing was done.
    #[serde(default)]
    pub replayed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON on the wire is pinned: during a deploy an old worker may talk to a new
    /// object or the reverse, so a change here must keep both readable. If this test
    /// fails, you changed the wire format: make the change compatible first.
    #[test]
    fn the_wire_format_is_pinned() {
        let id = FamilyId::from_bytes([1; 16]);
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                serde_json::to_value(FamilyCommand::Refresh { cookie: "r1.x".into(), skipped: None, context: None })
                    .unwrap(),
                r#"{"refresh":{"cookie":"r1.x"}}"#,
            ),
            (
                serde_json::to_value(FamilyCommand::Refresh {
                    cookie: "r1.x".into(),
                    skipped: Some("server_error".into()),
                    context: None,
                })
                .unwrap(),
                r#"{"refresh":{"cookie":"r1.x","skipped":"server_error"}}"#,
            ),
            (serde_json::to_value(FamilyCommand::Logout).unwrap(), r#""logout""#),
            (
                serde_json::to_value(FamilyCommand::Login {
                    family: id,
                    sub: "a".into(),
                    ctx: None,
                    remember: true,
                    dbsc_offered: false,
                    context: None,
                    amr: None,
                    auth_time: None,
                })
                .unwrap(),
                r#"{"login":{"family":"AQEBAQEBAQEBAQEBAQEBAQ","sub":"a","ctx":null,"remember":true}}"#,
            ),
            (
                serde_json::to_value(FamilyCommand::Login {
                    family: id,
                    sub: "a".into(),
                    ctx: None,
                    remember: false,
                    dbsc_offered: true,
                    context: None,
                    amr: None,
                    auth_time: None,
                })
                .unwrap(),
                r#"{"login":{"family":"AQEBAQEBAQEBAQEBAQEBAQ","sub":"a","ctx":null,"remember":false,"dbsc_offered":true}}"#,
            ),
            (
                serde_json::to_value(FamilyReply {
                    verdict: Verdict::Done,
                    writes: 1,
                    dbsc_not_registered: false,
                    touch_index: false,
                })
                .unwrap(),
                r#"{"verdict":"done","writes":1}"#,
            ),
            (
                serde_json::to_value(FamilyReply {
                    verdict: Verdict::Done,
                    writes: 1,
                    dbsc_not_registered: true,
                    touch_index: true,
                })
                .unwrap(),
                r#"{"verdict":"done","writes":1,"dbsc_not_registered":true,"touch_index":true}"#,
            ),
            (
                serde_json::to_value(Verdict::Refused { refusal: Refusal::Expired }).unwrap(),
                r#"{"refused":{"refusal":"Expired"}}"#,
            ),
            (
                serde_json::to_value(Verdict::ReuseDetected { revoked: true }).unwrap(),
                r#"{"reuse_detected":{"revoked":true}}"#,
            ),
            (
                serde_json::to_value(FamilyCommand::Revoke { by: RevokedBy::Everywhere }).unwrap(),
                r#"{"revoke":{"by":"everywhere"}}"#,
            ),
            (
                serde_json::to_value(FamilyCommand::Refresh {
                    cookie: "r1.x".into(),
                    skipped: None,
                    context: Some(RequestContext {
                        user_agent: Some("curl/8".into()),
                        country: Some("CH".into()),
                        asn: Some(3303),
                        colo: None,
                    }),
                })
                .unwrap(),
                r#"{"refresh":{"cookie":"r1.x","context":{"user_agent":"curl/8","country":"CH","asn":3303}}}"#,
            ),
            (
                serde_json::to_value(Verdict::Granted {
                    identity: Identity { sub: "a".into(), ctx: None, auth_time: None, amr: None },
                    state: SessionState::Rotated,
                    cookies: GrantCookies { access: Some("a".into()), refresh: None },
                    decided_at: 5,
                    context_changed: Some(4),
                })
                .unwrap(),
                r#"{"granted":{"identity":{"sub":"a"},"state":"Rotated","cookies":{"access":"a","refresh":null},"decided_at":5,"context_changed":4}}"#,
            ),
            (serde_json::to_value(UserCommand::List).unwrap(), r#""list""#),
            (
                serde_json::to_value(UserCommand::Touch { family: id, at: 5, device_bound: false }).unwrap(),
                r#"{"touch":{"family":"AQEBAQEBAQEBAQEBAQEBAQ","at":5}}"#,
            ),
            (
                serde_json::to_value(UserCommand::Touch { family: id, at: 5, device_bound: true }).unwrap(),
                r#"{"touch":{"family":"AQEBAQEBAQEBAQEBAQEBAQ","at":5,"device_bound":true}}"#,
            ),
            (
                serde_json::to_value(FamilyCommand::RefreshDevice { proof: "p".into() }).unwrap(),
                r#"{"refresh_device":{"proof":"p"}}"#,
            ),
            (
                serde_json::to_value(Verdict::DeviceRefused { refusal: DeviceRefusal::StaleChallenge }).unwrap(),
                r#"{"device_refused":{"refusal":"StaleChallenge"}}"#,
            ),
            (
                serde_json::to_value(Verdict::Refused { refusal: Refusal::DeviceBound }).unwrap(),
                r#"{"refused":{"refusal":"DeviceBound"}}"#,
            ),
            (
                serde_json::to_value(UserCommand::RevokeAll {
                    except: Some(id),
                    token: Some(TokenUse { jti: "j".into(), valid_until: 9 }),
                })
                .unwrap(),
                r#"{"revoke_all":{"except":"AQEBAQEBAQEBAQEBAQEBAQ","token":{"jti":"j","valid_until":9}}}"#,
            ),
        ];
        for (value, pinned) in cases {
            assert_eq!(value, serde_json::from_str::<serde_json::Value>(pinned).unwrap());
        }
    }

    #[test]
    fn only_an_empty_object_means_the_family_is_gone() {
        let refused = |refusal| Verdict::Refused { refusal };
        assert!(refused(Refusal::UnknownFamily).family_gone());
        for other in [Refusal::Revoked, Refusal::Expired, Refusal::FutureGeneration, Refusal::DeviceBound] {
            assert!(!refused(other).family_gone(), "{other:?}: still stored until its alarm runs");
        }
        assert!(!Verdict::ReuseDetected { revoked: true }.family_gone());
        assert!(!Verdict::ReuseDetected { revoked: false }.family_gone());
        assert!(!Verdict::Done.family_gone());
    }

    #[test]
    fn every_refusal_of_a_refresh_cookie_tells_the_origin_why() {
        let refused = |refusal| Verdict::Refused { refusal }.anonymous_state();
        assert_eq!(refused(Refusal::UnknownFamily), Some(AnonymousState::Ended));
        assert_eq!(refused(Refusal::Revoked), Some(AnonymousState::Ended));
        assert_eq!(refused(Refusal::Expired), Some(AnonymousState::Expired));
        assert_eq!(refused(Refusal::FutureGeneration), Some(AnonymousState::Invalid));
        assert_eq!(refused(Refusal::DeviceBound), Some(AnonymousState::DeviceBound));
        assert_eq!(Verdict::ReuseDetected { revoked: false }.anonymous_state(), Some(AnonymousState::Reused));
        assert_eq!(Verdict::ReuseDetected { revoked: true }.anonymous_state(), Some(AnonymousState::Reused));
    }

    #[test]
    fn a_malformed_family_id_is_refused_while_decoding() {
        assert!(serde_json::from_str::<UserCommand>(r#"{"revoke":{"family":"../x"}}"#).is_err());
    }
}
