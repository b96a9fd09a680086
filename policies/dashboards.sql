-- dashboard rollups, report runs and the dashboard api.
--   message_stats_hourly, message_totals_hourly, analytics_daily, analytics_totals_daily
--                                          members read; admins may delete (to drop figures
--                                          of bad imports); the triggers (security definer)
--                                          and service_role write
--   report_runs                            members read; only service_role writes (the
--                                          report functions record runs as the system)
--   dashboard_summary / _series / _breakdown  callable by signed-in users and service_role,
--                                          never by anon; security invoker, so the rollups'
--                                          policies decide what they see

alter table public.message_stats_hourly enable row level security;
alter table public.message_stats_hourly force row level security;

revoke all on public.message_stats_hourly from anon, authenticated;
grant select, delete on public.message_stats_hourly to authenticated;
grant select, insert, update, delete on public.message_stats_hourly to service_role;

drop policy if exists message_stats_hourly_select on public.message_stats_hourly;
create policy message_stats_hourly_select on public.message_stats_hourly
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists message_stats_hourly_delete on public.message_stats_hourly;
create policy message_stats_hourly_delete on public.message_stats_hourly
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.analytics_daily enable row level security;
alter table public.analytics_daily force row level security;

revoke all on public.analytics_daily from anon, authenticated;
grant select, delete on public.analytics_daily to authenticated;
grant select, insert, update, delete on public.analytics_daily to service_role;

drop policy if exists analytics_daily_select on public.analytics_daily;
create policy analytics_daily_select on public.analytics_daily
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists analytics_daily_delete on public.analytics_daily;
create policy analytics_daily_delete on public.analytics_daily
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.message_totals_hourly enable row level security;
alter table public.message_totals_hourly force row level security;

revoke all on public.message_totals_hourly from anon, authenticated;
grant select, delete on public.message_totals_hourly to authenticated;
grant select, insert, update, delete on public.message_totals_hourly to service_role;

drop policy if exists message_totals_hourly_select on public.message_totals_hourly;
create policy message_totals_hourly_select on public.message_totals_hourly
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists message_totals_hourly_delete on public.message_totals_hourly;
create policy message_totals_hourly_delete on public.message_totals_hourly
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.analytics_totals_daily enable row level security;
alter table public.analytics_totals_daily force row level security;

revoke all on public.analytics_totals_daily from anon, authenticated;
grant select, delete on public.analytics_totals_daily to authenticated;
grant select, insert, update, delete on public.analytics_totals_daily to service_role;

drop policy if exists analytics_totals_daily_select on public.analytics_totals_daily;
create policy analytics_totals_daily_select on public.analytics_totals_daily
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists analytics_totals_daily_delete on public.analytics_totals_daily;
create policy analytics_totals_daily_delete on public.analytics_totals_daily
  for delete to authenticated
  using ((select app_private.is_admin()));

alter table public.report_runs enable row level security;
alter table public.report_runs force row level security;

revoke all on public.report_runs from anon, authenticated;
grant select on public.report_runs to authenticated;
grant select, insert, update, delete on public.report_runs to service_role;

drop policy if exists report_runs_select on public.report_runs;
create policy report_runs_select on public.report_runs
  for select to authenticated
  using ((select app_private.is_member()));

-- functions are executable by public by default; the api ones are for signed-in callers.
revoke all on function
  public.dashboard_summary(date, date, text, text, uuid),
  public.dashboard_series(date, date, text, text, text, uuid),
  public.dashboard_breakdown(date, date, text, text, integer, text, uuid)
from public, anon;
grant execute on function
  public.dashboard_summary(date, date, text, text, uuid),
  public.dashboard_series(date, date, text, text, text, uuid),
  public.dashboard_breakdown(date, date, text, text, integer, text, uuid)
to authenticated, service_role;

-- a supabase_realtime publication created after the migration gets the tables now.
select app_private.publish_dashboard_tables();
