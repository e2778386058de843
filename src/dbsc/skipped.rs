//! `Secure-Session-Skipped`: a browser's note that it sent a request without a bound
//! credential on purpose (webappsec-dbsc, "Add debug header").
//!
//! The browser skips a refresh when the refresh endpoint was unreachable or failing, or
//! to spare its TPM, and sends the request anyway, without the bound access cookie. The
//! edge then sees a device-bound family's refresh cookie alone, which is otherwise the
//! sign of a copied cookie jar. Reading the header keeps that alarm for copies: a request
//! whose header names its family is counted as `dbsc_skipped` instead. A copied jar could
//! claim the same; it still gets nothing, and one user's skips show in the count.
//!
//! The value is an RFC 9651 list of tokens, each with a `session_identifier` string:
//! `unreachable;session_identifier="123", quota_exceeded;session_identifier="456"`.
//!
//! ```
//! use edge_session::dbsc::skipped;
//! use edge_session::session::FamilyId;
//! let family = FamilyId::from_bytes([1; 16]);
//! let header = format!("quota_exceeded;session_identifier=\"x\", server_error;session_identifier=\"{family}\"");
//! assert_eq!(skipped(&header, family), Some("server_error"));
//! assert_eq!(skipped("unreachable", family), None);
//! ```

use crate::session::FamilyId;

/// On a request: the sessions whose refresh the browser skipped.
pub const SKIPPED_HEADER: &str = "Secure-Session-Skipped";

/// The reasons the spec defines; anything else is reported as `other`.
const REASONS: [&str; 3] = ["unreachable", "server_error", "quota_exceeded"];

/// Most list members read: a browser names one per session it skipped.
const MAX_MEMBERS: usize = 16;

/// Why the browser skipped `family`'s refresh, if the header names it.
pub fn skipped(header: &str, family: FamilyId) -> Option<&'static str> {
    let wanted = family.to_string();
    header.split(',').take(MAX_MEMBERS).find_map(|member| {
        let mut parts = member.split(';').map(|p| p.trim_matches([' ', '\t']));
        let reason = parts.next()?;
        let names_family = parts.any(|param| {
            param.split_once('=').is_some_and(|(key, value)| {
                key == "session_identifier"
                    && value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) == Some(&wanted)
            })
        });
        names_family.then(|| REASONS.into_iter().find(|known| *known == reason).unwrap_or("other"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: FamilyId = FamilyId::from_bytes([7; 16]);

    #[test]
    fn only_a_member_naming_the_family_counts() {
        let id = F.to_string();
        assert_eq!(skipped(&format!("unreachable;session_identifier=\"{id}\""), F), Some("unreachable"));
        assert_eq!(skipped(&format!("  quota_exceeded ; session_identifier=\"{id}\" "), F), Some("quota_exceeded"));
        assert_eq!(skipped(&format!("bogus;session_identifier=\"{id}\""), F), Some("other"));
        for other in [
            String::new(),
            "unreachable".into(),
            "unreachable;session_identifier=\"AAAAAAAAAAAAAAAAAAAAAA\"".into(),
            format!("unreachable;session_identifier={id}"),
            format!("unreachable;session_id=\"{id}\""),
            format!("unreachable;session_identifier=\"{id}x\""),
        ] {
            assert_eq!(skipped(&other, F), None, "{other}");
        }
    }

    #[test]
    fn a_long_list_is_read_only_so_far() {
        let filler = "unreachable;session_identifier=\"x\", ".repeat(MAX_MEMBERS);
        assert_eq!(skipped(&format!("{filler}server_error;session_identifier=\"{F}\""), F), None);
    }
}
