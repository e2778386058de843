//! Security events, decided by a family's object (`FamilyObject`), on the host: which
//! decision reports what, that nothing is reported or stored when events are off, that
//! the alarm is brought forward to deliver, and that a family's end keeps what it has
//! not delivered. The wire format and its verification are the origin crate's
//! (`packages/rust/src/event.rs`); the outbox's retries are `src/events/outbox.rs`.

use std::time::Duration;

use edge_session::config::Config;
use edge_session::events::{FamilyEvents, RequestContext, Transport};
use edge_session::messages::{FamilyCommand, Verdict};
use edge_session::objects::{AfterUnregister, AlarmStep, FamilyHandled, FamilyObject};
use edge_session::origin::SecurityEvent;
use edge_session::session::{
    ACCESS_COOKIE, AccessCredential, FamilyId, REFRESH_COOKIE, RefreshSecret, Refusal, RevokedBy, family_row,
};
use edge_session::time::Timestamp;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
const ID: FamilyId = FamilyId::from_bytes([1; 16]);
const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0.0.0 Safari/537.36";

fn config(extra: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        "EVENTS_SECRET" => Some("e1:abcdefabcdefabcdefabcdefabcdefab".into()),
        "ROTATE_AFTER_SECS" => Some("10".into()),
        "GRACE_SECS" => Some("2".into()),
        _ => extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()),
    })
    .unwrap()
}

fn from(country: &str, asn: u32, ua: &str) -> Option<RequestContext> {
    Some(RequestContext::new(Some(ua), Some(country), Some(asn), Some("ZRH")))
}

fn secret(n: u8) -> RefreshSecret {
    RefreshSecret::from_bytes([n; 32])
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn login(object: &mut FamilyObject, config: &Config, context: Option<RequestContext>) -> (FamilyHandled, String) {
    let command = FamilyCommand::Login {
        family: ID,
        sub: "ada".into(),
        ctx: None,
        remember: false,
        dbsc_offered: false,
        context,
        amr: None,
        auth_time: None,
    };
    let handled = object.handle(command, T0, config, secret(1)).unwrap();
    let Verdict::Granted { cookies, .. } = &handled.verdict else { panic!("login") };
    let pair = cookies.refresh.as_ref().unwrap().split(';').next().unwrap();
    let cookie = pair.strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap().to_owned();
    (handled, cookie)
}

fn refresh(cookie: &str, context: Option<RequestContext>) -> FamilyCommand {
    FamilyCommand::Refresh { cookie: cookie.to_owned(), skipped: None, context }
}

/// The events waiting in the object's outbox, oldest first.
fn queued(object: &FamilyObject, now: Timestamp) -> Vec<SecurityEvent> {
    object.due_events(now + secs(86_400), &[Transport::Webhook]).into_iter().map(|d| d.event).collect()
}

fn stored(handled: &FamilyHandled) -> FamilyEvents {
    serde_json::from_str(handled.events_row.as_ref().expect("the events row is written")).unwrap()
}

#[test]
fn a_login_reports_session_created_with_its_device_in_the_same_write_and_brings_the_alarm_forward() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let (handled, _) = login(&mut object, &config, from("CH", 3303, CHROME));
    assert!(handled.row.is_some(), "the family");
    let events = stored(&handled);
    assert_eq!(events.outbox.len(), 1);
    assert!(handled.alarm.is_some_and(|at| at <= T0), "delivered at once, not at the family's deadline");
    let created = &queued(&object, T0)[0];
    assert_eq!(
        (created.kind.as_str(), created.sub.as_str(), created.sid.clone()),
        ("session.created", "ada", ID.to_string())
    );
    assert_eq!(created.jti, format!("{ID}.1"));
    let device = &created.device;
    assert_eq!(
        (device.browser.as_deref(), device.os.as_deref(), device.country.as_deref()),
        (Some("Chrome"), Some("Windows"), Some("CH"))
    );
    assert_eq!((device.asn, device.bound), (Some(3303), false));
}

