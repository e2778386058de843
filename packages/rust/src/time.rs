//! Time as the protocol sees it: a point in Unix milliseconds, passed in by the caller.
//!
//! Nothing here reads a clock (the edge's wasm has none but `Date.now()`, and tests drive
//! a simulated one): every check takes `now`. An origin passes
//! `Timestamp::from(SystemTime::now())`. Arithmetic saturates so that a hostile or absurd
//! timestamp can never panic.
//!
//! ```
//! use edge_session_origin::Timestamp;
//! use std::time::{Duration, SystemTime};
//! let t = Timestamp::from_millis(1_000);
//! assert_eq!(t + Duration::from_secs(2), Timestamp::from_millis(3_000));
//! assert_eq!((t + Duration::from_secs(2)).since(t), Duration::from_secs(2));
//! assert!(Timestamp::from(SystemTime::now()).as_secs() > 1_700_000_000);
//! ```

use std::ops::Add;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// A clock reading as a timestamp; before 1970 reads as 0.
impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        let ms = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}
