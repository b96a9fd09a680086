//! Reading a CSV file as a stream. [`prepare`] looks at the start of the file only (the
//! encoding and delimiter from the first 64 KiB, the types from the first rows); [`Prepared::encode`]
//! then reads the rest record by record into `COPY` text chunks of bounded size, checking every
//! field, so memory depends on the chunk size and the longest record, never on the file size.
//! Rows that do not fit become [`RowError`]s with their line and column; the good rows go on.

use std::{
    io::{Chain, Cursor, Read},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use csv::ByteRecord;
use encoding_rs::Encoding;
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    ImportError,
    encoding::{self, Detected, Utf8Reader},
    schema::{self, Column, ColumnOverride, Inference},
    sniff, value,
};

/// Bytes looked at to decide encoding and delimiter.
const HEAD_BYTES: usize = 64 * 1024;
/// `COPY` data is handed on in chunks of about this size.
pub const CHUNK_BYTES: usize = 256 * 1024;
/// The inference sample stops at this many bytes even if fewer rows were read (huge fields).
const SAMPLE_BYTES: usize = 8 * 1024 * 1024;
/// Row errors kept for the report (all are counted).
const ERRORS_KEPT: usize = 100;

/// How to read a file; everything left `None` is detected.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static Encoding>,
    pub columns: Vec<ColumnOverride>,
    /// Columns of an existing table: names must be among them and take their types.
    pub table_columns: Option<Vec<Column>>,
    /// Rows used to infer column types.
    pub sample_rows: usize,
    /// The load fails (and nothing is kept) when more rows than this are rejected.
    pub max_rejected_rows: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: None,
            encoding: None,
            columns: Vec::new(),
            table_columns: None,
            sample_rows: 1000,
            max_rejected_rows: 1000,
        }
    }
}

/// A row that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// Line of the file where the record starts (the header is line 1).
    pub line: u64,
    /// The table column at fault, when one is.
    pub column: Option<String>,
    pub message: String,
}

/// What reading the file produced.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ReadSummary {
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// The first 100 rejected rows.
    pub errors: Vec<RowError>,
}

type Input<R> = Utf8Reader<Chain<Cursor<Vec<u8>>, Counting<R>>>;

/// A file whose shape is known, ready to be read to the end.
pub struct Prepared<R: Read> {
    reader: csv::Reader<Input<R>>,
    sample: Vec<ByteRecord>,
    /// Kept columns with their position in the file.
    pub columns: Vec<(usize, Column)>,
    pub header_count: usize,
    pub encoding: &'static Encoding,
    pub delimiter: u8,
    max_rejected_rows: u64,
    bytes_read: Arc<AtomicU64>,
}

/// Reads the start of `input`: detects encoding and delimiter, reads the header and a sample of
/// rows, infers the column types and applies the caller's overrides.
pub fn prepare<R: Read>(input: R, options: &ReadOptions) -> Result<Prepared<R>, ImportError> {
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut input = Counting {
        inner: input,
        count: bytes_read.clone(),
    };
    let head = read_head(&mut input)?;
    let detected = match options.encoding {
        Some(encoding) => Detected {
            encoding,
            bom_len: Encoding::for_bom(&head)
                .filter(|(e, _)| *e == encoding)
                .map_or(0, |(_, len)| len),
        },
        None => encoding::detect(&head),
    };
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => {
            let (text, _) = detected
                .encoding
                .decode_without_bom_handling(&head[detected.bom_len..]);
            sniff::delimiter(text.as_bytes())
        }
    };
    let utf8 = Utf8Reader::new(Cursor::new(head).chain(input), detected);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .buffer_capacity(64 * 1024)
        .from_reader(utf8);
    let headers = read_headers(&mut reader)?;
    let sample = read_sample(&mut reader, options.sample_rows)?;
    let columns = infer_columns(&headers, &sample, options)?;
    Ok(Prepared {
        reader,
        sample,
        columns,
        header_count: headers.len(),
        encoding: detected.encoding,
        delimiter,
        max_rejected_rows: options.max_rejected_rows,
        bytes_read,
    })
}

fn read_head(input: &mut impl Read) -> Result<Vec<u8>, ImportError> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    input
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(ImportError::read)?;
    Ok(head)
}

fn read_headers<R: Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, ImportError> {
    let headers = reader.byte_headers().map_err(ImportError::read)?;
    if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
        return Err(ImportError::invalid(
            "file",
            "the file is empty; the first line must name the columns",
        ));
    }
    headers
        .iter()
        .map(|h| {
            std::str::from_utf8(h).map(str::to_string).map_err(|_| {
                ImportError::invalid("encoding", "the header line is not valid in this encoding")
            })
        })
        .collect()
}

fn read_sample<R: Read>(
    reader: &mut csv::Reader<R>,
    rows: usize,
) -> Result<Vec<ByteRecord>, ImportError> {
    let mut sample = Vec::new();
    let mut bytes = 0;
    while sample.len() < rows && bytes < SAMPLE_BYTES {
        let mut record = ByteRecord::new();
        if !reader
            .read_byte_record(&mut record)
            .map_err(ImportError::read)?
        {
            break;
        }
        bytes += record.as_slice().len();
        sample.push(record);
    }
    Ok(sample)
}

