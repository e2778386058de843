//! Step-ups against the family's rules, in the sequences the second attacker review built:
//! a step-up must never cost the owner the session (a queued tab two generations behind, a
//! lost step-up answer, a re-delivery still landing after the object restarted). Each
//! case is run with and without the step-up, so the step-up is what is tested.

use std::time::Duration;

use edge_session::config::{Config, Policy};
use edge_session::messages::{FamilyCommand, Verdict};
use edge_session::objects::FamilyObject;
use edge_session::session::{
    Family, FamilyId, Identity, Outcome, RefreshCredential, RefreshSecret, SessionState, family_row, may_set_refresh,
};
use edge_session::time::Timestamp;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn secret(n: u8) -> RefreshSecret {
    RefreshSecret::from_bytes([n; 32])
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn config(extra: &[(&str, &str)]) -> Config {
    Config::from_vars(|name| match name {
        "SESSION_KEYS" => Some("k1:0123456789abcdef0123456789abcdef".into()),
        "ORIGIN_SECRET" => Some("o1:fedcba9876543210fedcba9876543210".into()),
        _ => extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()),
    })
    .unwrap()
}

fn login(policy: &Policy) -> (Family, RefreshCredential) {
    let ada = Identity { sub: "ada".into(), ctx: None, auth_time: None, amr: None };
    let (family, grant) = Family::login(FamilyId::from_bytes([1; 16]), ada, false, T0, secret(1), policy);
    (family, grant.refresh.unwrap())
}

fn authenticated(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Authenticated(_))
}

/// A rotation whose answer was slow (29 s, within the slow rule), a request queued with the
/// old credential just before the new one landed (22 s in the browser's queue), and a
/// step-up between: the queued request must still be the user, as without the step-up.
fn queued_tab_after(step_up: bool) -> Outcome {
    let config = config(&[("ACCESS_TTL_SECS", "0")]);
    let policy = &config.policy;
    let (mut family, g1) = login(policy);
    family.handle_refresh(&g1, T0 + secs(1), policy, secret(9));
    let rotation = T0 + secs(900);
    let Outcome::Authenticated(rotated) = family.handle_refresh(&g1, rotation, policy, secret(2)).outcome else {
        panic!("due")
    };
    let g2 = rotated.refresh.unwrap();
    assert!(may_set_refresh(rotation, rotation + secs(29), policy));
    family.handle_refresh(&g2, rotation + Duration::from_millis(29_500), policy, secret(8));
    if step_up {
        family.step_up(None, rotation + Duration::from_millis(30_600), policy, secret(3)).unwrap();
    }
    family.handle_refresh(&g1, rotation + secs(50), policy, secret(4)).outcome
}

#[test]
fn a_step_up_while_the_previous_credential_is_in_grace_leaves_no_one_two_generations_behind() {
    assert!(authenticated(&queued_tab_after(false)));
    assert!(authenticated(&queued_tab_after(true)), "{:?}", queued_tab_after(true));
}

/// Step-ups on a generation never presented back, each answer lost: the login's cookie,
/// still in the owner's jar, must be recovered.
fn owner_after_lost_step_ups(grace: &str, at: &[u64]) -> Outcome {
    let config = config(&[("GRACE_SECS", grace)]);
    let policy = &config.policy;
    let (mut family, s0) = login(policy);
    for (i, t) in at.iter().enumerate() {
        family.step_up(Some(vec!["pwd".into()]), T0 + secs(*t), policy, secret(10 + i as u8)).unwrap();
    }
    family.handle_refresh(&s0, T0 + secs(70), policy, secret(30)).outcome
}

#[test]
fn lost_step_up_answers_never_leave_the_owner_unrecoverable() {
    for at in [&[15][..], &[15, 30], &[20, 31, 62]] {
        let grace = if at.len() == 3 { "30" } else { "10" };
        let outcome = owner_after_lost_step_ups(grace, at);
        assert!(authenticated(&outcome), "step-ups at {at:?}: {outcome:?}");
    }
}

fn refresh_of(verdict: &Verdict, config: &Config) -> Option<RefreshCredential> {
    let Verdict::Granted { cookies, .. } = verdict else { return None };
    let pair = cookies.refresh.as_ref()?.split(';').next()?;
    RefreshCredential::decode(pair.split_once('=')?.1, &config.session_keys).ok()
}

fn presenting(credential: &RefreshCredential, config: &Config) -> FamilyCommand {
    FamilyCommand::Refresh { cookie: credential.encode(&config.session_keys), skipped: None, context: None }
}

/// A grace-alias re-delivery (never written) whose answer is slow, the object restarted
/// from storage, then a step-up: the late answer must not push the owner's jar behind a
/// credential the step-up made.
fn owner_after_restart(restart: bool) -> (bool, Verdict) {
    let config = config(&[]);
    let mut object = FamilyObject::loaded(None, T0);
    let login = FamilyCommand::Login {
        family: FamilyId::from_bytes([1; 16]),
        sub: "ada".into(),
        ctx: None,
        remember: false,
        dbsc_offered: false,
        context: None,
        amr: None,
        auth_time: None,
    };
    let g1 = refresh_of(&object.handle(login, T0, &config, secret(1)).unwrap().verdict, &config).unwrap();
    object.handle(presenting(&g1, &config), T0 + secs(61), &config, secret(9)).unwrap();
    let t = T0 + secs(1000);
    let rotated = object.handle(presenting(&g1, &config), t, &config, secret(2)).unwrap();
    let row = rotated.row.clone().unwrap();
    let alias = object.handle(presenting(&g1, &config), t + secs(20), &config, secret(3)).unwrap();
    let late = refresh_of(&alias.verdict, &config).unwrap(); // lands at t + 49 s
    if restart {
        object = FamilyObject::loaded(Some(family_row::decode(&row).unwrap()), t + secs(25));
    }
    let step_up = FamilyCommand::StepUp { sub: "ada".into(), amr: None };
    let stepped = object.handle(step_up, t + secs(31), &config, secret(4)).unwrap();
    let new_credential = refresh_of(&stepped.verdict, &config).is_some();
    // The late answer lands after the step-up's: the jar holds what it carried. The owner
    // comes back after half an hour, past recovery, within the idle limit.
    let next = object.handle(presenting(&late, &config), t + secs(31 + 1850), &config, secret(5)).unwrap();
    (new_credential, next.verdict)
}

#[test]
fn after_a_restart_a_step_up_waits_for_re_deliveries_that_may_still_land() {
    for restart in [false, true] {
        let (new_credential, next) = owner_after_restart(restart);
        assert!(!new_credential, "held (restart: {restart})");
        assert!(matches!(next, Verdict::Granted { state: SessionState::Rotated, .. }), "restart {restart}: {next:?}");
    }
}
