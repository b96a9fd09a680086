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
