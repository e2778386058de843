//! ES256 assertions signed by the runtime's WebCrypto (`crypto.subtle`), natively: the
//! same signature `p256` makes in the core, without running P-256 arithmetic in wasm on
//! every identified request (BENCHMARKS.md: the fast path's cost with ES256 on).
//!
//! The key is imported once per isolate, non-extractable, and kept with the PKCS#8 bytes
//! it came from, so a configuration with another key imports again. WebCrypto's ECDSA
//! signature is already the 64-byte `r || s` that JWS wants (RFC 7518 §3.4). Should the
//! runtime refuse (it does not, but the request must not fail for it), `p256` signs.

use std::cell::RefCell;

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;

use crate::crypto::assertion_keys::AssertionKeys;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = importKey, catch)]
    fn import_key(
        format: &str,
        der: &Uint8Array,
        algorithm: &Object,
        extractable: bool,
        usages: &Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = ["crypto", "subtle"], js_name = sign, catch)]
    fn subtle_sign(algorithm: &Object, key: &JsValue, data: &Uint8Array) -> Result<Promise, JsValue>;
}

thread_local! {
    /// The imported signing key, and the PKCS#8 it was imported from.
    static KEY: RefCell<Option<(Vec<u8>, JsValue)>> = const { RefCell::new(None) };
}

/// `claims` as a compact ES256 JWS of type `typ`, signed with the ring's first key.
pub(crate) async fn sign(keys: &AssertionKeys, typ: &str, claims: &impl serde::Serialize) -> String {
    let input = keys.signing_input(typ, claims);
    match subtle_signature(keys.signing_pkcs8(), input.as_bytes()).await {
        Ok(signature) if signature.len() == 64 => AssertionKeys::finish(input, &signature),
        _ => keys.sign(typ, claims),
    }
}

async fn subtle_signature(pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let key = imported(pkcs8).await?;
    let algorithm = algorithm(&[("name", "ECDSA"), ("hash", "SHA-256")])?;
    let signature = JsFuture::from(subtle_sign(&algorithm, &key, &Uint8Array::from(data))?).await?;
    Ok(Uint8Array::new(&signature).to_vec())
}

async fn imported(pkcs8: &[u8]) -> Result<JsValue, JsValue> {
    let cached = KEY.with(|k| k.borrow().as_ref().filter(|(der, _)| der == pkcs8).map(|(_, key)| key.clone()));
    if let Some(key) = cached {
        return Ok(key);
    }
    let algorithm = algorithm(&[("name", "ECDSA"), ("namedCurve", "P-256")])?;
    let usages = Array::of1(&JsValue::from_str("sign"));
    let key = JsFuture::from(import_key("pkcs8", &Uint8Array::from(pkcs8), &algorithm, false, &usages)?).await?;
    KEY.with(|k| *k.borrow_mut() = Some((pkcs8.to_vec(), key.clone())));
    Ok(key)
}

fn algorithm(fields: &[(&str, &str)]) -> Result<Object, JsValue> {
    let object = Object::new();
    for (name, value) in fields {
        Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value))?;
    }
    Ok(object)
}
