//! When a cron expression fires: five-field expressions (or `@daily`-style aliases) evaluated on
//! the wall clock of an IANA time zone, with daylight-saving changes handled the way Vixie cron
//! handles them:
//! - a time skipped by a spring-forward change fires once, at the moment the clocks jump;
//! - a time repeated by a fall-back change fires once (on its first pass), except for
//!   expressions that fire every hour, which keep their rhythm through the repeated hour.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use croner::{Cron, errors::CronError};

const FIELDS: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// Wall-clock matches examined before giving up (each is a real match, so this is generous).
const MAX_STEPS: usize = 1_000;
/// No zone skips more than a day (Samoa skipped exactly one in 2011).
const MAX_GAP_MINUTES: i64 = 24 * 60 + 1;
/// A fall-back change is looked for only this close to `after`: further away, the expression
/// would already have matched on the first pass of the repeated hour.
const REPEAT_WINDOW: TimeDelta = TimeDelta::hours(3);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron expression is empty")]
    Empty,
    #[error(
        "cron expression {cron:?} has {found} fields; expected 5 \
         (minute hour day-of-month month day-of-week)"
    )]
    FieldCount { cron: String, found: usize },
    #[error(
        "unknown cron alias {alias:?}; expected @yearly, @annually, @monthly, @weekly, @daily \
         or @hourly"
    )]
    UnknownAlias { alias: String },
    #[error("invalid {field} field {value:?} in cron expression {cron:?}: {reason}")]
    Field {
        field: &'static str,
        value: String,
        cron: String,
        reason: String,
    },
    #[error("invalid cron expression {cron:?}: {reason}")]
    Invalid { cron: String, reason: String },
    #[error("unknown time zone {zone:?}; expected an IANA name such as \"Europe/Berlin\"")]
    TimeZone { zone: String },
    #[error("cron expression {cron:?} never matches a date")]
    NeverMatches { cron: String },
}

/// The first time after `after` (strictly) at which `cron` fires in `time_zone`.
pub fn next_after(
    cron: &str,
    time_zone: &str,
    after: DateTime<Utc>,
) -> Result<DateTime<Utc>, ScheduleError> {
    CronSchedule::parse(cron, time_zone)?.next_after(after)
}

/// Checks that `cron` parses, `time_zone` exists and the pair fires at least once more.
pub fn validate(cron: &str, time_zone: &str) -> Result<(), ScheduleError> {
    next_after(cron, time_zone, Utc::now()).map(drop)
}

struct CronSchedule {
    cron: Cron,
    zone: Tz,
    source: String,
    /// Every hour of the day matches: such expressions keep firing through a repeated hour.
    every_hour: bool,
}

impl CronSchedule {
    fn parse(cron: &str, time_zone: &str) -> Result<Self, ScheduleError> {
        let zone = time_zone
            .parse::<Tz>()
            .map_err(|_| ScheduleError::TimeZone {
                zone: time_zone.to_string(),
            })?;
        let parsed = parse_cron(cron)?;
        let every_hour = (0..24).all(|h| parsed.pattern.hour_match(h).unwrap_or(false));
        Ok(CronSchedule {
            cron: parsed,
            zone,
            source: cron.to_string(),
            every_hour,
        })
    }

    fn next_after(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        let after = after.with_nanosecond(0).unwrap_or(after);
        let next = self.first_on_wall_clock(after)?;
        match self.in_repeated_hour(after, next)? {
            Some(repeat) if repeat < next => Ok(repeat),
            _ => Ok(next),
        }
    }

    /// Walks the wall-clock matches forward from `after`'s local time and returns the first one
    /// that maps to an instant later than `after`.
    fn first_on_wall_clock(&self, after: DateTime<Utc>) -> Result<DateTime<Utc>, ScheduleError> {
        let mut local = after.with_timezone(&self.zone).naive_local();
        for _ in 0..MAX_STEPS {
            local = self.next_local(local, false)?;
            if let Some(instant) = self.instant_for(local, after) {
                return Ok(instant);
            }
        }
        Err(self.never_matches())
    }

    /// The next wall-clock time matching the expression, ignoring time zones altogether.
    fn next_local(
        &self,
        local: NaiveDateTime,
        inclusive: bool,
    ) -> Result<NaiveDateTime, ScheduleError> {
        self.cron
            .find_next_occurrence(&Utc.from_utc_datetime(&local), inclusive)
            .map(|t| t.naive_utc())
            .map_err(|_| self.never_matches())
    }

