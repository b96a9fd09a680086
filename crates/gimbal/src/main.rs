//! `gimbal`: the command line. Parsing only; the work is in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = gimbal::cli::Cli::parse();
    match gimbal::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gimbal: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
