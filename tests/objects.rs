//! Every branch of both Durable Objects' command handling, on the host: what
//! `SessionFamily` (through `FamilyObject`) and `UserSessions` (through
//! `UserIndex::handle`) answer, write, arm and log for each message. The shell around
//! them only decodes, persists and encodes.

use std::time::Duration;

use edge_session::config::{Config, Policy};
use edge_session::messages::{FamilyCommand, UserCommand, Verdict};
use edge_session::objects::{AfterUnregister, AlarmStep, Event, FamilyObject, UnverifiableCookie};
use edge_session::session::{
    ACCESS_COOKIE, Family, FamilyId, Identity, REFRESH_COOKIE, RefreshCredential, RefreshSecret, Refusal, RevokedBy,
    SessionState, family_row,
};
use edge_session::time::Timestamp;
use edge_session::users::{FamilyEntry, TokenUse, UserIndex};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
const ID: FamilyId = FamilyId::from_bytes([1; 16]);
const KEYS: &str = "k1:0123456789abcdef0123456789abcdef";

fn config(extra: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some(KEYS.into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        "ROTATE_AFTER_SECS" => Some("10".into()),
        "GRACE_SECS" => Some("2".into()),
        _ => extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()),
    })
    .unwrap()
}

fn secret(n: u8) -> RefreshSecret {
    RefreshSecret::from_bytes([n; 32])
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn login_command() -> FamilyCommand {
    FamilyCommand::Login {
        family: ID,
        sub: "ada".into(),
        ctx: None,
        remember: false,
        dbsc_offered: false,
        context: None,
        amr: None,
        auth_time: None,
    }
}

/// A logged-in object, and the refresh cookie value its login handed out.
fn logged_in(config: &Config) -> (FamilyObject, String) {
    let mut object = FamilyObject::loaded(None, T0);
    let handled = object.handle(login_command(), T0, config, secret(1)).unwrap();
    (object, refresh_value(&handled.verdict).expect("a login sets the refresh cookie"))
}

fn refresh_value(verdict: &Verdict) -> Option<String> {
    let Verdict::Granted { cookies, .. } = verdict else { return None };
    let line = cookies.refresh.as_ref()?;
    let pair = line.split(';').next().unwrap();
    Some(pair.strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap().to_owned())
}

fn refresh(cookie: &str) -> FamilyCommand {
    FamilyCommand::Refresh { cookie: cookie.to_owned(), skipped: None, context: None }
}

fn state(verdict: &Verdict) -> SessionState {
    match verdict {
        Verdict::Granted { state, .. } => *state,
        other => panic!("expected a grant, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// SessionFamily

#[test]
fn a_login_creates_the_family_writes_it_and_arms_its_deadline() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let handled = object.handle(login_command(), T0, &config, secret(1)).unwrap();
    let Verdict::Granted { identity, state, cookies, decided_at, .. } = &handled.verdict else { panic!() };
    assert_eq!((identity.sub.as_str(), *state, *decided_at), ("ada", SessionState::Fresh, T0.as_millis()));
    assert!(cookies.access.as_ref().unwrap().starts_with(ACCESS_COOKIE));
    let row = family_row::decode(handled.row.as_ref().unwrap()).unwrap();
    assert_eq!((row.id(), row.generation()), (ID, 1));
    let idle = config.policy.idle_timeout;
    assert_eq!(handled.alarm, Some(T0 + idle + idle / 10), "the idle deadline (and its step) comes first");
    assert!(handled.events.is_empty());
}

#[test]
fn a_login_for_an_id_that_exists_is_refused_and_overwrites_nothing() {
    let config = config(&[]);
    let (mut object, cookie) = logged_in(&config);
    let before = object.clone();
    let again = object.handle(login_command(), T0 + secs(1), &config, secret(9)).unwrap();
    assert_eq!(again.verdict, Verdict::Refused { refusal: Refusal::Revoked });
    assert_eq!((again.row, again.alarm), (None, None));
    assert_eq!(object, before);
    assert_eq!(
        state(&object.handle(refresh(&cookie), T0 + secs(2), &config, secret(2)).unwrap().verdict),
        SessionState::Fresh
    );
}

#[test]
fn a_refresh_for_no_family_is_unknown_and_writes_nothing() {
    let config = config(&[]);
    let (_, cookie) = logged_in(&config);
    let mut empty = FamilyObject::loaded(None, T0);
    let handled = empty.handle(refresh(&cookie), T0, &config, secret(2)).unwrap();
    assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::UnknownFamily });
    assert!(handled.verdict.family_gone());
    assert_eq!((handled.row, handled.alarm, handled.events.len()), (None, None, 0));
}

#[test]
fn a_cookie_this_object_cannot_verify_is_an_error_not_an_answer() {
    let config = config(&[]);
    let (mut object, cookie) = logged_in(&config);
    let other_keys = Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some("k1:ffffffffffffffffffffffffffffffff".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(object.handle(refresh(&cookie), T0, &other_keys, secret(2)), Err(UnverifiableCookie));
}

#[test]
fn refreshes_write_only_on_confirmation_and_rotation() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    let confirm = object.handle(refresh(&g1), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(state(&confirm.verdict), SessionState::Fresh);
    assert!(confirm.row.is_some() && confirm.alarm.is_some(), "the first presentation confirms g1");
    let plain = object.handle(refresh(&g1), T0 + secs(2), &config, secret(3)).unwrap();
    assert_eq!((plain.row, plain.alarm), (None, None), "a plain fresh answer writes nothing");
    let rotation = object.handle(refresh(&g1), T0 + secs(10), &config, secret(4)).unwrap();
    assert_eq!(state(&rotation.verdict), SessionState::Rotated);
    assert_eq!(family_row::decode(rotation.row.as_ref().unwrap()).unwrap().generation(), 2);
    let g2 = refresh_value(&rotation.verdict).unwrap();
    let grace = object.handle(refresh(&g1), T0 + secs(11), &config, secret(5)).unwrap();
    assert_eq!(state(&grace.verdict), SessionState::GraceAlias);
    assert_eq!((refresh_value(&grace.verdict), grace.row), (Some(g2), None), "re-delivered, not written");
}

#[test]
fn reuse_revokes_writes_at_once_and_logs_it() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    object.handle(refresh(&g1), T0 + secs(1), &config, secret(2)).unwrap();
    let g2 = refresh_value(&object.handle(refresh(&g1), T0 + secs(10), &config, secret(3)).unwrap().verdict).unwrap();
    object.handle(refresh(&g2), T0 + secs(11), &config, secret(4)).unwrap(); // g2 confirmed
    let theft = T0 + secs(20);
    let reuse = object.handle(refresh(&g1), theft, &config, secret(5)).unwrap();
    assert_eq!(reuse.verdict, Verdict::ReuseDetected { revoked: true });
    assert!(!reuse.verdict.family_gone(), "gone only once its alarm deleted it");
    assert!(family_row::decode(reuse.row.as_ref().unwrap()).unwrap().is_revoked());
    assert_eq!(reuse.alarm, Some(theft), "a revoked family's alarm fires at once");
    let fields = vec![("family", ID.to_string()), ("sub", "ada".into()), ("action", "family_revoked".into())];
    assert_eq!(reuse.events, vec![Event { name: "reuse_detected", fields }]);
    let after = object.handle(refresh(&g2), theft + secs(1), &config, secret(6)).unwrap();
    assert_eq!(after.verdict, Verdict::Refused { refusal: Refusal::Revoked });
}

#[test]
fn reuse_with_on_reuse_reject_refuses_the_request_only() {
    let config = config(&[("ON_REUSE", "reject")]);
    let (mut object, g1) = logged_in(&config);
    object.handle(refresh(&g1), T0 + secs(1), &config, secret(2)).unwrap();
    let g2 = refresh_value(&object.handle(refresh(&g1), T0 + secs(10), &config, secret(3)).unwrap().verdict).unwrap();
    object.handle(refresh(&g2), T0 + secs(11), &config, secret(4)).unwrap();
    let reuse = object.handle(refresh(&g1), T0 + secs(20), &config, secret(5)).unwrap();
    assert_eq!(reuse.verdict, Verdict::ReuseDetected { revoked: false });
    assert!(!reuse.verdict.family_gone());
    assert_eq!(reuse.row, None);
    assert_eq!(reuse.events[0].fields[2], ("action", "request_rejected".into()));
}

#[test]
fn a_future_generation_is_refused_logged_and_the_family_kept() {
    let config = config(&[]);
    let (mut object, _) = logged_in(&config);
    let forged = RefreshCredential { family: ID, generation: 7, secret: secret(1) }.encode(&config.session_keys);
    let handled = object.handle(refresh(&forged), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(handled.verdict, Verdict::Refused { refusal: Refusal::FutureGeneration });
    assert!(!handled.verdict.family_gone());
    assert_eq!(handled.events, vec![Event { name: "future_generation", fields: vec![("family", ID.to_string())] }]);
    assert!(!object.family().unwrap().is_revoked());
}

#[test]
fn logout_revokes_once_and_a_second_logout_is_harmless() {
    let config = config(&[]);
    let (mut object, cookie) = logged_in(&config);
    let t = T0 + secs(3);
    let first = object.handle(FamilyCommand::Logout, t, &config, secret(2)).unwrap();
    assert_eq!((first.verdict, first.alarm), (Verdict::Done, Some(t)));
    assert!(family_row::decode(first.row.as_ref().unwrap()).unwrap().is_revoked());
    let second = object.handle(FamilyCommand::Logout, t, &config, secret(3)).unwrap();
    assert_eq!((second.verdict, second.row, second.alarm), (Verdict::Done, None, None));
    let nothing = FamilyObject::loaded(None, t).handle(FamilyCommand::Logout, t, &config, secret(4)).unwrap();
    assert_eq!((nothing.verdict, nothing.row), (Verdict::Done, None), "no family: nothing to end");
    let refused = object.handle(refresh(&cookie), t, &config, secret(5)).unwrap();
    assert_eq!(refused.verdict, Verdict::Refused { refusal: Refusal::Revoked });
}

#[test]
fn a_family_loaded_from_storage_holds_its_generation_for_grace() {
    let config = config(&[]);
    let (object, g1) = logged_in(&config);
    let stored: Family = family_row::decode(&family_row::encode(object.family().unwrap())).unwrap();
    let woken_at = T0 + secs(60); // long past due, the hold long over before the restart
    let mut woken = FamilyObject::loaded(Some(stored), woken_at);
    assert_eq!(woken.family().unwrap().delivered_at(), woken_at);
    let held = woken.handle(refresh(&g1), woken_at + secs(1), &config, secret(2)).unwrap();
    assert_eq!(state(&held.verdict), SessionState::Fresh, "held right after waking");
    let rotated = woken.handle(refresh(&g1), woken_at + secs(2), &config, secret(3)).unwrap();
    assert_eq!(state(&rotated.verdict), SessionState::Rotated, "and rotates once grace has passed");
}

fn step_up(sub: &str) -> FamilyCommand {
    FamilyCommand::StepUp { sub: sub.into(), amr: Some(vec!["pwd".into(), "otp".into()]) }
}

fn auth_time(verdict: &Verdict) -> Option<u64> {
    let Verdict::Granted { identity, .. } = verdict else { panic!("expected a grant, got {verdict:?}") };
    identity.auth_time
}

#[test]
fn a_step_up_raises_auth_time_for_its_own_new_credential_only() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    object.handle(refresh(&g1), T0 + secs(1), &config, secret(2)).unwrap(); // g1 confirmed; not yet due
    let at = T0 + secs(5); // past the hold (GRACE 2 s after the login handed g1 out)
    let stepped = object.handle(step_up("ada"), at, &config, secret(3)).unwrap();
    assert_eq!(state(&stepped.verdict), SessionState::Rotated, "a new credential, though ROTATE_AFTER is 10 s");
    assert_eq!(auth_time(&stepped.verdict), Some(at.as_secs()));
    let Verdict::Granted { identity, .. } = &stepped.verdict else { unreachable!() };
    assert_eq!(identity.amr, Some(vec!["pwd".to_owned(), "otp".to_owned()]));
    let row = family_row::decode(stepped.row.as_ref().expect("a step-up writes")).unwrap();
    assert_eq!(
        (row.id(), row.generation(), row.identity().auth_time),
        (ID, 2, Some(T0.as_secs())),
        "the login's stays"
    );
    assert_eq!(row.elevation().map(|e| (e.from, e.auth_time)), Some((2, at.as_secs())));
    assert_eq!(stepped.events[0].name, "step_up");
    let g2 = refresh_value(&stepped.verdict).expect("the new credential is handed out");
    let owner = object.handle(refresh(&g2), at + secs(1), &config, secret(4)).unwrap();
    assert_eq!(auth_time(&owner.verdict), Some(at.as_secs()), "the step-up's credential carries it");
    // A jar copied before the step-up, presented after the owner moved on: reuse.
    let copy = object.handle(refresh(&g1), at + secs(30), &config, secret(5)).unwrap();
    assert_eq!(copy.verdict, Verdict::ReuseDetected { revoked: true });
}

#[test]
fn a_credential_from_before_the_step_up_never_carries_it_and_ends_it() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    object.handle(refresh(&g1), T0 + secs(1), &config, secret(2)).unwrap();
    let at = T0 + secs(5);
    let g2 = refresh_value(&object.handle(step_up("ada"), at, &config, secret(3)).unwrap().verdict).unwrap();
    // Within grace (a racing tab, or a thief): the same user, the new credential, but the
    // login's auth_time; and the step-up is over for everyone.
    let racing = object.handle(refresh(&g1), at + secs(1), &config, secret(4)).unwrap();
    assert_eq!(state(&racing.verdict), SessionState::GraceAlias);
    assert_eq!(auth_time(&racing.verdict), Some(T0.as_secs()));
    assert!(racing.row.is_some(), "the end of the step-up is written");
    let owner = object.handle(refresh(&g2), at + secs(2), &config, secret(5)).unwrap();
    assert_eq!(auth_time(&owner.verdict), Some(T0.as_secs()), "ended: the owner asks again");
    // A lost step-up response (g2 never presented): recovery, without the step-up.
    let (mut lost, h1) = logged_in(&config);
    lost.handle(refresh(&h1), T0 + secs(1), &config, secret(6)).unwrap();
    lost.handle(step_up("ada"), at, &config, secret(7)).unwrap();
    let recovered = lost.handle(refresh(&h1), at + secs(600), &config, secret(8)).unwrap();
    assert_eq!(state(&recovered.verdict), SessionState::Recovered);
    assert_eq!(auth_time(&recovered.verdict), Some(T0.as_secs()));
}

