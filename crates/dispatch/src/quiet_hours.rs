//! Quiet hours: marketing SMS only between 8:00 and 21:00 in the recipient's local time (TCPA).
//! A recipient outside the window is deferred to the start of the next one, computed with the
//! zone's real rules (DST included), never dropped. The configured window (`quiet_hours` in
//! app settings) may narrow the legal one but never widen it.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The hours during which marketing SMS may be sent, local time, `start <= t < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

fn legal_start() -> NaiveTime {
    NaiveTime::from_hms_opt(8, 0, 0).expect("valid time")
}

fn legal_end() -> NaiveTime {
    NaiveTime::from_hms_opt(21, 0, 0).expect("valid time")
}

impl Default for SendWindow {
    fn default() -> Self {
        SendWindow {
            start: legal_start(),
            end: legal_end(),
        }
    }
}

impl SendWindow {
    /// The configured window clamped to 8:00–21:00; an empty or inverted one falls back to the
    /// legal window.
    pub fn clamped(start: NaiveTime, end: NaiveTime) -> Self {
        let start = start.max(legal_start());
        let end = end.min(legal_end());
        if start < end {
            SendWindow { start, end }
        } else {
            SendWindow::default()
        }
    }

    /// Parses `{"start": "08:00", "end": "21:00"}` (either may be missing).
    pub fn from_setting(value: Option<&serde_json::Value>) -> Self {
        let time = |key: &str| {
            value
                .and_then(|v| v.get(key))
                .and_then(|v| v.as_str())
                .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
        };
        SendWindow::clamped(
            time("start").unwrap_or_else(legal_start),
            time("end").unwrap_or_else(legal_end),
        )
    }

    /// When a message to someone in `zone` may go out: `now` if inside the window, otherwise
    /// the next window start.
    pub fn next_allowed(&self, now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let local = now.with_timezone(&zone);
        let time = local.time();
        if time >= self.start && time < self.end {
            return now;
        }
        let day = if time < self.start {
            local.date_naive()
        } else {
            local.date_naive() + Duration::days(1)
        };
        // a start inside a DST gap (never 8:00 in practice) moves to the first valid instant.
        let mut naive = day.and_time(self.start);
        for _ in 0..4 {
            if let Some(start) = zone.from_local_datetime(&naive).earliest() {
                return start.with_timezone(&Utc);
            }
            naive += Duration::minutes(30);
        }
        now + Duration::hours(1)
    }
}

/// The zone for a recipient: theirs when valid, else the default.
pub fn zone_or(name: Option<&str>, default: Tz) -> Tz {
    name.and_then(|n| n.parse::<Tz>().ok()).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn window() -> SendWindow {
        SendWindow::default()
    }

    #[test]
    fn inside_the_window_sends_now() {
        let now = utc("2026-06-01T15:00:00Z"); // 11:00 in New York
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            now
        );
    }

    #[test]
    fn late_evening_waits_for_tomorrow_morning() {
        let now = utc("2026-06-02T01:30:00Z"); // 21:30 EDT on June 1
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            utc("2026-06-02T12:00:00Z")
        );
    }

    #[test]
    fn early_morning_waits_for_eight_the_same_day() {
        let now = utc("2026-06-01T00:30:00Z"); // 06:00 IST
        assert_eq!(
            window().next_allowed(now, chrono_tz::Asia::Kolkata),
            utc("2026-06-01T02:30:00Z")
        );
    }

    #[test]
    fn spring_forward_in_new_york() {
        // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. At 01:00 EST (06:00Z) the next
        // 8:00 is already EDT: 12:00Z, not 13:00Z.
        let now = utc("2026-03-08T06:00:00Z");
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            utc("2026-03-08T12:00:00Z")
        );
        // The evening before (21:30 EST on March 7) also lands on 8:00 EDT.
        let now = utc("2026-03-08T02:30:00Z");
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            utc("2026-03-08T12:00:00Z")
        );
    }

    #[test]
    fn fall_back_in_new_york() {
        // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST; 8:00 that day is EST (13:00Z).
        let now = utc("2026-11-01T05:30:00Z"); // 01:30 EDT, the first of two
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            utc("2026-11-01T13:00:00Z")
        );
        // 20:59 EST the same day is still inside; 21:00 EST is not.
        let inside = utc("2026-11-02T01:59:00Z");
        assert_eq!(
            window().next_allowed(inside, chrono_tz::America::New_York),
            inside
        );
        assert_eq!(
            window().next_allowed(utc("2026-11-02T02:00:00Z"), chrono_tz::America::New_York),
            utc("2026-11-02T13:00:00Z")
        );
    }

    #[test]
    fn auckland_across_its_own_dst_change() {
        // NZ DST ends 2026-04-05 03:00 NZDT -> 02:00 NZST. 22:00 NZDT on April 4 (09:00Z)
        // waits for 8:00 NZST on April 5 = 20:00Z on April 4.
        let now = utc("2026-04-04T09:00:00Z");
        assert_eq!(
            window().next_allowed(now, chrono_tz::Pacific::Auckland),
            utc("2026-04-04T20:00:00Z")
        );
        // The same instant is 05:00 EDT in New York: outside too, until 8:00 there.
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            utc("2026-04-04T12:00:00Z")
        );
    }

    #[test]
    fn one_instant_is_inside_for_one_zone_and_outside_for_another() {
        let now = utc("2026-06-01T14:00:00Z"); // 10:00 New York, 19:30 Kolkata, 02:00 Auckland
        assert_eq!(
            window().next_allowed(now, chrono_tz::America::New_York),
            now
        );
        assert_eq!(window().next_allowed(now, chrono_tz::Asia::Kolkata), now);
        assert_eq!(
            window().next_allowed(now, chrono_tz::Pacific::Auckland),
            utc("2026-06-01T20:00:00Z")
        );
    }

    #[test]
    fn configured_window_can_narrow_but_not_widen() {
        let w =
            SendWindow::from_setting(Some(&serde_json::json!({"start": "06:00", "end": "23:00"})));
        assert_eq!(w, SendWindow::default());
        let w =
            SendWindow::from_setting(Some(&serde_json::json!({"start": "10:00", "end": "18:00"})));
        assert_eq!(w.start, NaiveTime::from_hms_opt(10, 0, 0).unwrap());
        assert_eq!(w.end, NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        assert_eq!(SendWindow::from_setting(None), SendWindow::default());
    }

    #[test]
    fn unknown_zone_falls_back_to_the_default() {
        assert_eq!(
            zone_or(Some("Mars/Olympus"), chrono_tz::UTC),
            chrono_tz::UTC
        );
        assert_eq!(
            zone_or(Some("Asia/Kolkata"), chrono_tz::UTC),
            chrono_tz::Asia::Kolkata
        );
    }
}
