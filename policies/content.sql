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