#[test]
fn a_step_up_within_the_hold_lives_in_its_answer_alone() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    let at = T0 + secs(1); // g1 was handed out 1 s ago: a response carrying it may still land (S10)
    let stepped = object.handle(step_up("ada"), at, &config, secret(2)).unwrap();
    assert_eq!(state(&stepped.verdict), SessionState::Fresh);
    assert_eq!((refresh_value(&stepped.verdict), auth_time(&stepped.verdict)), (None, Some(at.as_secs())));
    let row = family_row::decode(stepped.row.as_ref().unwrap()).unwrap();
    assert_eq!((row.generation(), row.elevation()), (1, None), "nothing durable");
    let next = object.handle(refresh(&g1), at + secs(3), &config, secret(3)).unwrap();
    assert_eq!(auth_time(&next.verdict), Some(T0.as_secs()), "g1's holders, owner or not, get the login's");
}

#[test]
fn a_step_up_after_the_object_woke_is_not_held_by_the_wake() {
    let config = config(&[]);
    let (object, g1) = logged_in(&config);
    let stored = family_row::decode(&family_row::encode(object.family().unwrap())).unwrap();
    let woken_at = T0 + secs(600); // evicted while the session rode its access cookie
    let mut woken = FamilyObject::loaded(Some(stored), woken_at);
    let stepped = woken.handle(step_up("ada"), woken_at, &config, secret(2)).unwrap();
    assert_eq!(auth_time(&stepped.verdict), Some(woken_at.as_secs()));
    let new = refresh_value(&stepped.verdict).expect("a new credential");
    // g1 was never presented back: replaced in place, so a lost response's holder is not
    // two generations behind; its holder gets the new one, without the step-up.
    let row = family_row::decode(stepped.row.as_ref().unwrap()).unwrap();
    assert_eq!(row.generation(), 1);
    let racing = woken.handle(refresh(&g1), woken_at + secs(1), &config, secret(3)).unwrap();
    assert_eq!((state(&racing.verdict), auth_time(&racing.verdict)), (SessionState::GraceAlias, Some(T0.as_secs())));
    assert_eq!(refresh_value(&racing.verdict), Some(new.clone()));
    let owner = woken.handle(refresh(&new), woken_at + secs(2), &config, secret(4)).unwrap();
    assert_eq!(auth_time(&owner.verdict), Some(T0.as_secs()), "the old secret ended the step-up");
    // Past grace of the owner's first use, the old secret is a copy: reuse.
    let copy = woken.handle(refresh(&g1), woken_at + secs(10), &config, secret(5)).unwrap();
    assert_eq!(copy.verdict, Verdict::ReuseDetected { revoked: true });
}

