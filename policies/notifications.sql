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
