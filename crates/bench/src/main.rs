//! `cargo run --release --bin bench -- <scenario> [--quick]`: one program for every benchmark.
//! Each scenario measures Gimbal against a baseline in the same run and ends with one line of
//! `key=value` figures (rate, peak memory, ratio). `--quick` runs a small size, for smoke tests.

mod memory;

use anyhow::bail;

/// Every scenario: its name and what it measures.
const SCENARIOS: &[(&str, &str)] = &[];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let Some(name) = args.iter().find(|a| !a.starts_with("--")) else {
        print_usage();
        bail!("no scenario given");
    };
    run(name, quick).await
}

// Scenarios are added as async match arms; the expectations below lapse (and the lint then
// insists on their removal) as soon as the first one lands.
#[expect(clippy::unused_async, reason = "no scenario registered yet")]
async fn run(name: &str, _quick: bool) -> anyhow::Result<()> {
    #[expect(clippy::match_single_binding, reason = "no scenario registered yet")]
    match name {
        other => {
            print_usage();
            bail!("unknown scenario {other:?}")
        }
    }
}

fn print_usage() {
    eprintln!("usage: bench <scenario> [--quick]\n\nscenarios:");
    for (name, what) in SCENARIOS {
        eprintln!("  {name:<18} {what}");
    }
}