#[test]
fn a_step_up_for_another_user_or_an_ended_family_changes_nothing() {
    let config = config(&[]);
    let (mut object, g1) = logged_in(&config);
    let other = object.handle(step_up("eve"), T0 + secs(5), &config, secret(2)).unwrap();
    assert_eq!((other.verdict, other.row), (Verdict::Refused { refusal: Refusal::UnknownFamily }, None));
    assert_eq!(object.family().unwrap().identity().sub, "ada");
    let none = FamilyObject::loaded(None, T0).handle(step_up("ada"), T0, &config, secret(3)).unwrap();
    assert_eq!(none.verdict, Verdict::Refused { refusal: Refusal::UnknownFamily });
    object.handle(FamilyCommand::Logout, T0 + secs(6), &config, secret(4)).unwrap();
    let ended = object.handle(step_up("ada"), T0 + secs(7), &config, secret(5)).unwrap();
    assert_eq!((ended.verdict, ended.row), (Verdict::Refused { refusal: Refusal::Expired }, None));
    let refused = object.handle(refresh(&g1), T0 + secs(8), &config, secret(6)).unwrap();
    assert_eq!(refused.verdict, Verdict::Refused { refusal: Refusal::Revoked }, "a step-up revives nothing");
}

#[test]
fn the_alarm_rearms_until_the_deadline_then_unregisters_then_deletes() {
    let config = config(&[]);
    let policy = &config.policy;
    assert_eq!(FamilyObject::loaded(None, T0).on_alarm(T0, policy), AlarmStep::Nothing);
    let (mut object, _) = logged_in(&config);
    let deadline = T0 + policy.idle_timeout + policy.idle_timeout / 10;
    assert_eq!(object.on_alarm(T0 + secs(1), policy), AlarmStep::RearmAt(deadline));
    let expected = UserCommand::Unregister { family: ID, created_at: T0.as_millis() };
    assert_eq!(
        object.on_alarm(deadline, policy),
        AlarmStep::Unregister { sub: "ada".into(), command: expected, row: None }
    );
    assert_eq!(object.after_unregister(true, deadline, policy), AfterUnregister::Delete);
    assert_eq!(object.family(), None, "memory holds no family once storage goes");
}