    fn instant_for(&self, local: NaiveDateTime, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let later = |t: DateTime<Utc>| (t > after).then_some(t);
        match self.zone.from_local_datetime(&local) {
            LocalResult::Single(t) => later(t.to_utc()),
            LocalResult::Ambiguous(a, b) => {
                let (first, second) = (a.min(b).to_utc(), a.max(b).to_utc());
                later(first).or_else(|| self.every_hour.then(|| later(second)).flatten())
            }
            LocalResult::None => later(self.end_of_gap(local)?),
        }
    }

    /// The instant the clocks jumped over `local`.
    fn end_of_gap(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        let start = local.with_second(0)?;
        (1..=MAX_GAP_MINUTES).find_map(|m| {
            let candidate = start + TimeDelta::minutes(m);
            self.zone
                .from_local_datetime(&candidate)
                .earliest()
                .map(|t| t.to_utc())
        })
    }

    /// For hourly expressions, a match in the second pass of an hour that a fall-back change
    /// repeats between `after` and `next` (the wall-clock walk cannot see it: the clock went back).
    fn in_repeated_hour(
        &self,
        after: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let offset = |t: DateTime<Utc>| self.zone.offset_from_utc_datetime(&t.naive_utc()).fix();
        let fell_back = offset(next).local_minus_utc() < offset(after).local_minus_utc();
        if !self.every_hour || !fell_back || next - after > REPEAT_WINDOW {
            return Ok(None);
        }
        let change = first_change(after, next, |t| offset(t) != offset(after));
        let local = change.with_timezone(&self.zone).naive_local();
        let candidate = self.next_local(local, true)?;
        let instant = match self.zone.from_local_datetime(&candidate) {
            LocalResult::Single(t) => Some(t.to_utc()),
            LocalResult::Ambiguous(a, b) => Some(a.max(b).to_utc()),
            LocalResult::None => None,
        };
        Ok(instant.filter(|t| *t > after))
    }

    fn never_matches(&self) -> ScheduleError {
        ScheduleError::NeverMatches {
            cron: self.source.clone(),
        }
    }
}

/// The first whole second in `(from, to]` at which `changed` holds, given that it holds at `to`
/// and flips only once in between.
fn first_change(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    changed: impl Fn(DateTime<Utc>) -> bool,
) -> DateTime<Utc> {
    let second = |s: i64| DateTime::from_timestamp(s, 0).unwrap_or(to);
    let (mut lo, mut hi) = (from.timestamp(), to.timestamp());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if changed(second(mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    second(hi)
}

fn parse_cron(cron: &str) -> Result<Cron, ScheduleError> {
    let trimmed = cron.trim();
    if trimmed.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if trimmed.starts_with('@') {
        return Cron::new(trimmed)
            .parse()
            .map_err(|_| ScheduleError::UnknownAlias {
                alias: trimmed.to_string(),
            });
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(ScheduleError::FieldCount {
            cron: cron.to_string(),
            found: fields.len(),
        });
    }
    Cron::new(trimmed)
        .parse()
        .map_err(|err| blame_field(cron, &fields, err))
}

/// Croner reports what is wrong but not where, so each field is tried on its own to name the
/// culprit.
fn blame_field(cron: &str, fields: &[&str], err: CronError) -> ScheduleError {
    for (i, value) in fields.iter().enumerate() {
        let mut probe = ["*"; 5];
        probe[i] = value;
        if let Err(field_err) = Cron::new(&probe.join(" ")).parse() {
            return ScheduleError::Field {
                field: FIELDS[i],
                value: value.to_string(),
                cron: cron.to_string(),
                reason: reason(field_err),
            };
        }
    }
    ScheduleError::Invalid {
        cron: cron.to_string(),
        reason: reason(err),
    }
}

fn reason(err: CronError) -> String {
    match err {
        CronError::ComponentError(msg)
        | CronError::InvalidPattern(msg)
        | CronError::IllegalCharacters(msg) => msg,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn first_change_finds_the_flip_to_the_second() {
        let flip = at("2025-01-01T00:17:42Z");
        let found = first_change(
            at("2025-01-01T00:00:00Z"),
            at("2025-01-01T01:00:00Z"),
            |t| t >= flip,
        );
        assert_eq!(found, flip);
    }

    #[test]
    fn sub_second_after_still_finds_the_same_minute_boundary() {
        let next = next_after("* * * * *", "UTC", at("2025-01-01T00:00:59.500Z")).unwrap();
        assert_eq!(next, at("2025-01-01T00:01:00Z"));
    }
}
