//! Test support shared by the integration tests: random event streams.

pub mod streams;
