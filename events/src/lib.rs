//! The typed event model of Pulso (`../shared/EVENTS.md`): topics, decoded events, the
//! rejection reasons of the dead-letter topic, money and time types, and the rows of every
//! view of `VIEWS.md`. This crate does no I/O, so clients can use it without the engine.

pub mod decode;
pub mod delivery_sla;
pub mod intern;
pub mod model;
pub mod money;
pub mod registry;
pub mod reject;
pub mod retention;
pub mod summary;
pub mod time;
pub mod topic;
pub mod views;

pub use decode::{decode, decode_with, event_time, DecodeOptions, MAX_RECORD_BYTES};
pub use model::*;
pub use reject::{RejectReason, Rejection};
pub use summary::{summary, timeline_summary, with_tenant, write_timeline_summary};
pub use topic::Topic;
