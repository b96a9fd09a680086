//! End-to-end tests: the real host, over HTTP, on a database of each test's own.

mod campaigns;
mod cors;
mod cron;
mod exports;
mod host;
mod identity;
mod pgtap;
mod rls_matrix;
mod scope;
mod sending;
mod tokens;
