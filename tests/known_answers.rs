//! Known-answer tests from published vectors, kept in files named after their source
//! (as RustCrypto's `hmac/tests` does): `vectors/rfc4231.txt` for HMAC-SHA256 and
//! `vectors/rfc7515-a1.txt` for the HS256 JWS example. Every assertion names the vector.
//!
//! File format: `[name]` opens a vector, `Field = value` lines fill it, `#` starts a
//! comment line.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use edge_session::crypto::jws::{self, Expect, JwsError};
use edge_session::crypto::{Key, KeyRing};
use edge_session::time::Timestamp;

struct Vector {
    name: String,
    fields: Vec<(String, String)>,
}

impl Vector {
    fn get(&self, field: &str) -> &str {
        self.fields
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("vector {}: no `{field}` field", self.name))
    }

    fn hex(&self, field: &str) -> Vec<u8> {
        let text = self.get(field);
        assert!(text.len().is_multiple_of(2), "vector {}: `{field}` has an odd number of hex digits", self.name);
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("vector {}: `{field}` is not hex: {e}", self.name))
    }

    fn b64(&self, field: &str) -> Vec<u8> {
        B64.decode(self.get(field)).unwrap_or_else(|e| panic!("vector {}: `{field}` is not base64url: {e}", self.name))
    }

    /// A field written as a JSON string literal, for octets with CR/LF in them.
    fn json_string(&self, field: &str) -> String {
        serde_json::from_str(self.get(field))
            .unwrap_or_else(|e| panic!("vector {}: `{field}` is not a JSON string: {e}", self.name))
    }
}

fn load(file: &str) -> Vec<Vector> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut vectors: Vec<Vector> = Vec::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            vectors.push(Vector { name: format!("{file} [{name}]"), fields: Vec::new() });
            continue;
        }
        let (field, value) =
            line.split_once('=').unwrap_or_else(|| panic!("{file}:{number}: expected `Field = value`"));
        let vector = vectors.last_mut().unwrap_or_else(|| panic!("{file}:{number}: field before any [vector]"));
        vector.fields.push((field.trim().to_owned(), value.trim().to_owned()));
    }
    vectors
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn rfc4231_hmac_sha256() {
    let vectors = load("rfc4231.txt");
    assert_eq!(vectors.len(), 7, "RFC 4231 has test cases 1-7");
    for v in &vectors {
        let key = Key::from_bytes("rfc4231", &v.hex("Key"));
        let data = v.hex("Data");
        let expected = v.hex("HMAC-SHA-256");
        // Test case 5 prints only the leading 128 bits; compare that prefix.
        assert!(matches!(expected.len(), 16 | 32), "{}: expected output is {} bytes", v.name, expected.len());
        let mac = key.mac(&[&data]);
        assert_eq!(hex(&mac[..expected.len()]), hex(&expected), "{}: HMAC-SHA-256 mismatch", v.name);
        let (left, right) = data.split_at(data.len() / 2);
        assert_eq!(key.mac(&[left, right]), mac, "{}: MAC over parts differs from MAC over the whole", v.name);
        if expected.len() == 32 {
            assert!(key.verify(&[&data], &expected), "{}: verify refused the published tag", v.name);
        }
    }
}

#[test]
fn rfc7515_a1_encodings_are_the_published_octets() {
    let [v] = &load("rfc7515-a1.txt")[..] else { panic!("rfc7515-a1.txt holds one vector") };
    assert_eq!(B64.encode(v.json_string("Protected-Header")), v.get("Encoded-Header"), "{}: header", v.name);
    assert_eq!(B64.encode(v.json_string("Payload")), v.get("Encoded-Payload"), "{}: payload", v.name);
    let octets: Vec<u8> = v.get("Signature-Octets").split(',').map(|o| o.trim().parse().unwrap()).collect();
    assert_eq!(v.b64("Signature"), octets, "{}: signature octets", v.name);
    let compact = format!("{}.{}.{}", v.get("Encoded-Header"), v.get("Encoded-Payload"), v.get("Signature"));
    assert_eq!(compact, v.get("Compact"), "{}: compact serialization", v.name);
}

#[test]
fn rfc7515_a1_signature_is_hmac_over_the_signing_input() {
    let [v] = &load("rfc7515-a1.txt")[..] else { panic!("rfc7515-a1.txt holds one vector") };
    let key = Key::from_bytes("a1", &v.b64("k"));
    let signing_input = format!("{}.{}", v.get("Encoded-Header"), v.get("Encoded-Payload"));
    let signature = v.b64("Signature");
    assert_eq!(key.mac(&[signing_input.as_bytes()]).to_vec(), signature, "{}: signature", v.name);
    assert!(key.verify(&[signing_input.as_bytes()], &signature), "{}: verify", v.name);
    for i in 0..signature.len() {
        let mut flipped = signature.clone();
        flipped[i] ^= 0x01;
        assert!(!key.verify(&[signing_input.as_bytes()], &flipped), "{}: byte {i} flipped still verifies", v.name);
    }
}

/// End to end through `jws::verify` with the RFC's binary key: the genuine token (CRLFs
/// in its header, no `kid`, no `aud`) passes every header rule and the MAC, then stops
/// at the audience check; one flipped signature byte stops at the MAC; a `typ` refusal
/// comes before the MAC.
#[test]
fn rfc7515_a1_verifies_through_jws_verify() {
    let [v] = &load("rfc7515-a1.txt")[..] else { panic!("rfc7515-a1.txt holds one vector") };
    let exp: u64 = v.get("exp").parse().unwrap();
    let before_exp = Timestamp::from_secs(exp - 60);
    let ring = KeyRing::from_keys(vec![Key::from_bytes("a1", &v.b64("k"))]).unwrap();
    let as_jwt = Expect { typ: "JWT", aud: "anyone", max_lifetime_secs: None };
    let token = v.get("Compact");
    assert_eq!(jws::verify(token, &ring, &as_jwt, before_exp), Err(JwsError::WrongAudience), "{}", v.name);
    let mut flipped = token.as_bytes().to_vec();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(jws::verify(&flipped, &ring, &as_jwt, before_exp), Err(JwsError::BadSignature), "{}", v.name);
    let as_login = Expect { typ: "edge-login+jwt", ..as_jwt };
    assert_eq!(jws::verify(token, &ring, &as_login, before_exp), Err(JwsError::WrongType), "{}", v.name);
}
