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
