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
