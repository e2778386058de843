//! What one request costs in the pure core: reading the `Cookie` header, the edge's fast
//! path (access cookie), the refresh-cookie check before a Durable Object call, the
//! object's decision, and the JWS work on each forwarded request and each login; the
//! outcome counter every request pays, the per-user index at its bound, and a DBSC
//! refresh proof as the family's object checks it.
//!
//! Run: `cargo bench --bench core -- --warm-up-time 1 --measurement-time 3`. Benches
//! build with the release profile (`opt-level = "s"`, LTO), as the worker ships.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use edge_session::config::Policy;
use edge_session::crypto::assertion_keys::AssertionKeys;
use edge_session::crypto::es256::PublicKey;
use edge_session::crypto::{KeyRing, base64url};
use edge_session::dbsc::Proof;
use edge_session::dbsc::challenge::{self, Purpose};
use edge_session::metrics::{OutcomeCounters, RequestOutcome};
use edge_session::origin::{AdminAction, AdminRequest, session_list};
use edge_session::origin::{Assertion, Login, RequestNonce};
use edge_session::session::{
    ACCESS_COOKIE, AccessCredential, FamilyId, Identity, REFRESH_COOKIE, RefreshCredential, RefreshSecret,
};
use edge_session::session::{Family, Outcome, SessionState};
use edge_session::session::{edge_cookies, strip_edge_cookies};
use edge_session::time::Timestamp;
use edge_session::users::{FamilyEntry, MAX_FAMILIES, UserIndex};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

const T0: u64 = 1_700_000_000;

fn keys() -> KeyRing {
    KeyRing::parse("k1:0123456789abcdef0123456789abcdef").unwrap()
}

fn origin_secret() -> KeyRing {
    KeyRing::parse("o1:fedcba9876543210fedcba9876543210").unwrap()
}

/// A P-256 key made for this benchmark only (PKCS#8 DER, base64url).
const P256_PKCS8: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQguIYSJrGQB6Xr7KQFTONGCuu1jNG1K7cVJlGRUazBoPGhRANCAASAlEMqS806ithe5aS0FxSZX1uVEoFEC_nMG5aNBdEGFLhARdzs4cDNWAJDYnvZ7lpgl0614GTVCjwdO35EKQH0";

fn identity() -> Identity {
    let ctx = serde_json::json!({"role": "admin", "tenant": "acme"});
    Identity { sub: "user-1234567890".into(), ctx: ctx.as_object().cloned(), auth_time: None, amr: None }
}

fn state_of(decision: &edge_session::session::Decision) -> SessionState {
    match &decision.outcome {
        Outcome::Authenticated(grant) => grant.state,
        other => panic!("bench set-up expected an identity, got {other:?}"),
    }
}

fn cookies(c: &mut Criterion) {
    let keys = keys();
    let now = Timestamp::from_secs(T0);
    let family = FamilyId::from_bytes([1; 16]);

    let access = AccessCredential::new(&identity(), family, now, now + Duration::from_secs(60)).encode(&keys);
    c.bench_function("access_cookie/decode", |b| {
        b.iter(|| AccessCredential::decode(black_box(&access), &keys, now).unwrap())
    });

    let refresh =
        RefreshCredential { family, generation: 42, secret: RefreshSecret::from_bytes([9; 32]) }.encode(&keys);
    c.bench_function("refresh_cookie/decode", |b| {
        b.iter(|| RefreshCredential::decode(black_box(&refresh), &keys).unwrap())
    });
}

/// A page's `Cookie` header: `n` analytics cookies with the edge's two in the middle.
fn header_with(n: usize, access: &str, refresh: &str) -> String {
    let mut pairs: Vec<String> = (0..n).map(|i| format!("_ga_{i}=GA1.2.{i}.1700000000")).collect();
    pairs.insert(n / 2, format!("{ACCESS_COOKIE}={access}"));
    pairs.insert(n / 2, format!("{REFRESH_COOKIE}={refresh}"));
    pairs.join("; ")
}

/// The reader and the forwarding filter, beside the access-cookie check they come with,
/// and beside the `cookie` crate's splitter the edge used before (which trims Unicode
/// whitespace, and which the edge stopped after 64 pairs).
fn cookie_header(c: &mut Criterion) {
    let keys = keys();
    let now = Timestamp::from_secs(T0);
    let family = FamilyId::from_bytes([1; 16]);
    let access = AccessCredential::new(&identity(), family, now, now + Duration::from_secs(60)).encode(&keys);
    let refresh =
        RefreshCredential { family, generation: 42, secret: RefreshSecret::from_bytes([9; 32]) }.encode(&keys);
    for n in [3, 60, 150] {
        let header = header_with(n, &access, &refresh);
        assert_eq!(edge_cookies(&header).access, Some(access.as_str()));
        c.bench_function(&format!("cookie_header/read_{n}"), |b| b.iter(|| edge_cookies(black_box(&header))));
        c.bench_function(&format!("cookie_header/strip_{n}"), |b| b.iter(|| strip_edge_cookies(black_box(&header))));
        if n <= 60 {
            c.bench_function(&format!("cookie_header/cookie_crate_read_{n}"), |b| {
                b.iter(|| {
                    cookie::Cookie::split_parse(black_box(header.as_str()))
                        .filter_map(Result::ok)
                        .filter(|c| c.name() == ACCESS_COOKIE)
                        .count()
                })
            });
        }
    }
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
    let assertion = Assertion::new(
        &identity(),
        FamilyId::from_bytes([1; 16]),
        SessionState::Fresh.as_str(),
        "origin",
        now,
        [7; 16],
    );
    let token = assertion.sign(&origin);

    c.bench_function("assertion/sign", |b| b.iter(|| black_box(&assertion).sign(&origin)));
    c.bench_function("assertion/verify", |b| {
        b.iter(|| Assertion::verify(black_box(&token), &origin, "origin", now).unwrap())
    });
    c.bench_function("assertion/sign+verify", |b| {
        b.iter(|| Assertion::verify(&black_box(&assertion).sign(&origin), &origin, "origin", now).unwrap())
    });
    // ASSERTION_ALG=ES256: p256's deterministic ECDSA, beside HS256's sign above.
    let es256 = AssertionKeys::parse(&format!("a1:{P256_PKCS8}")).unwrap();
    c.bench_function("assertion/sign_es256", |b| b.iter(|| es256.sign("JWT", black_box(&assertion))));

    let nonce = RequestNonce::from_bytes([5; 16]);
    let login =
        Login { sub: "user-1234567890".into(), remember: true, ctx: identity().ctx, amr: None, auth_time: None }.sign(
            &origin,
            now,
            nonce.as_str(),
        );
    c.bench_function("login/verify", |b| b.iter(|| Login::verify(black_box(&login), &origin, now, &nonce).unwrap()));
}