#[test]
fn a_family_the_kill_switch_ended_is_written_revoked_before_its_index_is_asked() {
    let mut killed = config(&[]);
    let (mut object, _) = logged_in(&killed);
    killed.policy.not_before = T0 + secs(1);
    let policy = &killed.policy;
    let AlarmStep::Unregister { row: Some(row), .. } = object.on_alarm(T0 + secs(2), policy) else {
        panic!("a row to write first")
    };
    assert!(family_row::decode(&row).unwrap().is_revoked(), "ended for good, should the index not answer");
    // Kept for a retry, then the switch lowered: still ended.
    assert!(matches!(object.after_unregister(false, T0 + secs(2), policy), AfterUnregister::RetryAt { .. }));
    let lowered = Policy { not_before: Timestamp::from_millis(0), ..*policy };
    assert!(matches!(object.on_alarm(T0 + secs(62), &lowered), AlarmStep::Unregister { row: None, .. }));
}

#[test]
fn an_unreachable_index_is_retried_until_it_would_forget_the_family_by_age() {
    let config = config(&[]);
    let policy = &config.policy;
    let (mut object, _) = logged_in(&config);
    let ended = T0 + policy.idle_timeout;
    let event = Event { name: "unregister_failed", fields: vec![("family", ID.to_string())] };
    assert_eq!(object.after_unregister(false, ended, policy), AfterUnregister::RetryAt { at: ended + secs(60), event });
    assert!(object.family().is_some(), "kept (unusable) until the index is told");
    let forgotten_by_age = T0 + policy.remember_lifetime.max(policy.session_lifetime);
    assert_eq!(object.after_unregister(false, forgotten_by_age, policy), AfterUnregister::Delete);
}

