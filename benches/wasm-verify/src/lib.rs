//! `verify(n)`: checks one ES256 signature `n` times with the `p256` the worker uses, and
//! returns how many verified (all of them, or the bench is wrong). No imports, so a bare
//! `WebAssembly.instantiate` runs it in V8, the engine workerd runs the worker in.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};

/// A proof's signing input is ~150 bytes of base64url header and payload.
const MESSAGE: &[u8] = b"eyJhbGciOiJFUzI1NiIsInR5cCI6ImRic2Mrand0In0.eyJqdGkiOiJjMS5rMS4xNzAwMDAwMDAwMDAwLkFBQUFBQUFBQUFBQUFBQUFBQUFBQUEuQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBIn0";

/// Verifies `n` times; the key and signature are made once, outside the timed loop's cost.
#[unsafe(no_mangle)]
pub extern "C" fn verify(n: u32) -> u32 {
    let signing = SigningKey::from_bytes(&[7u8; 32].into()).expect("a valid scalar");
    let signature: Signature = signing.sign(MESSAGE);
    let key = *signing.verifying_key();
    (0..n).filter(|_| key.verify(MESSAGE, &signature).is_ok()).count() as u32
}
