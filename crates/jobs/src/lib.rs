//! gimbal-jobs: the Postgres-backed job queue (`for update skip locked`, leases with heartbeats,
//! retries with backoff, dead letters), cron schedules fired exactly once, scheduler leader
//! election by advisory lock, and the worker loop. Every statement runs in a service-role
//! transaction begun through `gimbal_db::scope`.

mod error;
mod handler;
pub mod leader;
pub mod maintenance;
mod queue;
pub mod schedule;
mod service;
mod worker;

pub use error::JobError;
pub use handler::{BoxFuture, JobContext, JobFailure, JobHandler, JobResult, Registry};
pub use queue::{NewJob, enqueue};
pub use schedule::ScheduleError;
pub use worker::{Jobs, TickReport, WorkerConfig};
