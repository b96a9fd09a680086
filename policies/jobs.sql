-- jobs and cron schedules.
--   jobs            members read (job status); only service_role writes (enqueueing,
--                   claiming and finishing are server-side)
--   cron_schedules  members read; admins manage; service_role all

alter table public.jobs enable row level security;
alter table public.jobs force row level security;

-- no client writes jobs, so authenticated holds select only.
revoke all on public.jobs from anon, authenticated;
grant select on public.jobs to authenticated;
grant select, insert, update, delete on public.jobs to service_role;
revoke all on sequence public.jobs_id_seq from anon, authenticated;
grant usage, select on sequence public.jobs_id_seq to service_role;

drop policy if exists jobs_select on public.jobs;
create policy jobs_select on public.jobs
  for select to authenticated
  using ((select app_private.is_member()));

alter table public.cron_schedules enable row level security;
alter table public.cron_schedules force row level security;

revoke all on public.cron_schedules from anon, authenticated;
grant select, insert, update, delete on public.cron_schedules to authenticated, service_role;
revoke all on sequence public.cron_schedules_id_seq from anon;
grant usage, select on sequence public.cron_schedules_id_seq to authenticated, service_role;

drop policy if exists cron_schedules_select on public.cron_schedules;
create policy cron_schedules_select on public.cron_schedules
  for select to authenticated
  using ((select app_private.is_member()));

drop policy if exists cron_schedules_insert on public.cron_schedules;
create policy cron_schedules_insert on public.cron_schedules
  for insert to authenticated
  with check ((select app_private.is_admin()));

drop policy if exists cron_schedules_update on public.cron_schedules;
create policy cron_schedules_update on public.cron_schedules
  for update to authenticated
  using ((select app_private.is_admin()))
  with check ((select app_private.is_admin()));

drop policy if exists cron_schedules_delete on public.cron_schedules;
create policy cron_schedules_delete on public.cron_schedules
  for delete to authenticated
  using ((select app_private.is_admin()));
