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