#[test]
fn without_events_or_a_context_policy_nothing_is_stored_or_reported() {
    let config = Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        _ => None,
    })
    .unwrap();
    let mut object = FamilyObject::loaded(None, T0);
    let (handled, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    assert_eq!(handled.events_row, None);
    let moved = object.handle(refresh(&cookie, from("US", 7018, CHROME)), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(moved.events_row, None);
    assert!(matches!(moved.verdict, Verdict::Granted { .. }));
    assert_eq!(object.handle(FamilyCommand::Logout, T0 + secs(2), &config, secret(3)).unwrap().events_row, None);
}

#[test]
fn a_context_change_is_reported_once_with_where_it_was_and_only_for_known_fields() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    let same = object.handle(refresh(&cookie, from("CH", 3303, CHROME)), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(same.events_row, None, "the same context: no write for events");
    let unknown = object.handle(refresh(&cookie, None), T0 + secs(2), &config, secret(3)).unwrap();
    assert_eq!(unknown.events_row, None, "no context: nothing to compare");
    let moved = object.handle(refresh(&cookie, from("US", 7018, CHROME)), T0 + secs(3), &config, secret(4)).unwrap();
    assert!(matches!(moved.verdict, Verdict::Granted { .. }), "ignore (the default): still signed in");
    let change = queued(&object, T0).into_iter().find(|e| e.kind == "session.context_changed").unwrap();
    let previous = change.previous.unwrap();
    assert_eq!((previous.country.as_deref(), change.device.country.as_deref()), (Some("CH"), Some("US")));
    assert_eq!(change.action.as_deref(), Some("none"));
    let again = object.handle(refresh(&cookie, from("US", 7018, CHROME)), T0 + secs(4), &config, secret(5)).unwrap();
    assert_eq!(again.events_row, None, "the new place is the baseline now");
}

#[test]
fn with_on_context_change_end_a_change_ends_the_session_and_says_why() {
    let config = config(&[("ON_CONTEXT_CHANGE", "end")]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
    let moved = object.handle(refresh(&cookie, from("CH", 3303, firefox)), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(moved.verdict, Verdict::Refused { refusal: Refusal::Revoked });
    assert!(moved.row.is_some(), "the revocation is written");
    let kinds: Vec<_> = queued(&object, T0).into_iter().map(|e| (e.kind, e.action, e.by)).collect();
    assert!(kinds.contains(&("session.context_changed".into(), Some("ended".into()), None)));
    assert!(kinds.contains(&("session.revoked".into(), None, Some("context_changed".into()))));
    let after = object.handle(refresh(&cookie, from("CH", 3303, CHROME)), T0 + secs(2), &config, secret(3)).unwrap();
    assert_eq!(after.verdict, Verdict::Refused { refusal: Refusal::Revoked }, "and stays ended");
}

/// What the origin would be told of a granted request: the verdict's `context_changed`,
/// and the access cookie's (the fast path's), which must agree.
fn flagged(handled: &FamilyHandled, config: &Config, now: Timestamp) -> Option<u64> {
    let Verdict::Granted { cookies, context_changed, .. } = &handled.verdict else { panic!("{:?}", handled.verdict) };
    let line = cookies.access.as_ref().expect("an access cookie");
    let value = line.split(';').next().unwrap().strip_prefix(&format!("{ACCESS_COOKIE}=")).unwrap();
    let access = AccessCredential::decode(value, &config.session_keys, now).unwrap();
    assert_eq!(access.context_changed, *context_changed, "the fast path tells the origin what the object does");
    *context_changed
}

#[test]
fn with_on_context_change_flag_a_change_keeps_the_session_and_every_later_grant_says_when() {
    let config = config(&[("ON_CONTEXT_CHANGE", "flag")]);
    let mut object = FamilyObject::loaded(None, T0);
    let (login, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    assert_eq!(flagged(&login, &config, T0), None);
    let same = object.handle(refresh(&cookie, from("CH", 3303, CHROME)), T0 + secs(1), &config, secret(2)).unwrap();
    assert_eq!(flagged(&same, &config, T0 + secs(1)), None, "the same context is not flagged");
    let at = T0 + secs(30);
    let moved = object.handle(refresh(&cookie, from("US", 7018, CHROME)), at, &config, secret(3)).unwrap();
    assert_eq!(flagged(&moved, &config, at), Some(at.as_secs()), "still signed in, and flagged");
    let row = moved.row.as_ref().expect("the flag is written with the family");
    assert_eq!(family_row::decode(row).unwrap().context_changed(), Some(at));
    let change = queued(&object, T0).into_iter().find(|e| e.kind == "session.context_changed").unwrap();
    assert_eq!(change.action.as_deref(), Some("flagged"));
    // Back home, and after a restart (the object reloaded from its row): still flagged,
    // at the time of the change. Only a new login starts without it.
    let mut reloaded = FamilyObject::loaded(Some(family_row::decode(row).unwrap()), at + secs(1));
    let Verdict::Granted { cookies, .. } = &moved.verdict else { panic!() };
    let pair = cookies.refresh.as_ref().unwrap().split(';').next().unwrap();
    let g2 = pair.strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap();
    let later = at + secs(40);
    let home = reloaded.handle(refresh(g2, from("CH", 3303, CHROME)), later, &config, secret(4)).unwrap();
    assert_eq!(flagged(&home, &config, later), Some(at.as_secs()));
}

#[test]
fn under_flag_a_client_flipping_between_browsers_writes_once_per_quarter_hour_and_stays_flagged() {
    let config = config(&[("ON_CONTEXT_CHANGE", "flag")]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
    let first = T0 + secs(1);
    let mut events_writes = 0;
    for i in 0..20 {
        let (ua, now) = (if i % 2 == 0 { firefox } else { CHROME }, first + secs(i));
        let handled = object.handle(refresh(&cookie, from("CH", 3303, ua)), now, &config, secret(2)).unwrap();
        events_writes += usize::from(handled.events_row.is_some());
        assert_eq!(flagged(&handled, &config, now), Some(first.as_secs()), "flagged at the first change, request {i}");
    }
    assert_eq!(events_writes, 1, "the first change only");
    let later = first + edge_session::events::REPEAT_AFTER + secs(30);
    // The baseline is Firefox, the first change's.
    let again = object.handle(refresh(&cookie, from("CH", 3303, CHROME)), later, &config, secret(3)).unwrap();
    assert_eq!(flagged(&again, &config, later), Some(later.as_secs()), "a quarter of an hour on, a change moves it");
}

#[test]
fn reuse_after_grace_reports_the_device_that_presented_it() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, g1) = login(&mut object, &config, from("CH", 3303, CHROME));
    object.handle(refresh(&g1, from("CH", 3303, CHROME)), T0 + secs(1), &config, secret(2)).unwrap();
    let rotated = object.handle(refresh(&g1, from("CH", 3303, CHROME)), T0 + secs(11), &config, secret(3)).unwrap();
    let Verdict::Granted { cookies, .. } = &rotated.verdict else { panic!("rotated") };
    let pair = cookies.refresh.as_ref().unwrap().split(';').next().unwrap();
    let g2 = pair.strip_prefix(&format!("{REFRESH_COOKIE}=")).unwrap();
    // The owner's browser confirms g2: g1 is retired for good.
    object.handle(refresh(g2, from("CH", 3303, CHROME)), T0 + secs(12), &config, secret(5)).unwrap();
    let thief = object.handle(refresh(&g1, from("BR", 28573, CHROME)), T0 + secs(20), &config, secret(4)).unwrap();
    assert_eq!(thief.verdict, Verdict::ReuseDetected { revoked: true });
    let reuse = queued(&object, T0).into_iter().find(|e| e.kind == "session.reuse_detected").unwrap();
    assert_eq!((reuse.revoked, reuse.device.country.as_deref()), (Some(true), Some("BR")));
}

#[test]
fn each_revocation_says_who_asked_and_a_second_one_reports_nothing() {
    let config = config(&[]);
    for (command, by) in [
        (FamilyCommand::Logout, "logout"),
        (FamilyCommand::Revoke { by: RevokedBy::Admin }, "admin"),
        (FamilyCommand::Revoke { by: RevokedBy::Everywhere }, "everywhere"),
        (FamilyCommand::Revoke { by: RevokedBy::Login }, "login"),
    ] {
        let mut object = FamilyObject::loaded(None, T0);
        login(&mut object, &config, from("CH", 3303, CHROME));
        let ended = object.handle(command.clone(), T0 + secs(1), &config, secret(2)).unwrap();
        assert_eq!(ended.verdict, Verdict::Done);
        let revoked = queued(&object, T0).into_iter().find(|e| e.kind == "session.revoked").unwrap();
        assert_eq!(revoked.by.as_deref(), Some(by));
        assert_eq!(revoked.device.browser.as_deref(), Some("Chrome"), "the device it was last seen on");
        let again = object.handle(command, T0 + secs(2), &config, secret(3)).unwrap();
        assert_eq!(again.events_row, None, "{by}: nothing left to end, nothing to report");
    }
}

#[test]
fn an_ended_family_keeps_its_undelivered_events_and_the_alarm_comes_back_for_them() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    login(&mut object, &config, from("CH", 3303, CHROME));
    object.handle(FamilyCommand::Logout, T0 + secs(1), &config, secret(2)).unwrap();
    // The receiver is down: both events wait.
    let now = T0 + secs(2);
    let due = object.due_events(now, &[Transport::Webhook]);
    assert_eq!(due.len(), 2);
    let failed: Vec<_> = due.iter().map(|d| (d.event.jti.clone(), Vec::new())).collect();
    object.events_delivered(&failed, &[Transport::Webhook], now);
    let AlarmStep::Unregister { .. } = object.on_alarm(now, &config.policy) else { panic!("a revoked family ends") };
    let after = object.after_unregister(true, now, &config.policy);
    assert_eq!(after, AfterUnregister::KeepEvents { at: now + secs(2) });
    assert!(object.family().is_none());
    assert_eq!(object.next_alarm(&config.policy, now), Some(now + secs(2)));
    // Delivered: nothing left, nothing to come back for.
    let due = object.due_events(now + secs(2), &[Transport::Webhook]);
    let took: Vec<_> = due.iter().map(|d| (d.event.jti.clone(), vec![Transport::Webhook])).collect();
    object.events_delivered(&took, &[Transport::Webhook], now + secs(2));
    assert_eq!(object.next_alarm(&config.policy, now + secs(2)), None);
}

#[test]
fn a_later_write_never_pushes_an_undelivered_event_back_to_the_family_deadline() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    // The first delivery failed: the next attempt is 2 s on.
    let due = object.due_events(T0, &[Transport::Webhook]);
    object.events_delivered(&[(due[0].event.jti.clone(), Vec::new())], &[Transport::Webhook], T0);
    // The first refresh confirms the login: the family is written, and arms the alarm.
    let confirm = object.handle(refresh(&cookie, from("CH", 3303, CHROME)), T0 + secs(1), &config, secret(2)).unwrap();
    assert!(confirm.row.is_some());
    assert_eq!(confirm.alarm, Some(T0 + secs(2)), "the retry, not the idle deadline");
}

#[test]
fn a_client_flipping_between_networks_costs_one_event_and_one_write_per_quarter_hour() {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let (_, cookie) = login(&mut object, &config, from("CH", 3303, CHROME));
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:145.0) Gecko/20100101 Firefox/145.0";
    let mut writes = 0;
    for i in 0..100 {
        let ua = if i % 2 == 0 { firefox } else { CHROME };
        let handled =
            object.handle(refresh(&cookie, from("CH", 3303, ua)), T0 + secs(1 + i), &config, secret(2)).unwrap();
        writes += usize::from(handled.events_row.is_some());
    }
    assert_eq!(writes, 1, "the first change only");
    let changes =
        |object: &FamilyObject| queued(object, T0).into_iter().filter(|e| e.kind == "session.context_changed").count();
    assert_eq!(changes(&object), 1);
    let later = T0 + edge_session::events::REPEAT_AFTER + secs(200);
    object.handle(refresh(&cookie, from("CH", 3303, CHROME)), later, &config, secret(3)).unwrap();
    assert_eq!(changes(&object), 2, "a quarter of an hour on, a change is news again");
}
