//! Time as the core sees it: a point in Unix milliseconds, passed in by the caller.
//!
//! The core never reads a clock; the wasm shell reads `Date.now()` and hands
//! the value in, tests drive a simulated clock. Arithmetic saturates so that a hostile
//! or absurd timestamp can never panic.
//!
//! ```
//! use edge_session::time::Timestamp;
//! use std::time::Duration;
//! let t = Timestamp::from_millis(1_000);
//! assert_eq!(t + Duration::from_secs(2), Timestamp::from_millis(3_000));
//! assert_eq!((t + Duration::from_secs(2)).since(t), Duration::from_secs(2));
//! ```

use std::ops::Add;
use std::time::Duration;

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Timestamp(u64);

impl Timestamp {
    /// Unix milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Unix seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// As Unix milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds, as JWT `iat`/`exp` claims and cookie expiries use.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }
}
