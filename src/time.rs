//! Time as the core sees it: a point in Unix milliseconds, passed in by the caller.
//!
//! The core never reads a clock; the wasm shell reads `Date.now()` and hands
//! the value in, tests drive a simulated clock. [`Timestamp`] is the origin crate's
//! (`packages/rust`), whose tokens carry the same times.
//!
//! ```
//! use edge_session::time::Timestamp;
//! use std::time::Duration;
//! let t = Timestamp::from_millis(1_000);
//! assert_eq!(t + Duration::from_secs(2), Timestamp::from_millis(3_000));
//! assert_eq!((t + Duration::from_secs(2)).since(t), Duration::from_secs(2));
//! ```

pub use edge_session_origin::Timestamp;
