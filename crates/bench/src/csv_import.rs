//! `csv-import`: a generated CSV file (1,000,000 rows × 10 columns: integers, dates, text,
//! decimals) imported by Gimbal's reader and loader (detection, inference, per-field checks,
//! `COPY` text format) into a fresh import table, against `psql \copy … (format csv)` of the
//! same file into an identical table, on the same server, in the same run. Runs alternate the
//! order of the two; the figures are medians. Peak memory is the process's resident high-water
//! mark, reset before each Gimbal import.

use std::{
    io::{BufWriter, Write},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use gimbal_import::{LoadRequest, Mode, ReadOptions, load::import_csv};

use crate::{memory, stats::median};

const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";
const CHANNELS: [&str; 5] = ["email", "sms", "paid_search", "social", "organic"];

pub async fn run(quick: bool) -> anyhow::Result<()> {
    let (rows, runs) = if quick { (50_000, 1) } else { (1_000_000, 3) };
    let dir = std::env::temp_dir().join(format!("gimbal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("campaign_metrics.csv");
    let bytes = generate(&file, rows)?;
    eprintln!(
        "generated {} ({:.1} MB, {rows} rows)",
        file.display(),
        mb(bytes)
    );
    let db = TestDatabase::new().await;

    let mut gimbal = Vec::new();
    let mut copy = Vec::new();
    let mut peaks = Vec::new();
    for run in 0..runs {
        let order_gimbal_first = run % 2 == 0;
        for step in 0..2 {
            if (step == 0) == order_gimbal_first {
                let (elapsed, peak) = gimbal_import(&db, &file, run, rows).await?;
                eprintln!(
                    "run {run}: gimbal {:.2} s, peak {:.1} MB",
                    elapsed.as_secs_f64(),
                    mb(peak)
                );
                gimbal.push(elapsed);
                peaks.push(peak);
            } else {
                let elapsed = psql_copy(&db, &file, run, rows).await?;
                eprintln!("run {run}: psql \\copy {:.2} s", elapsed.as_secs_f64());
                copy.push(elapsed);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let gimbal_rate = rows as f64 / median(&mut gimbal).as_secs_f64();
    let copy_rate = rows as f64 / median(&mut copy).as_secs_f64();
    peaks.sort_unstable();
    println!(
        "scenario=csv-import rows={rows} columns=10 file_mb={:.1} runs={runs} \
         gimbal_rows_per_s={gimbal_rate:.0} psql_copy_rows_per_s={copy_rate:.0} \
         ratio_vs_copy={:.2} peak_rss_mb={:.1} peak_rss_max_mb={:.1}",
        mb(bytes),
        gimbal_rate / copy_rate,
        mb(peaks[peaks.len() / 2]),
        mb(*peaks.last().unwrap_or(&0)),
    );
    Ok(())
}

/// Writes the benchmark file; returns its size. Written as it is generated: no memory grows.
fn generate(path: &Path, rows: u64) -> anyhow::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "id,day,channel,campaign,sessions,users,conversions,revenue,spend,note"
    )?;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for id in 1..=rows {
        // xorshift: deterministic, cheap, no dependency.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let r = seed;
        let day = 1 + (id % 28);
        let month = 1 + (id / 28) % 12;
        let sessions = r % 10_000;
        let note = if r.is_multiple_of(7) {
            "\"promo, spring\""
        } else {
            ""
        };
        writeln!(
            out,
            "{id},2024-{month:02}-{day:02},{},campaign {},{sessions},{},{},{}.{:02},{}.{:02},{note}",
            CHANNELS[(r % 5) as usize],
            r % 500,
            sessions / 2,
            sessions / 50,
            r % 100_000,
            r % 100,
            (r >> 20) % 5_000,
            (r >> 8) % 100,
        )?;
    }
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

async fn gimbal_import(
    db: &TestDatabase,
    file: &Path,
    run: usize,
    rows: u64,
) -> anyhow::Result<(Duration, u64)> {
    let mut client = gimbal_db::pool::connect_once("DATABASE_URL", &db.app_url()).await?;
    memory::reset_peak();
    let started = Instant::now();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("bench/csv-import"),
        Access::ReadWrite,
    )
    .await?;
    let input = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file)?);
    let request = LoadRequest {
        table: format!("bench_gimbal_{run}"),
        mode: Mode::Create,
        source_name: None,
        statement_timeout: Duration::from_secs(3600),
        key: Vec::new(),
        reimport: gimbal_import::Reimport::Refuse,
    };
    let report = import_csv(&tx, input, ReadOptions::default(), &request).await?;
    tx.commit().await?;
    let elapsed = started.elapsed();
    if report.rows_loaded != rows {
        bail!(
            "gimbal loaded {} of {rows} rows: {:?}",
            report.rows_loaded,
            report.errors
        );
    }
    Ok((elapsed, memory::peak_rss_bytes()))
}

/// The baseline: the same file through `psql \copy` (the server parses the CSV) into a table of
/// the same shape, created by the same function.
async fn psql_copy(
    db: &TestDatabase,
    file: &Path,
    run: usize,
    rows: u64,
) -> anyhow::Result<Duration> {
    let table = format!("bench_copy_{run}");
    let columns = r#"[{"name":"id","type":"bigint"},{"name":"day","type":"date"},
        {"name":"channel","type":"text"},{"name":"campaign","type":"text"},
        {"name":"sessions","type":"bigint"},{"name":"users","type":"bigint"},
        {"name":"conversions","type":"bigint"},{"name":"revenue","type":"numeric"},
        {"name":"spend","type":"numeric"},{"name":"note","type":"text"}]"#;
    let client = db.superuser().await;
    client
        .execute(
            "insert into public.import_tables (table_name, columns) values ($1, $2::text::jsonb)",
            &[&table, &columns],
        )
        .await?;
    client
        .execute(
            "select app_private.create_import_table($1, $2::text::jsonb)",
            &[&table, &columns],
        )
        .await?;
    let command = format!(
        "\\copy imports.{table} (id, day, channel, campaign, sessions, users, conversions, \
         revenue, spend, note) from '{}' with (format csv, header true)",
        file.display()
    );
    let started = Instant::now();
    let output = Command::new(PSQL)
        .arg(db.superuser_url())
        .args(["-v", "ON_ERROR_STOP=1", "-c", &command])
        .output()
        .context("run psql")?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr));
    }
    let copied = String::from_utf8_lossy(&output.stdout);
    if copied.trim() != format!("COPY {rows}") {
        bail!("psql copied {copied:?}, expected {rows} rows");
    }
    Ok(elapsed)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
