//! Test support shared by the integration tests: random event streams, live Kafka helpers,
//! child-process helpers.
// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

pub(crate) mod diff;
pub(crate) mod engine;
pub(crate) mod kafka;
pub(crate) mod streams;
