//! `schedule::next_after` and `schedule::validate`: wall-clock cron in IANA zones across
//! daylight-saving changes, and errors that name what is wrong.

use chrono::{DateTime, Utc};
use gimbal_jobs::schedule::{ScheduleError, next_after, validate};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("RFC 3339 instant")
}

fn next(cron: &str, zone: &str, after: &str) -> String {
    next_after(cron, zone, at(after))
        .expect("next run")
        .to_rfc3339()
}

/// The next `n` runs after `after`, as RFC 3339 UTC strings.
fn runs(cron: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
    let mut t = at(after);
    (0..n)
        .map(|_| {
            t = next_after(cron, zone, t).expect("next run");
            t.to_rfc3339()
        })
        .collect()
}

#[test]
fn utc_schedule_fires_at_the_next_matching_minute() {
    assert_eq!(
        next("*/15 * * * *", "UTC", "2025-06-01T10:07:30Z"),
        "2025-06-01T10:15:00+00:00"
    );
    assert_eq!(
        next("0 3 * * *", "UTC", "2025-06-01T03:00:00Z"),
        "2025-06-02T03:00:00+00:00"
    );
}

#[test]
fn new_york_spring_forward_runs_a_skipped_time_when_the_clocks_jump() {
    // 2025-03-09: 02:00 EST jumps to 03:00 EDT (07:00Z), so 02:30 does not exist that day.
    assert_eq!(
        runs("30 2 * * *", "America/New_York", "2025-03-09T05:00:00Z", 2),
        ["2025-03-09T07:00:00+00:00", "2025-03-10T06:30:00+00:00"]
    );
}

#[test]
fn new_york_daily_job_keeps_its_wall_clock_time_across_spring_forward() {
    assert_eq!(
        runs("0 9 * * *", "America/New_York", "2025-03-07T15:00:00Z", 3),
        [
            "2025-03-08T14:00:00+00:00",
            "2025-03-09T13:00:00+00:00",
            "2025-03-10T13:00:00+00:00"
        ]
    );
}

#[test]
fn new_york_hourly_job_fires_once_across_the_skipped_hour() {
    assert_eq!(
        runs("0 * * * *", "America/New_York", "2025-03-09T05:30:00Z", 3),
        [
            "2025-03-09T06:00:00+00:00",
            "2025-03-09T07:00:00+00:00",
            "2025-03-09T08:00:00+00:00"
        ]
    );
}

#[test]
fn new_york_fall_back_runs_a_daily_job_once_in_the_repeated_hour() {
    // 2025-11-02: 02:00 EDT falls back to 01:00 EST (06:00Z), so 01:30 happens twice.
    assert_eq!(
        runs("30 1 * * *", "America/New_York", "2025-11-02T04:00:00Z", 2),
        ["2025-11-02T05:30:00+00:00", "2025-11-03T06:30:00+00:00"]
    );
}

#[test]
fn new_york_fall_back_keeps_the_rhythm_of_an_every_half_hour_job() {
    assert_eq!(
        runs(
            "*/30 * * * *",
            "America/New_York",
            "2025-11-02T04:45:00Z",
            5
        ),
        [
            "2025-11-02T05:00:00+00:00", // 01:00 EDT
            "2025-11-02T05:30:00+00:00", // 01:30 EDT
            "2025-11-02T06:00:00+00:00", // 01:00 EST, the repeated hour
            "2025-11-02T06:30:00+00:00", // 01:30 EST
            "2025-11-02T07:00:00+00:00", // 02:00 EST
        ]
    );
}

#[test]
fn berlin_daily_job_follows_local_time_through_both_changes() {
    // Spring forward 2025-03-30 02:00 CET -> 03:00 CEST; fall back 2025-10-26 03:00 -> 02:00.
    assert_eq!(
        runs("15 3 * * *", "Europe/Berlin", "2025-03-29T00:00:00Z", 2),
        ["2025-03-29T02:15:00+00:00", "2025-03-30T01:15:00+00:00"]
    );
    assert_eq!(
        runs("15 3 * * *", "Europe/Berlin", "2025-10-25T00:00:00Z", 2),
        ["2025-10-25T01:15:00+00:00", "2025-10-26T02:15:00+00:00"]
    );
}

#[test]
fn berlin_skipped_and_repeated_times_fire_exactly_once() {
    assert_eq!(
        runs("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z", 2),
        ["2025-03-30T01:00:00+00:00", "2025-03-31T00:30:00+00:00"]
    );
    assert_eq!(
        runs("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00Z", 2),
        ["2025-10-26T00:30:00+00:00", "2025-10-27T01:30:00+00:00"]
    );
}

#[test]
fn aliases_such_as_daily_and_hourly_are_accepted() {
    assert_eq!(
        next("@daily", "UTC", "2025-06-01T10:00:00Z"),
        "2025-06-02T00:00:00+00:00"
    );
    assert_eq!(
        next("@hourly", "Europe/Berlin", "2025-06-01T10:00:00Z"),
        "2025-06-01T11:00:00+00:00"
    );
    assert_eq!(
        next("0 9 * * MON", "UTC", "2025-06-01T10:00:00Z"),
        "2025-06-02T09:00:00+00:00"
    );
}

#[test]
fn invalid_fields_are_named_in_the_error() {
    for (cron, field, value) in [
        ("61 * * * *", "minute", "61"),
        ("0 24 * * *", "hour", "24"),
        ("0 0 32 * *", "day-of-month", "32"),
        ("0 0 * 13 *", "month", "13"),
        ("0 0 * * 9", "day-of-week", "9"),
        ("0 x * * *", "hour", "x"),
    ] {
        let err = validate(cron, "UTC").unwrap_err();
        assert!(
            matches!(&err, ScheduleError::Field { field: f, value: v, .. } if *f == field && v == value),
            "{cron}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(field) && message.contains(value),
            "{message}"
        );
    }
}

#[test]
fn wrong_number_of_fields_is_reported() {
    let err = validate("* * *", "UTC").unwrap_err();
    assert_eq!(
        err,
        ScheduleError::FieldCount {
            cron: "* * *".into(),
            found: 3
        }
    );
    assert!(err.to_string().contains("expected 5"), "{err}");
    // Seconds are not part of a five-field expression.
    assert!(matches!(
        validate("0 0 3 * * *", "UTC"),
        Err(ScheduleError::FieldCount { found: 6, .. })
    ));
    assert_eq!(validate("  ", "UTC"), Err(ScheduleError::Empty));
}

#[test]
fn unknown_alias_is_reported() {
    let err = validate("@fortnightly", "UTC").unwrap_err();
    assert_eq!(
        err,
        ScheduleError::UnknownAlias {
            alias: "@fortnightly".into()
        }
    );
}

#[test]
fn unknown_time_zone_is_named_in_the_error() {
    let err = next_after("0 3 * * *", "Mars/Olympus_Mons", at("2025-01-01T00:00:00Z")).unwrap_err();
    assert_eq!(
        err,
        ScheduleError::TimeZone {
            zone: "Mars/Olympus_Mons".into()
        }
    );
    assert!(err.to_string().contains("Mars/Olympus_Mons"), "{err}");
    assert!(
        validate("0 3 * * *", "europe/berlin").is_err(),
        "zone names are case-sensitive"
    );
}

#[test]
fn a_date_that_never_exists_is_rejected() {
    let err = validate("0 0 30 2 *", "UTC").unwrap_err();
    assert!(matches!(err, ScheduleError::NeverMatches { .. }), "{err:?}");
}
