//! `cargo bench --bench forensics`: evidence extraction per message (median and p95 of
//! single extractions), on the test fixtures: the phish (two text parts, a zip holding a zip,
//! a mislabelled program) and the plain-text warning.

use std::time::{Duration, Instant};

const RUNS: usize = 2_000;

fn measure(name: &str, raw: &[u8]) {
    // Warm-up, so the first allocations do not count.
    for _ in 0..50 {
        std::hint::black_box(retractor::forensics::extract(raw));
    }
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(retractor::forensics::extract(std::hint::black_box(raw)));
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[RUNS / 2];
    let p95 = times[RUNS * 95 / 100];
    println!(
        "evidence extraction, {name} ({} bytes): median {:.1} µs, p95 {:.1} µs, {:.0} messages/s at the median",
        raw.len(),
        median.as_secs_f64() * 1e6,
        p95.as_secs_f64() * 1e6,
        1.0 / median.as_secs_f64()
    );
}

fn main() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/forensics");
    for name in ["phish.eml", "newsletter.eml", "lookalike.eml"] {
        let raw = std::fs::read(format!("{dir}/{name}")).expect("fixture");
        measure(name, &raw);
    }
}
