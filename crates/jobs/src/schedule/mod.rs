//! Cron schedules: evaluating cron expressions in a time zone ([`next_after`], [`validate`]),
//! storing schedules ([`upsert`]) and turning due occurrences into jobs exactly once
//! ([`fire_due`]).

mod cron;
mod firing;

pub use cron::{ScheduleError, next_after, validate};
pub use firing::{NewSchedule, fire_due, upsert};
