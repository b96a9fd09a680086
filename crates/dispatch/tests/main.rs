//! The sending engine against a real database and local servers speaking Twilio's and
//! SendGrid's wire formats.

mod support;

mod control;
mod counts;
mod exactly_once;
mod faults;
mod quiet_hours;
mod scheduled;
mod transactional;
