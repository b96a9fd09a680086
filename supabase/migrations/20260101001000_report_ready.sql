-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V10__report_ready.sql

-- report.ready: the person who asked for a report (or, for a scheduled run, the report's owner)
-- hears when its file is ready, through the same `notifications.event` jobs as campaign and
-- sync events (V5), so their notification preferences apply.
--
-- runs are inserted 'running' and finished by an update, so only that update raises the event.

create or replace function app_private.notify_report_ready() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  report public.reports;
  recipient uuid;
begin
  if new.status is not distinct from old.status or new.status <> 'succeeded' then
    return null;
  end if;
  select * into report from public.reports where id = new.report_id;
  recipient := coalesce(new.created_by, report.created_by);
  if recipient is null then
    return null;
  end if;
  insert into public.jobs (kind, payload)
  values ('notifications.event', jsonb_build_object(
    'event_type', 'report.ready',
    'user_id', recipient,
    'subject', jsonb_build_object(
      'report_run_id', new.id, 'report_id', new.report_id,
      'name', coalesce(report.name, 'report'), 'format', new.format)));
  return null;
end
$$;

revoke all on function app_private.notify_report_ready() from public;

create trigger report_runs_notify_ready
  after update of status on public.report_runs
  for each row execute function app_private.notify_report_ready();
