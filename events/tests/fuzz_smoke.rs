//! A short run of the decoder fuzzer (fault F5) in the test suite: 200k mutated records per
//! envelope, no panic. Longer runs: `cargo run --release -p pulso-events --example
//! fuzz_decode -- 10000000`.

#[path = "common/fuzz.rs"]
mod fuzz;
#[path = "common/records.rs"]
mod records;

#[test]
fn mutated_records_never_panic_the_decoder() {
    for envelope in [false, true] {
        let report = fuzz::run(200_000, envelope, 7);
        assert!(
            report.panics.is_empty(),
            "{} panics, the first on {:?}: {}",
            report.panics.len(),
            report.panics[0].0,
            String::from_utf8_lossy(&report.panics[0].1)
        );
        // The mutations reach both outcomes and several reasons.
        assert!(
            report.accepted > 0 && report.rejected.len() >= 4,
            "{report:?}"
        );
        println!(
            "F5 envelope {}: {report:?}",
            if envelope { "B" } else { "A" }
        );
    }
}
