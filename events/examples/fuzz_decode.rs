//! Fault F5, the decoder fuzzer for long runs: `cargo run --release -p pulso-events --example
//! fuzz_decode -- [INPUTS_PER_ENVELOPE] [SEED]` (default 10,000,000 and 1) decodes that many
//! mutated records of each envelope under `catch_unwind` and prints inputs, accepted,
//! rejected per reason, panics and inputs/s. Exits 1 if the decoder panicked (the inputs are
//! printed).

#[path = "../tests/common/fuzz.rs"]
mod fuzz;
#[path = "../tests/common/records.rs"]
mod records;

fn main() {
    let mut args = std::env::args().skip(1);
    let inputs: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    // Panics are caught and counted; keep their messages out of the way.
    std::panic::set_hook(Box::new(|_| {}));
    let mut panicked = false;
    for (envelope, name) in [(false, "A"), (true, "B")] {
        let started = std::time::Instant::now();
        let report = fuzz::run(inputs, envelope, seed);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "envelope {name}: {} inputs in {seconds:.1} s ({:.0}/s), {} accepted, rejected {:?}, {} panics",
            report.inputs,
            report.inputs as f64 / seconds,
            report.accepted,
            report.rejected,
            report.panics.len()
        );
        for (topic, input) in report.panics.iter().take(5) {
            println!("  panic on {topic}: {}", String::from_utf8_lossy(input));
        }
        panicked |= !report.panics.is_empty();
    }
    std::process::exit(i32::from(panicked));
}
