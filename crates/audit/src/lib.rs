//! The audit trail. Data changes are recorded by the database itself (the
//! `app_private.audit_row_change` trigger on every business table, attached with
//! `app_private.enable_audit`); this crate records what only code can see — security events
//! such as denied access or a forged webhook signature — answers the admins' queries and CSV
//! exports, and purges entries past the retention period on a schedule.

mod events;
mod query;
mod retention;

pub use events::{SecurityEvent, admit_admins, record_access_denied, record_security_event};
pub use query::{
    AuditEntry, AuditFilter, AuditQueryError, CSV_EXPORT_PAGE, csv_header, csv_page, list,
};
pub use retention::{
    DEFAULT_RETENTION_DAYS, PURGE_JOB, PURGE_SCHEDULE, RETENTION_SETTING, ensure_schedule, purge,
    register,
};