// ---------------------------------------------------------------------------------------
// UserSessions (the branches the index's own unit tests do not take through `handle`)

fn entry(n: u8) -> FamilyEntry {
    FamilyEntry::new(FamilyId::from_bytes([n; 16]), T0, false, Some("Firefox"), Some("CH"))
}

#[test]
fn register_touch_list_and_unregister_through_handle() {
    let policy = config(&[]).policy;
    let mut index = UserIndex::default();
    let registered = index.handle(UserCommand::Register { entry: entry(1) }, T0, &policy);
    assert!(registered.reply.accepted && registered.changed && registered.revoke.is_empty());
    let family = FamilyId::from_bytes([1; 16]);
    let touched =
        index.handle(UserCommand::Touch { family, at: (T0 + secs(60)).as_millis(), device_bound: false }, T0, &policy);
    assert!(touched.changed);
    let stale = index.handle(UserCommand::Touch { family, at: T0.as_millis(), device_bound: false }, T0, &policy);
    assert!(!stale.changed, "an older touch changes nothing");
    let listed = index.handle(UserCommand::List, T0, &policy);
    assert_eq!(listed.reply.sessions.len(), 1);
    assert_eq!(listed.reply.sessions[0].last_seen, T0 + secs(60));
    assert!(!listed.changed, "listing writes nothing");
    let gone = index.handle(UserCommand::Unregister { family, created_at: T0.as_millis() }, T0, &policy);
    assert!(gone.changed);
    assert!(index.handle(UserCommand::List, T0, &policy).reply.sessions.is_empty());
}

