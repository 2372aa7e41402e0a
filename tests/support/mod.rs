//! Test support shared by the integration tests: random event streams, live Kafka helpers,
//! child-process helpers.
// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod diff;
pub mod engine;
pub mod kafka;
pub mod streams;
