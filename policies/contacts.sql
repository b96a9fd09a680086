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