fn infer_columns(
    headers: &[String],
    sample: &[ByteRecord],
    options: &ReadOptions,
) -> Result<Vec<(usize, Column)>, ImportError> {
    let mut columns = schema::columns_from_headers(headers);
    for (i, column) in columns.iter_mut().enumerate() {
        let mut inference = Inference::default();
        for record in sample.iter().filter(|r| r.len() == headers.len()) {
            if let Ok(text) = std::str::from_utf8(&record[i]) {
                inference.observe(text);
            }
        }
        column.column_type = inference.column_type();
    }
    let mut kept = schema::apply_overrides(columns, &options.columns)
        .map_err(|e| ImportError::invalid("columns", e.0))?;
    if let Some(table) = &options.table_columns {
        for (_, column) in &mut kept {
            let existing = table
                .iter()
                .find(|c| c.name == column.name)
                .ok_or_else(|| {
                    ImportError::invalid(
                        "columns",
                        format!(
                            "the table has no column {:?} (from header {:?}); rename or skip it",
                            column.name, column.source
                        ),
                    )
                })?;
            column.column_type = existing.column_type;
        }
    }
    Ok(kept)
}

impl<R: Read> Prepared<R> {
    /// Bytes of the file read so far (for progress bars), shared with the reading thread.
    pub fn bytes_read(&self) -> Arc<AtomicU64> {
        self.bytes_read.clone()
    }

    pub fn table_columns(&self) -> Vec<Column> {
        self.columns.iter().map(|(_, c)| c.clone()).collect()
    }

    /// Reads the rest of the file, handing `COPY` text chunks to `sink` (which may block; that
    /// is the back-pressure that keeps memory bounded). Fails when more rows than allowed are
    /// rejected or the input cannot be read; the caller then discards what it loaded.
    pub fn encode(
        mut self,
        mut sink: impl FnMut(Vec<u8>) -> Result<(), ImportError>,
    ) -> Result<ReadSummary, ImportError> {
        let mut summary = ReadSummary::default();
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
        let sample = std::mem::take(&mut self.sample);
        for record in &sample {
            self.encode_row(record, &mut chunk, &mut summary)?;
            flush_if_full(&mut chunk, &mut sink)?;
        }
        drop(sample);
        let mut record = ByteRecord::new();
        while self
            .reader
            .read_byte_record(&mut record)
            .map_err(ImportError::read)?
        {
            self.encode_row(&record, &mut chunk, &mut summary)?;
            flush_if_full(&mut chunk, &mut sink)?;
        }
        if !chunk.is_empty() {
            sink(chunk)?;
        }
        Ok(summary)
    }

    fn encode_row(
        &self,
        record: &ByteRecord,
        chunk: &mut Vec<u8>,
        summary: &mut ReadSummary,
    ) -> Result<(), ImportError> {
        summary.rows_read += 1;
        match self.encode_fields(record, chunk) {
            Ok(()) => {
                summary.rows_accepted += 1;
                Ok(())
            }
            Err((column, message)) => {
                let line = record.position().map_or(0, csv::Position::line);
                summary.rows_rejected += 1;
                if summary.errors.len() < ERRORS_KEPT {
                    summary.errors.push(RowError {
                        line,
                        column,
                        message,
                    });
                }
                if summary.rows_rejected > self.max_rejected_rows {
                    return Err(ImportError::TooManyRejected {
                        limit: self.max_rejected_rows,
                        summary: Box::new(summary.clone()),
                    });
                }
                Ok(())
            }
        }
    }

    /// Appends one row; on error the chunk is left as it was.
    fn encode_fields(
        &self,
        record: &ByteRecord,
        chunk: &mut Vec<u8>,
    ) -> Result<(), (Option<String>, String)> {
        if record.len() != self.header_count {
            return Err((
                None,
                format!(
                    "expected {} fields, found {}",
                    self.header_count,
                    record.len()
                ),
            ));
        }
        let start = chunk.len();
        for (i, (position, column)) in self.columns.iter().enumerate() {
            if i > 0 {
                chunk.push(b'\t');
            }
            let result = std::str::from_utf8(&record[*position])
                .map_err(|_| {
                    format!(
                        "is not valid {} text",
                        self.encoding.name() // never the value: it may be anything
                    )
                })
                .and_then(|text| {
                    value::encode(text, column.column_type, chunk).map_err(|m| {
                        let shown: String = text.chars().take(40).collect();
                        format!("{m}, found {shown:?}")
                    })
                });
            if let Err(message) = result {
                chunk.truncate(start);
                return Err((Some(column.name.clone()), message));
            }
        }
        chunk.push(b'\n');
        Ok(())
    }
}

fn flush_if_full(
    chunk: &mut Vec<u8>,
    sink: &mut impl FnMut(Vec<u8>) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    if chunk.len() >= CHUNK_BYTES {
        let full = std::mem::replace(chunk, Vec::with_capacity(CHUNK_BYTES + 64 * 1024));
        sink(full)?;
    }
    Ok(())
}

/// Counts the bytes that pass through, for progress reporting.
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    /// `inner`, and the count of bytes read from it so far (readable from any thread).
    pub fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let count = Arc::new(AtomicU64::new(0));
        let reader = Counting {
            inner,
            count: count.clone(),
        };
        (reader, count)
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
