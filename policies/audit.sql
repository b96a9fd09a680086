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
