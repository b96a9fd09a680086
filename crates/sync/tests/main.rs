//! Connectors against local servers speaking the providers' wire formats and a real second
//! PostgreSQL database; sync runs against a real, migrated database.

mod support;

mod ga4;
mod meta;
mod mysql;
mod postgres;
mod rest;
