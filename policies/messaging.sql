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
