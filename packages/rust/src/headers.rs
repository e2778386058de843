//! The headers of the edge ↔ origin hop, and the `X-Edge-User` encoding.
//!
//! ```
//! use edge_session_origin::{decode_user, encode_user};
//! assert_eq!(encode_user("zoë ada"), "zo%C3%AB%20ada");
//! assert_eq!(decode_user("zo%C3%AB%20ada").as_deref(), Some("zoë ada"));
//! ```

/// The user, [encoded](encode_user); a convenience beside the assertion.
pub const USER_HEADER: &str = "X-Edge-User";
/// The family's id (`sid`).
pub const SESSION_HEADER: &str = "X-Edge-Session";
/// `fresh`, `rotated`, `grace` or `recovered` on an identified request; on an anonymous
/// one, why the edge refused its cookie (`ended`, `expired`, `reused`, `device_bound`,
/// `invalid`).
pub const STATE_HEADER: &str = "X-Edge-Session-State";
/// The signed [`Assertion`](crate::Assertion).
pub const ASSERTION_HEADER: &str = "X-Edge-Assertion";
/// The origin's [`Login`](crate::Login) directive.
pub const LOGIN_HEADER: &str = "X-Edge-Login";
/// The origin's [`Logout`](crate::Logout) directive.
pub const LOGOUT_HEADER: &str = "X-Edge-Logout";
/// The origin's [`StepUp`](crate::StepUp) directive.
pub const STEP_UP_HEADER: &str = "X-Edge-Step-Up";
/// The [`RequestNonce`](crate::RequestNonce) of a forwarded request.
pub const NONCE_HEADER: &str = "X-Edge-Nonce";

/// `X-Edge-User`: `sub` with every byte outside `[A-Za-z0-9._~@+-]` percent-encoded,
/// `%` included. Injective, so two users never share a header value (`"mallet"` and
/// `"mallet "` differ), and always a safe header value (CR/LF would be header injection;
/// a `sub` may be any Unicode). Decode it with [`decode_user`] or any percent-decoder that
/// leaves `+` alone; the assertion carries the exact `sub`.
pub fn encode_user(sub: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(sub.len());
    for &b in sub.as_bytes() {
        if b.is_ascii_alphanumeric() || b"._~@+-".contains(&b) {
            out.push(b as char);
        } else {
            out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
        }
    }
    out
}

/// The `sub` an `X-Edge-User` value carries, or `None` if it is not the edge's encoding
/// of UTF-8 (a stray `%`, bad hex). A convenience only: trust the verified assertion.
pub fn decode_user(header: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(header.len());
    let mut rest = header.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok().filter(|_| hex.bytes().all(|h| h.is_ascii_hexdigit()))?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_header_is_safe_and_injective() {
        assert_eq!(encode_user("alice@example.com"), "alice@example.com");
        assert_eq!(encode_user("a.b_c~d+e-F9"), "a.b_c~d+e-F9");
        assert_eq!(encode_user("zoë\r\nX-Evil: 1"), "zo%C3%AB%0D%0AX-Evil%3A%201");
        assert_eq!(encode_user("100%"), "100%25");
        assert_ne!(encode_user("mallet"), encode_user("mallet "));
        assert_ne!(encode_user("a%20"), encode_user("a "));
    }

    #[test]
    fn the_user_header_decodes_back_and_refuses_what_the_edge_never_writes() {
        for sub in ["alice", "a+b", "zoë\r\nX-Evil: 1", "100%", "日本"] {
            assert_eq!(decode_user(&encode_user(sub)).as_deref(), Some(sub));
        }
        assert_eq!(decode_user("a+b").as_deref(), Some("a+b"), "+ is literal");
        for bad in ["%", "%4", "%zz", "%+1", "%C3"] {
            assert_eq!(decode_user(bad), None, "{bad}");
        }
    }
}