#[test]
fn revoking_a_family_not_listed_does_nothing_but_spend_the_token() {
    let policy = config(&[]).policy;
    let mut index = UserIndex::default();
    index.handle(UserCommand::Register { entry: entry(1) }, T0, &policy);
    let token = TokenUse { jti: "token-abc".into(), valid_until: (T0 + secs(90)).as_millis() };
    let stranger = FamilyId::from_bytes([9; 16]);
    let handled = index.handle(UserCommand::Revoke { family: stranger, token: Some(token.clone()) }, T0, &policy);
    assert!(handled.revoke.is_empty(), "another user's session is not revoked through this index");
    assert!(handled.changed, "the token is spent and must be written");
    let replay =
        index.handle(UserCommand::Revoke { family: FamilyId::from_bytes([1; 16]), token: Some(token) }, T0, &policy);
    assert!(replay.reply.replayed && replay.revoke.is_empty());
    let mine = index.handle(UserCommand::Revoke { family: FamilyId::from_bytes([1; 16]), token: None }, T0, &policy);
    assert_eq!(mine.revoke, vec![(FamilyId::from_bytes([1; 16]), RevokedBy::Admin)]);
}

#[test]
fn a_login_racing_a_revoke_all_is_refused_without_an_event() {
    let policy = config(&[]).policy;
    let mut index = UserIndex::default();
    index.handle(UserCommand::RevokeAll { except: None, token: None }, T0 + secs(1), &policy);
    let raced = index.handle(UserCommand::Register { entry: entry(2) }, T0 + secs(1), &policy);
    assert!(!raced.reply.accepted && !raced.changed);
    assert!(raced.events.is_empty(), "a raced login is expected, not alert-worthy");
}

#[test]
fn identity_survives_the_row() {
    let config = config(&[]);
    let (object, _) = logged_in(&config);
    let family = object.family().unwrap();
    let authenticated = Identity { sub: "ada".into(), ctx: None, auth_time: Some(T0.as_secs()), amr: None };
    assert_eq!(family.identity(), &authenticated, "authenticated at the login, by the object's clock");
    assert_eq!(family_row::decode(&family_row::encode(family)).unwrap(), *family);
    // A row from before auth_time was kept: the family's creation stands in for it.
    let mut old: serde_json::Value = serde_json::from_str(&family_row::encode(family)).unwrap();
    old["identity"].as_object_mut().unwrap().remove("auth_time");
    old["created_at"] = (T0.as_millis() - 5_000).into();
    let decoded = family_row::decode(&old.to_string()).unwrap();
    assert_eq!(decoded.identity().auth_time, Some(T0.as_secs() - 5));
}