/// What every request pays for the outcome counter, and an admin call or login
/// (a full user index of MAX_FAMILIES entries).
fn sessions(c: &mut Criterion) {
    let now = Timestamp::from_secs(T0);
    let mut counters = OutcomeCounters::new(Duration::from_secs(60));
    c.bench_function("metrics/record", |b| b.iter(|| counters.record(black_box(RequestOutcome::Access), false, now)));

    let policy = Policy::default();
    let full = || {
        let mut index = UserIndex::default();
        for n in 0..MAX_FAMILIES as u32 {
            let mut id = [0; 16];
            id[..4].copy_from_slice(&n.to_le_bytes());
            let entry = FamilyEntry::new(
                FamilyId::from_bytes(id),
                now,
                false,
                Some("Mozilla/5.0 (X11; Linux x86_64)"),
                Some("CH"),
            );
            index.register(entry, now, &policy);
        }
        index
    };
    let newcomer = FamilyEntry::new(FamilyId::from_bytes([0xff; 16]), now, true, Some("Phone/1.0"), None);
    c.bench_function("user_index/register_into_full", |b| {
        b.iter_batched(full, |mut index| index.register(newcomer.clone(), now, &policy), BatchSize::SmallInput)
    });
    let index = full();
    c.bench_function("user_index/list_full_as_json", |b| {
        b.iter(|| {
            let mut index = index.clone();
            session_list("user-1", &index.live_families(now, &policy)).to_string()
        })
    });
    let stored = serde_json::to_string(&index).unwrap();
    c.bench_function("user_index/load_full", |b| {
        b.iter(|| serde_json::from_str::<UserIndex>(black_box(&stored)).unwrap())
    });

    let admin =
        AdminRequest { sub: "user-1".into(), action: AdminAction::List, issued_at: now, jti: "bench-token-1".into() }
            .sign(&origin_secret());
    c.bench_function("admin/verify", |b| {
        b.iter(|| AdminRequest::verify(black_box(&admin), &origin_secret(), now).unwrap())
    });
}

/// A DBSC proof as Chromium sends it, signed with a fixed key.
fn dbsc_proof(jti: &str, with_jwk: bool) -> (String, PublicKey) {
    let signing = SigningKey::from_bytes(&[7u8; 32].into()).unwrap();
    let point = signing.verifying_key().to_encoded_point(false);
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": base64url::encode(point.x().unwrap()), "y": base64url::encode(point.y().unwrap())});
    let mut header = serde_json::json!({"alg": "ES256", "typ": "dbsc+jwt"});
    if with_jwk {
        header["jwk"] = jwk.clone();
    }
    let input = format!(
        "{}.{}",
        base64url::encode(header.to_string()),
        base64url::encode(serde_json::json!({"jti": jti}).to_string())
    );
    let signature: Signature = signing.sign(input.as_bytes());
    (format!("{input}.{}", base64url::encode(signature.to_bytes())), PublicKey::from_jwk(&jwk).unwrap())
}

/// A refresh proof as the family's object checks it: parse, the challenge, the signature.
fn dbsc(c: &mut Criterion) {
    let keys = keys();
    let now = Timestamp::from_secs(T0);
    let family = FamilyId::from_bytes([1; 16]);
    let challenge = challenge::mint(Purpose::Refresh, family, now, [3; 16], &keys);
    let (refresh, key) = dbsc_proof(&challenge, false);
    let (registration, _) = dbsc_proof(&challenge, true);
    c.bench_function("dbsc/challenge_mint", |b| {
        b.iter(|| challenge::mint(Purpose::Refresh, black_box(family), now, [3; 16], &keys))
    });
    c.bench_function("dbsc/challenge_check", |b| {
        b.iter(|| challenge::check(black_box(&challenge), Purpose::Refresh, family, &keys, now).unwrap())
    });
    c.bench_function("dbsc/parse_registration", |b| b.iter(|| Proof::parse(black_box(&registration)).unwrap()));
    c.bench_function("dbsc/refresh_proof_check", |b| {
        b.iter(|| {
            let proof = Proof::parse(black_box(&refresh)).unwrap();
            challenge::check(&proof.jti, Purpose::Refresh, family, &keys, now).unwrap();
            assert!(proof.signed_by(&key));
        })
    });
}

criterion_group!(benches, cookie_header, cookies, decisions, jws, sessions, dbsc);
criterion_main!(benches);
