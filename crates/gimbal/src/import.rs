//! `gimbal import csv FILE`: the operator's way to load a file, through the same reader and
//! loader as the `import-csv` function, as the service role, with a progress bar and a summary.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use gimbal_db::{Access, RequestScope};
use gimbal_import::{
    ColumnOverride, ImportError, ImportReport, LoadRequest, Mode, ReadOptions, Reimport,
    csv_file::Counting, encoding, load::import_csv,
};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Load a CSV file into a table of the `imports` schema.
    Csv(CsvArgs),
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReimportArg {
    Refuse,
    Replace,
    Append,
}

#[derive(Args, Debug)]
pub struct CsvArgs {
    /// The file to load.
    pub file: PathBuf,
    /// Table name in the `imports` schema (lower-case letters, digits, _).
    #[arg(long)]
    pub table: String,
    /// Add to a registered table instead of creating one.
    #[arg(long)]
    pub append: bool,
    /// One character, or `tab`; detected when absent.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// An encoding label (utf-8, latin1, windows-1252, utf-16le…); detected when absent.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Rows that may be rejected before the import is refused as a whole.
    #[arg(long, default_value_t = 1000)]
    pub max_rejected_rows: u64,
    /// Rows used to infer the column types.
    #[arg(long, default_value_t = 1000)]
    pub sample_rows: usize,
    /// JSON array of `{"source": header, "name"?, "type"?, "skip"?}` overrides.
    #[arg(long)]
    pub columns: Option<String>,
    /// Name of the data source created with a new table.
    #[arg(long)]
    pub source_name: Option<String>,
    /// Natural key of a new table (comma-separated columns): re-imports upsert on it.
    #[arg(long, value_delimiter = ',')]
    pub key: Vec<String>,
    /// A table without a key, and this file was imported into it before: `refuse`, `replace`
    /// its earlier rows, or `append` them again.
    #[arg(long, value_enum, default_value_t = ReimportArg::Refuse)]
    pub reimport: ReimportArg,
    /// Statement timeout of the load, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// A login role that may `set role service_role` (the services' DATABASE_URL).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

pub async fn run(command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Csv(args) => csv(args).await,
    }
}

async fn csv(args: CsvArgs) -> anyhow::Result<()> {
    let (request, options) = parse(&args)?;
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let (input, progress) = Counting::new(std::io::BufReader::with_capacity(256 * 1024, file));

    let bar = progress_bar(size, args.json);
    let ticker = {
        let bar = bar.clone();
        let progress = Arc::clone(&progress);
        tokio::spawn(async move {
            loop {
                bar.set_position(progress.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let mut client = gimbal_db::pool::connect_once("DATABASE_URL", &args.database_url).await?;
    let scope = RequestScope::service("cli/import/csv");
    let tx = gimbal_db::scope::begin(&mut client, &scope, Access::ReadWrite).await?;
    let result = import_csv(&tx, input, options, &request).await;
    ticker.abort();
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(e) => return Err(explain(e)),
    };
    tx.commit().await.context("commit")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
    }
    Ok(())
}

fn progress_bar(size: u64, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    bar
}

fn parse(args: &CsvArgs) -> anyhow::Result<(LoadRequest, ReadOptions)> {
    let delimiter = match args.delimiter.as_deref() {
        None => None,
        Some("tab" | "\\t") => Some(b'\t'),
        Some(d) if d.len() == 1 => Some(d.as_bytes()[0]),
        Some(other) => bail!("--delimiter: one character or `tab`, not {other:?}"),
    };
    let encoding = match args.encoding.as_deref() {
        None => None,
        Some(label) => Some(
            encoding::by_label(label)
                .with_context(|| format!("--encoding: unknown label {label:?}"))?,
        ),
    };
    let columns: Vec<ColumnOverride> = match args.columns.as_deref() {
        None => Vec::new(),
        Some(json) => serde_json::from_str(json).context("--columns: a JSON array of overrides")?,
    };
    let request = LoadRequest {
        table: args.table.clone(),
        mode: if args.append {
            Mode::Append
        } else {
            Mode::Create
        },
        source_name: args.source_name.clone(),
        statement_timeout: Duration::from_secs(args.timeout),
        key: args.key.clone(),
        reimport: match args.reimport {
            ReimportArg::Refuse => Reimport::Refuse,
            ReimportArg::Replace => Reimport::Replace,
            ReimportArg::Append => Reimport::Append,
        },
    };
    let options = ReadOptions {
        delimiter,
        encoding,
        columns,
        table_columns: None,
        sample_rows: args.sample_rows.max(1),
        max_rejected_rows: args.max_rejected_rows,
    };
    Ok((request, options))
}

fn explain(err: ImportError) -> anyhow::Error {
    match err {
        ImportError::TooManyRejected { limit, summary } => {
            for e in &summary.errors {
                eprintln!("  {}", describe(e));
            }
            anyhow::anyhow!(
                "{} rows rejected, more than --max-rejected-rows {limit}; nothing was imported",
                summary.rows_rejected
            )
        }
        other => anyhow::anyhow!("import failed, nothing was imported: {other}"),
    }
}

fn describe(e: &gimbal_import::RowError) -> String {
    match &e.column {
        Some(column) => format!("line {}, column {column}: {}", e.line, e.message),
        None => format!("line {}: {}", e.line, e.message),
    }
}

fn print_summary(report: &ImportReport) {
    let seconds = report.duration_ms as f64 / 1000.0;
    let rate = if seconds > 0.0 {
        report.rows_loaded as f64 / seconds
    } else {
        0.0
    };
    println!(
        "imported {} rows into {} in {seconds:.1} s ({rate:.0} rows/s)",
        report.rows_loaded, report.table
    );
    println!(
        "  read {} rows, rejected {}; encoding {}, delimiter {:?}",
        report.rows_read, report.rows_rejected, report.encoding, report.delimiter
    );
    let columns: Vec<String> = report
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.column_type.sql()))
        .collect();
    println!("  columns: {}", columns.join(", "));
    if report.rows_replaced > 0 {
        println!(
            "  replaced {} rows of an earlier import of the same file",
            report.rows_replaced
        );
    }
    for e in &report.errors {
        println!("  rejected: {}", describe(e));
    }
    if report.rows_rejected > report.errors.len() as u64 {
        println!(
            "  … and {} more rejected rows",
            report.rows_rejected - report.errors.len() as u64
        );
    }
}
