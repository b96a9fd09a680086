//! `contacts-import`: the contact import's parse-validate-write path (`gimbal_campaigns::import`,
//! what the `contacts-import` function streams the request body through) on 100,000 rows of
//! email, phone, names, time zone, both consents and a custom attribute, into an empty contacts
//! table, then the same file again (every row matches a contact it does not change: the cost of
//! an unchanged re-import). Each round is one transaction, committed; the rate is the median
//! over the rounds.
//!
//! Baselines measured in the same run: the same path writing one row per batch (what the
//! import did before it batched; on the first 5,000 rows, as its rate does not depend on the
//! file's size), and the same rows, already normalised, written with a plain
//! `COPY` into an unconstrained table (no parsing, validation, upsert, consent records or
//! indexes).

use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::{SinkExt, stream};
use gimbal_campaigns::import::{self, ImportOptions, ImportReport};
use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use tokio::sync::mpsc;

use crate::{memory::peak_rss_bytes, stats::median};

pub async fn run(quick: bool) -> anyhow::Result<()> {
    let (rows, rounds) = if quick { (5_000, 3) } else { (100_000, 3) };
    let db = TestDatabase::new().await;
    let csv = file(rows);

    let (mut fresh, mut again) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        db.superuser()
            .await
            .batch_execute("truncate public.contacts cascade")
            .await?;
        let (rate, report) = import_once(&db, &csv).await?;
        check(&report, rows, true)?;
        eprintln!("round {round}: {rows} new contacts at {rate:.0} rows/s");
        fresh.push(rate);
        let (rate, report) = import_once(&db, &csv).await?;
        check(&report, rows, false)?;
        eprintln!("round {round}: {rows} updated contacts at {rate:.0} rows/s");
        again.push(rate);
    }
    db.superuser()
        .await
        .batch_execute("truncate public.contacts cascade")
        .await?;
    // one statement per row is slow enough that a sample gives its rate
    let single_rows = rows.min(5_000);
    let (single_rate, report) = import_in(&db, &file(single_rows), 1).await?;
    check(&report, single_rows, true)?;
    eprintln!("one row per batch: {single_rows} new contacts at {single_rate:.0} rows/s");
    let copy_rate = copy_baseline(&db, rows).await?;
    let rate = median(&mut fresh);
    let update_rate = median(&mut again);
    println!(
        "scenario=contacts-import rows={rows} rounds={rounds} batch={} rate_rows_per_s={rate:.0} \
         reimport_rows_per_s={update_rate:.0} row_by_row_rows={single_rows} row_by_row_rows_per_s={single_rate:.0} ratio_vs_row_by_row={:.2} \
         copy_baseline_rows_per_s={copy_rate:.0} ratio_vs_copy={:.3} peak_rss_mb={:.1}",
        import::BATCH_ROWS,
        rate / single_rate,
        rate / copy_rate,
        peak_rss_bytes() as f64 / 1_048_576.0
    );
    Ok(())
}

const ZONES: [&str; 4] = [
    "America/Los_Angeles",
    "America/Chicago",
    "America/New_York",
    "Europe/London",
];

/// `rows` contacts as a CSV file, with national US numbers the import normalises to E.164.
fn file(rows: usize) -> String {
    let mut csv =
        String::from("email,phone,first_name,last_name,time_zone,sms_consent,email_consent,plan\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Person.{i}@Example.com,(415) 7{:02}-{:04},First{i},Last{i},{},yes,yes,{}\n",
            i / 10_000,
            i % 10_000,
            ZONES[i % ZONES.len()],
            if i % 3 == 0 { "pro" } else { "basic" }
        ));
    }
    csv
}

/// One import of `csv` in its own committed transaction: (rows per second, report).
async fn import_once(db: &TestDatabase, csv: &str) -> anyhow::Result<(f64, ImportReport)> {
    import_in(db, csv, import::BATCH_ROWS).await
}

async fn import_in(
    db: &TestDatabase,
    csv: &str,
    batch_rows: usize,
) -> anyhow::Result<(f64, ImportReport)> {
    let options = ImportOptions {
        region: phonenumber::country::Id::US,
        consent_source: "bench".into(),
        audience_id: None,
    };
    let mut client = db.app_pool(1).get().await?;
    let started = Instant::now();
    let mut tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("bench/contacts-import"),
        Access::ReadWrite,
    )
    .await?;
    let (sender, mut receiver) = mpsc::channel(1024);
    let input = csv.to_string();
    let parse_options = options.clone();
    let parser = tokio::task::spawn_blocking(move || {
        import::parse(input.as_bytes(), &parse_options, &sender);
    });
    let report = import::apply_in_batches(&mut tx, &mut receiver, &options, batch_rows)
        .await
        .map_err(|e| anyhow::anyhow!("import: {e}"))?;
    parser.await.context("parser")?;
    tx.commit().await?;
    Ok((report.rows as f64 / started.elapsed().as_secs_f64(), report))
}

fn check(report: &ImportReport, rows: usize, fresh: bool) -> anyhow::Result<()> {
    let (created, updated) = if fresh { (rows, 0) } else { (0, rows) };
    if report.failed != 0 || report.created != created as u64 || report.updated != updated as u64 {
        bail!("unexpected import report: {report:?}");
    }
    Ok(())
}

/// The same rows, normalised, through `COPY` into a table without constraints or indexes.
async fn copy_baseline(db: &TestDatabase, rows: usize) -> anyhow::Result<f64> {
    let client = db.superuser().await;
    client
        .batch_execute(
            "create unlogged table if not exists bench_contacts_copy (
               email text, phone text, first_name text, last_name text, time_zone text,
               sms_consent text, email_consent text, attributes jsonb);
             truncate bench_contacts_copy;",
        )
        .await?;
    let lines: Vec<bytes::Bytes> = (0..rows)
        .map(|i| {
            bytes::Bytes::from(format!(
                "person.{i}@example.com\t+141557{:02}{:04}\tFirst{i}\tLast{i}\t{}\tgranted\tgranted\t{{\"plan\": \"{}\"}}\n",
                i / 10_000,
                i % 10_000,
                ZONES[i % ZONES.len()],
                if i % 3 == 0 { "pro" } else { "basic" }
            ))
        })
        .collect();
    let started = Instant::now();
    let sink = client
        .copy_in("copy bench_contacts_copy from stdin")
        .await?;
    futures_util::pin_mut!(sink);
    let mut chunks = stream::iter(lines.into_iter().map(Ok::<_, gimbal_db::postgres::Error>));
    sink.send_all(&mut chunks).await?;
    sink.finish().await?;
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
