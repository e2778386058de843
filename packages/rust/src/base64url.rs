//! Base64url without padding (RFC 4648 §5), the one encoding of every credential, token
//! and id the edge writes: safe in cookie values, headers and URLs without escaping.
//!
//! ```
//! use edge_session_origin::base64url;
//! let text = base64url::encode([0xfb; 4]);
//! assert_eq!(text, "-_v7-w");
//! assert_eq!(base64url::decode_fixed::<4>(&text), Some([0xfb; 4]));
//! assert_eq!(base64url::decode_fixed::<4>("-_v7-w=="), None, "padding is not canonical");
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `bytes` as base64url text, no padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of base64url text; `None` for anything else (padding included).
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Exactly `N` bytes from their canonical base64url text, or `None`: a length check first,
/// so an oversized value is refused before it is decoded.
pub fn decode_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != (N * 4).div_ceil(3) {
        return None;
    }
    decode(text)?.try_into().ok()
}
