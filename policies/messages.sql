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
