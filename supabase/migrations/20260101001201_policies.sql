-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: policies/*.sql

-- policies/analytics.sql
-- imported data, analytics data and sync logs: written by syncs (service_role).
--   imported_data, analytics_data  members read; admins may also delete (to drop bad
--                                  imports); nobody but service_role inserts or updates
--   sync_logs                      members read; only service_role writes

alter table public.imported_data enable row level security;
alter table public.imported_data force row level security;

revoke all on public.imported_data from anon, authenticated;
grant select, delete on public.imported_data to authenticated;
grant select, insert, update, delete on public.imported_data to service_role;
revoke all on sequence public.imported_data_id_seq from anon, authenticated;
grant usage, select on sequence public.imported_data_id_seq to service_role;

drop policy if exists imported_data_select on public.imported_data;
create policy imported_data_select on public.imported_data
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists imported_data_delete on public.imported_data;
create policy imported_data_delete on public.imported_data
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.analytics_data enable row level security;
alter table public.analytics_data force row level security;

revoke all on public.analytics_data from anon, authenticated;
grant select, delete on public.analytics_data to authenticated;
grant select, insert, update, delete on public.analytics_data to service_role;
revoke all on sequence public.analytics_data_id_seq from anon, authenticated;
grant usage, select on sequence public.analytics_data_id_seq to service_role;

drop policy if exists analytics_data_select on public.analytics_data;
create policy analytics_data_select on public.analytics_data
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists analytics_data_delete on public.analytics_data;
create policy analytics_data_delete on public.analytics_data
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.sync_logs enable row level security;
alter table public.sync_logs force row level security;

revoke all on public.sync_logs from anon, authenticated;
grant select on public.sync_logs to authenticated;
grant select, insert, update, delete on public.sync_logs to service_role;

drop policy if exists sync_logs_select on public.sync_logs;
create policy sync_logs_select on public.sync_logs
  for select to authenticated
  using ((select app_private.is_member()));

-- policies/audit.sql
-- audit log: admins read; service_role (and the audit triggers) insert and read;
-- nobody updates or deletes, service_role included (it bypasses rls, so privileges
-- are what keep the log append-only).

alter table public.audit_logs enable row level security;
alter table public.audit_logs force row level security;

revoke all on public.audit_logs from anon, authenticated, service_role;
grant select on public.audit_logs to authenticated;
grant select, insert on public.audit_logs to service_role;
revoke all on sequence public.audit_logs_id_seq from anon, authenticated;
grant usage, select on sequence public.audit_logs_id_seq to service_role;

drop policy if exists audit_logs_select on public.audit_logs;
create policy audit_logs_select on public.audit_logs
  for select to authenticated
  using ((select app_private.is_admin()));

-- retention: entries leave the log only through app_private.purge_audit_logs (a security
-- definer run by the scheduled purge job, as service_role); no policy admits a delete.

-- policies/campaigns.sql
-- campaigns: the "read all, write own" rule.
--   viewer        read every row
--   user          read every row; insert, update and delete the rows they created
--                 (created_by = auth.uid()); the with check clauses keep created_by equal to
--                 the caller, so a user can neither create rows for someone else nor hand
--                 a row over
--   admin         everything
--   service_role  everything (bypasses rls)
--   anon          nothing

alter table public.campaigns enable row level security;
alter table public.campaigns force row level security;

revoke all on public.campaigns from anon, authenticated;
grant select, insert, update, delete on public.campaigns to authenticated, service_role;

drop policy if exists campaigns_select on public.campaigns;
create policy campaigns_select on public.campaigns
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists campaigns_insert on public.campaigns;
create policy campaigns_insert on public.campaigns
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists campaigns_update on public.campaigns;
create policy campaigns_update on public.campaigns
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists campaigns_delete on public.campaigns;
create policy campaigns_delete on public.campaigns
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

-- policies/contacts.sql
-- contacts, audiences, audience membership, consent records and suppressions: the
-- campaign team's working data.
--   user          read, insert and update every row; no delete (removing people or
--                 consent evidence is an admin decision)
--   admin         everything
--   service_role  everything (bypasses rls)
--   viewer, anon  nothing: contact details are personal data, not analytics

alter table public.contacts enable row level security;
alter table public.contacts force row level security;

revoke all on public.contacts from anon, authenticated;
grant select, insert, update, delete on public.contacts to authenticated, service_role;

drop policy if exists contacts_select on public.contacts;
create policy contacts_select on public.contacts
  for select to authenticated
  using ((select app_private.can_write()));

drop policy if exists contacts_insert on public.contacts;
create policy contacts_insert on public.contacts
  for insert to authenticated
  with check ((select app_private.can_write()));

drop policy if exists contacts_update on public.contacts;
create policy contacts_update on public.contacts
  for update to authenticated
  using ((select app_private.can_write()))
  with check ((select app_private.can_write()));

drop policy if exists contacts_delete on public.contacts;
create policy contacts_delete on public.contacts
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.audiences enable row level security;
alter table public.audiences force row level security;

revoke all on public.audiences from anon, authenticated;
grant select, insert, update, delete on public.audiences to authenticated, service_role;

drop policy if exists audiences_select on public.audiences;
create policy audiences_select on public.audiences
  for select to authenticated
  using ((select app_private.can_write()));

drop policy if exists audiences_insert on public.audiences;
create policy audiences_insert on public.audiences
  for insert to authenticated
  with check ((select app_private.can_write()));

drop policy if exists audiences_update on public.audiences;
create policy audiences_update on public.audiences
  for update to authenticated
  using ((select app_private.can_write()))
  with check ((select app_private.can_write()));

drop policy if exists audiences_delete on public.audiences;
create policy audiences_delete on public.audiences
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.audience_contacts enable row level security;
alter table public.audience_contacts force row level security;

revoke all on public.audience_contacts from anon, authenticated;
grant select, insert, update, delete on public.audience_contacts to authenticated, service_role;

drop policy if exists audience_contacts_select on public.audience_contacts;
create policy audience_contacts_select on public.audience_contacts
  for select to authenticated
  using ((select app_private.can_write()));

drop policy if exists audience_contacts_insert on public.audience_contacts;
create policy audience_contacts_insert on public.audience_contacts
  for insert to authenticated
  with check ((select app_private.can_write()));

drop policy if exists audience_contacts_update on public.audience_contacts;
create policy audience_contacts_update on public.audience_contacts
  for update to authenticated
  using ((select app_private.can_write()))
  with check ((select app_private.can_write()));

drop policy if exists audience_contacts_delete on public.audience_contacts;
create policy audience_contacts_delete on public.audience_contacts
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.contact_consents enable row level security;
alter table public.contact_consents force row level security;

revoke all on public.contact_consents from anon, authenticated;
grant select, insert, update, delete on public.contact_consents to authenticated, service_role;

drop policy if exists contact_consents_select on public.contact_consents;
create policy contact_consents_select on public.contact_consents
  for select to authenticated
  using ((select app_private.can_write()));

drop policy if exists contact_consents_insert on public.contact_consents;
create policy contact_consents_insert on public.contact_consents
  for insert to authenticated
  with check ((select app_private.can_write()));

drop policy if exists contact_consents_update on public.contact_consents;
create policy contact_consents_update on public.contact_consents
  for update to authenticated
  using ((select app_private.can_write()))
  with check ((select app_private.can_write()));

drop policy if exists contact_consents_delete on public.contact_consents;
create policy contact_consents_delete on public.contact_consents
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.suppressions enable row level security;
alter table public.suppressions force row level security;

revoke all on public.suppressions from anon, authenticated;
grant select, insert, update, delete on public.suppressions to authenticated, service_role;

drop policy if exists suppressions_select on public.suppressions;
create policy suppressions_select on public.suppressions
  for select to authenticated
  using ((select app_private.can_write()));

drop policy if exists suppressions_insert on public.suppressions;
create policy suppressions_insert on public.suppressions
  for insert to authenticated
  with check ((select app_private.can_write()));

drop policy if exists suppressions_update on public.suppressions;
create policy suppressions_update on public.suppressions
  for update to authenticated
  using ((select app_private.can_write()))
  with check ((select app_private.can_write()));

drop policy if exists suppressions_delete on public.suppressions;
create policy suppressions_delete on public.suppressions
  for delete to authenticated
  using ((select app_private.is_admin()));

-- policies/content.sql
-- templates, reports, dashboards, data sources (metadata) and import tables: the
-- "read all, write own" rule.
--   viewer        read every row
--   user          read every row; insert, update and delete the rows they created
--                 (created_by = auth.uid()); the with check clauses keep created_by equal to
--                 the caller, so a user can neither create rows for someone else nor hand
--                 a row over
--   admin         everything
--   service_role  everything (bypasses rls)
--   anon          nothing

alter table public.templates enable row level security;
alter table public.templates force row level security;

revoke all on public.templates from anon, authenticated;
grant select, insert, update, delete on public.templates to authenticated, service_role;

drop policy if exists templates_select on public.templates;
create policy templates_select on public.templates
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists templates_insert on public.templates;
create policy templates_insert on public.templates
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists templates_update on public.templates;
create policy templates_update on public.templates
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists templates_delete on public.templates;
create policy templates_delete on public.templates
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

alter table public.reports enable row level security;
alter table public.reports force row level security;

revoke all on public.reports from anon, authenticated;
grant select, insert, update, delete on public.reports to authenticated, service_role;

drop policy if exists reports_select on public.reports;
create policy reports_select on public.reports
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists reports_insert on public.reports;
create policy reports_insert on public.reports
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists reports_update on public.reports;
create policy reports_update on public.reports
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists reports_delete on public.reports;
create policy reports_delete on public.reports
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

alter table public.dashboards enable row level security;
alter table public.dashboards force row level security;

revoke all on public.dashboards from anon, authenticated;
grant select, insert, update, delete on public.dashboards to authenticated, service_role;

drop policy if exists dashboards_select on public.dashboards;
create policy dashboards_select on public.dashboards
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists dashboards_insert on public.dashboards;
create policy dashboards_insert on public.dashboards
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists dashboards_update on public.dashboards;
create policy dashboards_update on public.dashboards
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists dashboards_delete on public.dashboards;
create policy dashboards_delete on public.dashboards
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

alter table public.data_sources enable row level security;
alter table public.data_sources force row level security;

revoke all on public.data_sources from anon, authenticated;
grant select, insert, update, delete on public.data_sources to authenticated, service_role;

drop policy if exists data_sources_select on public.data_sources;
create policy data_sources_select on public.data_sources
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists data_sources_insert on public.data_sources;
create policy data_sources_insert on public.data_sources
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists data_sources_update on public.data_sources;
create policy data_sources_update on public.data_sources
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists data_sources_delete on public.data_sources;
create policy data_sources_delete on public.data_sources
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

alter table public.import_tables enable row level security;
alter table public.import_tables force row level security;

revoke all on public.import_tables from anon, authenticated;
grant select, insert, update, delete on public.import_tables to authenticated, service_role;

drop policy if exists import_tables_select on public.import_tables;
create policy import_tables_select on public.import_tables
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists import_tables_insert on public.import_tables;
create policy import_tables_insert on public.import_tables
  for insert to authenticated
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists import_tables_update on public.import_tables;
create policy import_tables_update on public.import_tables
  for update to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  )
  with check (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

drop policy if exists import_tables_delete on public.import_tables;
create policy import_tables_delete on public.import_tables
  for delete to authenticated
  using (
    (select app_private.is_admin())
      or ((select app_private.can_write()) and created_by = (select auth.uid()))
  );

-- policies/dashboards.sql
-- dashboard rollups, report runs and the dashboard api.
--   message_stats_hourly, message_totals_hourly, analytics_daily, analytics_totals_daily
--                                          members read; admins may delete (to drop figures
--                                          of bad imports); the triggers (security definer)
--                                          and service_role write
--   report_runs                            members read; only service_role writes (the
--                                          report functions record runs as the system)
--   dashboard_summary / _series / _breakdown  callable by signed-in users and service_role,
--                                          never by anon; security invoker, so the rollups'
--                                          policies decide what they see

alter table public.message_stats_hourly enable row level security;
alter table public.message_stats_hourly force row level security;

revoke all on public.message_stats_hourly from anon, authenticated;
grant select, delete on public.message_stats_hourly to authenticated;
grant select, insert, update, delete on public.message_stats_hourly to service_role;

drop policy if exists message_stats_hourly_select on public.message_stats_hourly;
create policy message_stats_hourly_select on public.message_stats_hourly
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists message_stats_hourly_delete on public.message_stats_hourly;
create policy message_stats_hourly_delete on public.message_stats_hourly
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.analytics_daily enable row level security;
alter table public.analytics_daily force row level security;

revoke all on public.analytics_daily from anon, authenticated;
grant select, delete on public.analytics_daily to authenticated;
grant select, insert, update, delete on public.analytics_daily to service_role;

drop policy if exists analytics_daily_select on public.analytics_daily;
create policy analytics_daily_select on public.analytics_daily
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists analytics_daily_delete on public.analytics_daily;
create policy analytics_daily_delete on public.analytics_daily
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.message_totals_hourly enable row level security;
alter table public.message_totals_hourly force row level security;

revoke all on public.message_totals_hourly from anon, authenticated;
grant select, delete on public.message_totals_hourly to authenticated;
grant select, insert, update, delete on public.message_totals_hourly to service_role;

drop policy if exists message_totals_hourly_select on public.message_totals_hourly;
create policy message_totals_hourly_select on public.message_totals_hourly
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists message_totals_hourly_delete on public.message_totals_hourly;
create policy message_totals_hourly_delete on public.message_totals_hourly
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.analytics_totals_daily enable row level security;
alter table public.analytics_totals_daily force row level security;

revoke all on public.analytics_totals_daily from anon, authenticated;
grant select, delete on public.analytics_totals_daily to authenticated;
grant select, insert, update, delete on public.analytics_totals_daily to service_role;

drop policy if exists analytics_totals_daily_select on public.analytics_totals_daily;
create policy analytics_totals_daily_select on public.analytics_totals_daily
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists analytics_totals_daily_delete on public.analytics_totals_daily;
create policy analytics_totals_daily_delete on public.analytics_totals_daily
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.report_runs enable row level security;
alter table public.report_runs force row level security;

revoke all on public.report_runs from anon, authenticated;
grant select on public.report_runs to authenticated;
grant select, insert, update, delete on public.report_runs to service_role;

drop policy if exists report_runs_select on public.report_runs;
create policy report_runs_select on public.report_runs
  for select to authenticated
  using ((select app_private.is_member()));

-- functions are executable by public by default; the api ones are for signed-in callers.
revoke all on function
  public.dashboard_summary(date, date, text, text, uuid),
  public.dashboard_series(date, date, text, text, text, uuid),
  public.dashboard_breakdown(date, date, text, text, integer, text, uuid)
from public, anon;
grant execute on function
  public.dashboard_summary(date, date, text, text, uuid),
  public.dashboard_series(date, date, text, text, text, uuid),
  public.dashboard_breakdown(date, date, text, text, integer, text, uuid)
to authenticated, service_role;

-- a supabase_realtime publication created after the migration gets the tables now.
select app_private.publish_dashboard_tables();

-- policies/dispatch.sql
-- the local providers' outbox (gimbal dev): like the message tables it mirrors, written only by
-- service-role code; users and admins read it; viewers and anon see nothing (addresses, bodies).
-- authenticated holds select only, so a client write fails outright with 42501.

alter table public.local_outbox enable row level security;
alter table public.local_outbox force row level security;

revoke all on public.local_outbox from anon, authenticated;
grant select on public.local_outbox to authenticated;
grant select, insert, update, delete on public.local_outbox to service_role;

drop policy if exists local_outbox_select on public.local_outbox;
create policy local_outbox_select on public.local_outbox
  for select to authenticated
  using ((select app_private.can_write()));

-- policies/imports.sql
-- single-use oauth states and keyless import runs (V12).
--   oauth_states   service_role only (oauth-start records, oauth-callback consumes); nobody else
--   import_runs    members read (as import_tables); service_role writes (the load runs as it)

alter table public.oauth_states enable row level security;
alter table public.oauth_states force row level security;

revoke all on public.oauth_states from anon, authenticated;
grant select, insert, update, delete on public.oauth_states to service_role;

alter table public.import_runs enable row level security;
alter table public.import_runs force row level security;

revoke all on public.import_runs from anon, authenticated;
grant select on public.import_runs to authenticated;
grant select, insert, update, delete on public.import_runs to service_role;

drop policy if exists import_runs_select on public.import_runs;
create policy import_runs_select on public.import_runs
  for select to authenticated
  using ((select app_private.is_member()));

-- policies/jobs.sql
-- jobs and cron schedules.
--   jobs            members read (job status); only service_role writes (enqueueing,
--                   claiming and finishing are server-side)
--   cron_schedules  members read; admins manage; service_role all

alter table public.jobs enable row level security;
alter table public.jobs force row level security;

-- no client writes jobs, so authenticated holds select only.
revoke all on public.jobs from anon, authenticated;
grant select on public.jobs to authenticated;
grant select, insert, update, delete on public.jobs to service_role;
revoke all on sequence public.jobs_id_seq from anon, authenticated;
grant usage, select on sequence public.jobs_id_seq to service_role;

drop policy if exists jobs_select on public.jobs;
create policy jobs_select on public.jobs
  for select to authenticated
  using ((select app_private.is_member()));

alter table public.cron_schedules enable row level security;
alter table public.cron_schedules force row level security;

revoke all on public.cron_schedules from anon, authenticated;
grant select, insert, update, delete on public.cron_schedules to authenticated, service_role;
revoke all on sequence public.cron_schedules_id_seq from anon;
grant usage, select on sequence public.cron_schedules_id_seq to authenticated, service_role;

drop policy if exists cron_schedules_select on public.cron_schedules;
create policy cron_schedules_select on public.cron_schedules
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists cron_schedules_insert on public.cron_schedules;
create policy cron_schedules_insert on public.cron_schedules
  for insert to authenticated
  with check ((select app_private.is_admin()));

drop policy if exists cron_schedules_update on public.cron_schedules;
create policy cron_schedules_update on public.cron_schedules
  for update to authenticated
  using ((select app_private.is_admin()))
  with check ((select app_private.is_admin()));

drop policy if exists cron_schedules_delete on public.cron_schedules;
create policy cron_schedules_delete on public.cron_schedules
  for delete to authenticated
  using ((select app_private.is_admin()));

-- policies/messages.sql
-- sms messages, email messages and provider events: written only by service-role code
-- (the dispatcher and webhook processing); users and admins read them; viewers and anon
-- see nothing (they hold phone numbers, addresses and message bodies).
-- authenticated holds select only, so a client write fails outright with 42501.

alter table public.sms_messages enable row level security;
alter table public.sms_messages force row level security;

revoke all on public.sms_messages from anon, authenticated;
grant select on public.sms_messages to authenticated;
grant select, insert, update, delete on public.sms_messages to service_role;

drop policy if exists sms_messages_select on public.sms_messages;
create policy sms_messages_select on public.sms_messages
  for select to authenticated
  using ((select app_private.can_write()));

alter table public.email_messages enable row level security;
alter table public.email_messages force row level security;

revoke all on public.email_messages from anon, authenticated;
grant select on public.email_messages to authenticated;
grant select, insert, update, delete on public.email_messages to service_role;

drop policy if exists email_messages_select on public.email_messages;
create policy email_messages_select on public.email_messages
  for select to authenticated
  using ((select app_private.can_write()));

alter table public.message_events enable row level security;
alter table public.message_events force row level security;

revoke all on public.message_events from anon, authenticated;
grant select on public.message_events to authenticated;
grant select, insert, update, delete on public.message_events to service_role;
revoke all on sequence public.message_events_id_seq from anon, authenticated;
grant usage, select on sequence public.message_events_id_seq to service_role;

drop policy if exists message_events_select on public.message_events;
create policy message_events_select on public.message_events
  for select to authenticated
  using ((select app_private.can_write()));

-- policies/messaging.sql
-- campaign statistics: aggregates, not personal data, so every member reads them (as they
-- read campaigns); only the triggers on the message tables write them, running as the
-- service_role that changed the messages.
--   viewer, user, admin  read
--   service_role         everything (bypasses rls)
--   anon                 nothing

alter table public.campaign_stats enable row level security;
alter table public.campaign_stats force row level security;

revoke all on public.campaign_stats from anon, authenticated;
grant select on public.campaign_stats to authenticated;
grant select, insert, update, delete on public.campaign_stats to service_role;

drop policy if exists campaign_stats_select on public.campaign_stats;
create policy campaign_stats_select on public.campaign_stats
  for select to authenticated
  using ((select app_private.is_member()));

revoke all on public.campaign_performance from anon, authenticated;
grant select on public.campaign_performance to authenticated, service_role;

-- policies/notifications.sql
-- notifications and notification preferences: every signed-in user (viewer, user and
-- admin alike) sees and manages only their own rows; service_role all (it delivers them).
-- the with check clauses stop a user from creating rows for, or moving rows to, someone else.

alter table public.notifications enable row level security;
alter table public.notifications force row level security;

revoke all on public.notifications from anon, authenticated;
grant select, insert, update, delete on public.notifications to authenticated, service_role;

drop policy if exists notifications_select on public.notifications;
create policy notifications_select on public.notifications
  for select to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notifications_insert on public.notifications;
create policy notifications_insert on public.notifications
  for insert to authenticated
  with check ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notifications_update on public.notifications;
create policy notifications_update on public.notifications
  for update to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()))
  with check ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notifications_delete on public.notifications;
create policy notifications_delete on public.notifications
  for delete to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()));

alter table public.notification_preferences enable row level security;
alter table public.notification_preferences force row level security;

revoke all on public.notification_preferences from anon, authenticated;
grant select, insert, update, delete on public.notification_preferences to authenticated, service_role;

drop policy if exists notification_preferences_select on public.notification_preferences;
create policy notification_preferences_select on public.notification_preferences
  for select to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notification_preferences_insert on public.notification_preferences;
create policy notification_preferences_insert on public.notification_preferences
  for insert to authenticated
  with check ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notification_preferences_update on public.notification_preferences;
create policy notification_preferences_update on public.notification_preferences
  for update to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()))
  with check ((select app_private.is_member()) and user_id = (select auth.uid()));

drop policy if exists notification_preferences_delete on public.notification_preferences;
create policy notification_preferences_delete on public.notification_preferences
  for delete to authenticated
  using ((select app_private.is_member()) and user_id = (select auth.uid()));

-- policies/secrets.sql
-- secrets: write-only for admins, never readable by any client.
--   admin         insert, update, delete; select the metadata columns only
--   service_role  everything, including ciphertext (it decrypts)
--   everyone else nothing
-- rls cannot hide columns, so column privileges do: authenticated may select only the
-- metadata columns, and `select ciphertext` fails with 42501 even for an admin.

alter table public.secrets enable row level security;
alter table public.secrets force row level security;

revoke all on public.secrets from anon, authenticated;
grant insert, update, delete on public.secrets to authenticated;
grant select (id, scope, name, owner_ref, key_id, metadata, created_by, created_at, updated_at)
  on public.secrets to authenticated;
grant select, insert, update, delete on public.secrets to service_role;

drop policy if exists secrets_select on public.secrets;
create policy secrets_select on public.secrets
  for select to authenticated
  using ((select app_private.is_admin()));

drop policy if exists secrets_insert on public.secrets;
create policy secrets_insert on public.secrets
  for insert to authenticated
  with check ((select app_private.is_admin()));

drop policy if exists secrets_update on public.secrets;
create policy secrets_update on public.secrets
  for update to authenticated
  using ((select app_private.is_admin()))
  with check ((select app_private.is_admin()));

drop policy if exists secrets_delete on public.secrets;
create policy secrets_delete on public.secrets
  for delete to authenticated
  using ((select app_private.is_admin()));

-- policies/settings.sql
-- app settings: members (viewer, user, admin) read; admins write; service_role all.
-- anon: no policy, no privileges.

alter table public.app_settings enable row level security;
alter table public.app_settings force row level security;

revoke all on public.app_settings from anon, authenticated;
grant select, insert, update, delete on public.app_settings to authenticated, service_role;

drop policy if exists app_settings_select on public.app_settings;
create policy app_settings_select on public.app_settings
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists app_settings_insert on public.app_settings;
create policy app_settings_insert on public.app_settings
  for insert to authenticated
  with check ((select app_private.is_admin()));

drop policy if exists app_settings_update on public.app_settings;
create policy app_settings_update on public.app_settings
  for update to authenticated
  using ((select app_private.is_admin()))
  with check ((select app_private.is_admin()));

drop policy if exists app_settings_delete on public.app_settings;
create policy app_settings_delete on public.app_settings
  for delete to authenticated
  using ((select app_private.is_admin()));

