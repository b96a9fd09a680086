//! End-to-end tests: the real host, over HTTP, on a database of each test's own.

mod admin_users;
mod app_settings;
mod audit;
mod auth_hook;
mod campaigns;
mod contacts_import;
mod cors;
mod cron;
mod dashboards;
mod exports;
mod host;
mod identity;
mod imports;
mod integrations;
mod messaging_writes;
mod notifications;
mod oauth;
mod pgtap;
mod render_template;
mod reports;
mod rls_matrix;
mod scope;
mod sending;
mod sync;
mod tokens;
mod webhooks;
