//! What one request costs in the pure core: the edge's fast path (access cookie), the
//! refresh-cookie check before a Durable Object call, the object's decision, and the
//! JWS work on each forwarded request and each login.
//!
//! Run: `cargo bench --bench core -- --warm-up-time 1 --measurement-time 3`. Benches
//! build with the release profile (`opt-level = "s"`, LTO), as the worker ships.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use edge_session::config::Policy;
use edge_session::credential::{AccessCredential, FamilyId, Identity, RefreshCredential, RefreshSecret};
use edge_session::directive::{Assertion, Login};
use edge_session::family::{Family, Outcome, SessionState};
use edge_session::keys::KeyRing;
use edge_session::time::Timestamp;

const T0: u64 = 1_700_000_000;

fn keys() -> KeyRing {
    KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
}

fn origin_secret() -> KeyRing {
    KeyRing::parse("o1:fedcba9876543210fedcba9876543210").unwrap()
}

fn identity() -> Identity {
    let ctx = serde_json::json!({"role": "admin", "tenant": "acme"});
    Identity { sub: "user-1234567890".into(), ctx: ctx.as_object().cloned() }
}

fn state_of(decision: &edge_session::family::Decision) -> SessionState {
    match &decision.outcome {
        Outcome::Authenticated(grant) => grant.state,
        other => panic!("bench set-up expected an identity, got {other:?}"),
    }
}

fn cookies(c: &mut Criterion) {
    let keys = keys();
    let now = Timestamp::from_secs(T0);
    let family = FamilyId::from_bytes([1; 16]);

    let access = AccessCredential::new(&identity(), family, now + Duration::from_secs(60)).encode(&keys);
    c.bench_function("access_cookie/decode", |b| {
        b.iter(|| AccessCredential::decode(black_box(&access), &keys, now).unwrap())
    });

    let refresh =
        RefreshCredential { family, generation: 42, secret: RefreshSecret::from_bytes([9; 32]) }.encode(&keys);
    c.bench_function("refresh_cookie/decode", |b| {
        b.iter(|| RefreshCredential::decode(black_box(&refresh), &keys).unwrap())
    });
}

fn decisions(c: &mut Criterion) {
    let policy = Policy::default();
    let t0 = Timestamp::from_secs(T0);
    let fresh_secret = RefreshSecret::from_bytes([3; 32]);
    let (family, login) = Family::login(
        FamilyId::from_bytes([1; 16]),
        identity(),
        false,
        t0,
        RefreshSecret::from_bytes([2; 32]),
        &policy,
    );
    let g1 = login.refresh.unwrap();

    // The current credential, not due: no hashing, and no state change after the first
    // call (confirmation), so one family is reused.
    let mut current = family.clone();
    let not_due = t0 + Duration::from_secs(60);
    assert_eq!(state_of(&current.handle_refresh(&g1, not_due, &policy, fresh_secret.clone())), SessionState::Fresh);
    let settled = current.clone();
    c.bench_function("family/fresh", |b| {
        b.iter(|| current.handle_refresh(black_box(&g1), not_due, &policy, fresh_secret.clone()))
    });
    assert_eq!(current, settled, "the fresh path changed state; the bench measured something else");

    // Due: rotates (hashes the retiring secret); a fresh clone per iteration.
    let due = t0 + policy.rotate_after;
    assert_eq!(
        state_of(&family.clone().handle_refresh(&g1, due, &policy, fresh_secret.clone())),
        SessionState::Rotated
    );
    c.bench_function("family/rotate", |b| {
        b.iter_batched(
            || (family.clone(), fresh_secret.clone()),
            |(mut f, secret)| {
                let decision = f.handle_refresh(black_box(&g1), due, &policy, secret);
                (f, decision)
            },
            BatchSize::SmallInput,
        )
    });

    // The retired credential right after the rotation: a grace alias (hashes the
    // presented secret to compare with the retired digest).
    let mut rotated = family.clone();
    rotated.handle_refresh(&g1, due, &policy, fresh_secret.clone());
    let racing = due + Duration::from_millis(200);
    assert_eq!(state_of(&rotated.handle_refresh(&g1, racing, &policy, fresh_secret.clone())), SessionState::GraceAlias);
    c.bench_function("family/grace_alias", |b| {
        b.iter(|| rotated.handle_refresh(black_box(&g1), racing, &policy, fresh_secret.clone()))
    });
}

fn jws(c: &mut Criterion) {
    let origin = origin_secret();
    let now = Timestamp::from_secs(T0);
    let assertion =
        Assertion::new(&identity(), FamilyId::from_bytes([1; 16]), SessionState::Fresh, "origin", now, [7; 16]);
    let token = assertion.sign(&origin);

    c.bench_function("assertion/sign", |b| b.iter(|| black_box(&assertion).sign(&origin)));
    c.bench_function("assertion/verify", |b| {
        b.iter(|| Assertion::verify(black_box(&token), &origin, "origin", now).unwrap())
    });
    c.bench_function("assertion/sign+verify", |b| {
        b.iter(|| Assertion::verify(&black_box(&assertion).sign(&origin), &origin, "origin", now).unwrap())
    });

    let login = Login { sub: "user-1234567890".into(), remember: true, ctx: identity().ctx }.sign(&origin, now);
    c.bench_function("login/verify", |b| b.iter(|| Login::verify(black_box(&login), &origin, now).unwrap()));
}

criterion_group!(benches, cookies, decisions, jws);
criterion_main!(benches);
