//! Integration tests for gimbal-jobs. Every database test gets a database of its own, reached
//! as `authenticator` exactly like production; fixtures and inspection go through a superuser.

mod concurrency;
mod leader;
mod leases;
mod maintenance;
mod queue;
mod retries;
mod schedule_times;
mod schedules;
mod support;
mod worker;
