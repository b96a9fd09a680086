-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V13__rollups_quarter_hours.sql

-- message rollups per quarter hour, so every iana zone is answered exactly; truncate of a
-- rollup source clears what it contributed; a rebuild of every rollup from the raw rows;
-- report runs that are queued and finished by a job (generate-report answers at once).
--
-- grain. message_stats_hourly and message_totals_hourly now hold 15-minute utc buckets
-- (:00, :15, :30, :45). every zone in use today is a whole number of quarter hours from
-- utc (asia/kolkata +05:30, asia/kathmandu +05:45, australia/adelaide +09:30/+10:30,
-- australia/lord_howe +10:30/+11:00), so each bucket lies inside one local day of every
-- zone and day, week and month series are cut exactly. the tables keep their names:
-- supabase frontends subscribe to them by name through realtime, and renaming would
-- silently stop those subscriptions. the dashboard functions are unchanged (they select
-- buckets by range); only the zone check (now: quarter hours) and the bucket expression of
-- the triggers change. zones are still refused on days whose offset is not a whole number
-- of quarter hours, which in the tz database means local mean time before standard time
-- was adopted (e.g. asia/kolkata before 1942).
--
-- truncate. a truncate fires no row or statement-level delete triggers, so it used to leave
-- the rollups counting rows that no longer exist. an after truncate trigger on each source
-- now clears exactly what that source contributes, which is exact because every counter
-- has one source: sms_messages gives sent..clicked of the sms rows, email_messages those of
-- the email rows, message_events unsubscribed and complaints, analytics_data the analytics
-- rollups. truncate stays allowed (operators use it to reset demo and staging data); it
-- takes an access exclusive lock on the source, and the clearing happens in its
-- transaction, so a rolled-back truncate leaves the rollups as they were.
--
-- rebuild. app_private.rebuild_rollups() recomputes every rollup from the raw rows in one
-- transaction, holding share locks on the sources so no write slips between the recount
-- and the commit (readers keep reading the old figures until then). `gimbal rollups
-- rebuild` calls it as the service role.

-- ---------------------------------------------------------------------------
-- the bucket of an instant
-- ---------------------------------------------------------------------------
create or replace function app_private.rollup_bucket(at timestamptz)
returns timestamptz
language sql
immutable
parallel safe
as $$
  select pg_catalog.date_bin('15 minutes', at, timestamptz '2000-01-01 00:00:00+00')
$$;

comment on function app_private.rollup_bucket(timestamptz) is
  'the 15-minute utc bucket of an instant, as the message rollups key it.';

alter table public.message_stats_hourly drop constraint message_stats_hourly_bucket_check;
alter table public.message_totals_hourly drop constraint message_totals_hourly_bucket_check;
alter table public.message_stats_hourly add constraint message_stats_hourly_bucket_check
  check (app_private.rollup_bucket(bucket) = bucket);
alter table public.message_totals_hourly add constraint message_totals_hourly_bucket_check
  check (app_private.rollup_bucket(bucket) = bucket);

comment on table public.message_stats_hourly is
  'rollup: message counters per 15-minute utc bucket, channel and campaign, kept current by triggers (the name predates the finer grain). members read; admins may delete.';
comment on table public.message_totals_hourly is
  'rollup: message counters per 15-minute utc bucket and channel (all campaigns), kept current by triggers (the name predates the finer grain). members read; admins may delete.';
comment on column public.message_stats_hourly.bucket is 'start of a 15-minute utc bucket (:00, :15, :30 or :45).';
comment on column public.message_totals_hourly.bucket is 'start of a 15-minute utc bucket (:00, :15, :30 or :45).';

-- ---------------------------------------------------------------------------
-- the triggers' contributions, now per quarter hour
-- ---------------------------------------------------------------------------
create or replace function app_private.message_contributions(tbl text, rows_name text, sign int)
returns text
language sql
immutable
set search_path = ''
as $$
  select format(
    'select app_private.rollup_bucket(coalesce(r.sent_at, r.created_at)) as bucket,
            %L::text as channel, r.campaign_id,
            %s * c.sent as sent, %s * c.delivered as delivered, %s * c.bounced as bounced,
            %s * c.failed as failed, %s * c.opened as opened, %s * c.clicked as clicked,
            0 as unsubscribed, 0 as complaints
     from %I r
     cross join lateral app_private.message_counters(%L, %s, r.status, r.sent_at, r.delivered_at, %s, %s) c',
    case tbl when 'sms_messages' then 'sms' else 'email' end,
    sign, sign, sign, sign, sign, sign,
    rows_name,
    case tbl when 'sms_messages' then 'sms' else 'email' end,
    case tbl when 'sms_messages' then 'r.direction' else '''outbound''' end,
    case tbl when 'sms_messages' then 'null::timestamptz' else 'r.opened_at' end,
    case tbl when 'sms_messages' then 'null::timestamptz' else 'r.clicked_at' end
  )
$$;

create or replace function app_private.event_contributions(rows_name text, sign int)
returns text
language sql
immutable
set search_path = ''
as $$
  select format(
    'select app_private.rollup_bucket(coalesce(r.occurred_at, r.received_at)) as bucket,
            r.channel, r.campaign_id,
            0 as sent, 0 as delivered, 0 as bounced, 0 as failed, 0 as opened, 0 as clicked,
            %s * c.unsubscribed as unsubscribed, %s * c.complaints as complaints
     from %I r
     cross join lateral app_private.event_counters(r.event_type) c',
    sign, sign, rows_name
  )
$$;

-- ---------------------------------------------------------------------------
-- rebuild: every rollup recomputed from the raw rows
-- ---------------------------------------------------------------------------
create or replace function app_private.rebuild_rollups()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  result jsonb;
begin
  -- share mode: writers wait until this transaction ends, readers do not.
  lock table public.sms_messages, public.email_messages, public.message_events, public.analytics_data
    in share mode;
  lock table public.message_stats_hourly, public.message_totals_hourly,
             public.analytics_daily, public.analytics_totals_daily
    in exclusive mode;

  delete from public.message_stats_hourly;
  delete from public.message_totals_hourly;
  delete from public.analytics_daily;
  delete from public.analytics_totals_daily;

  insert into public.message_stats_hourly
    (bucket, channel, campaign_id, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints)
  select bucket, channel, campaign_id, sum(sent), sum(delivered), sum(bounced), sum(failed),
         sum(opened), sum(clicked), sum(unsubscribed), sum(complaints)
  from (
    select app_private.rollup_bucket(coalesce(m.sent_at, m.created_at)) as bucket, m.channel, m.campaign_id,
           c.sent, c.delivered, c.bounced, c.failed, c.opened, c.clicked,
           0 as unsubscribed, 0 as complaints
    from (
      select 'sms' as channel, direction, campaign_id, status, sent_at, delivered_at,
             null::timestamptz as opened_at, null::timestamptz as clicked_at, created_at
      from public.sms_messages
      union all
      select 'email', 'outbound', campaign_id, status, sent_at, delivered_at, opened_at, clicked_at, created_at
      from public.email_messages
    ) m
    cross join lateral app_private.message_counters(m.channel, m.direction, m.status, m.sent_at,
                                                    m.delivered_at, m.opened_at, m.clicked_at) c
    union all
    select app_private.rollup_bucket(coalesce(e.occurred_at, e.received_at)), e.channel, e.campaign_id,
           0, 0, 0, 0, 0, 0, c.unsubscribed, c.complaints
    from public.message_events e
    cross join lateral app_private.event_counters(e.event_type) c
  ) x
  group by bucket, channel, campaign_id
  having (sum(sent), sum(delivered), sum(bounced), sum(failed), sum(opened), sum(clicked),
          sum(unsubscribed), sum(complaints)) <> (0, 0, 0, 0, 0, 0, 0, 0);

  insert into public.message_totals_hourly
    (bucket, channel, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints)
  select bucket, channel, sum(sent), sum(delivered), sum(bounced), sum(failed), sum(opened),
         sum(clicked), sum(unsubscribed), sum(complaints)
  from public.message_stats_hourly
  group by bucket, channel;

  insert into public.analytics_daily
    (metric_date, source, channel, campaign_id, row_count, sessions, users, conversions, revenue,
     impressions, clicks, spend)
  select metric_date, source, channel, campaign_id, count(*), coalesce(sum(sessions), 0),
         coalesce(sum(users), 0), coalesce(sum(conversions), 0), coalesce(sum(revenue), 0),
         coalesce(sum(impressions), 0), coalesce(sum(clicks), 0), coalesce(sum(spend), 0)
  from public.analytics_data
  group by metric_date, source, channel, campaign_id;

  insert into public.analytics_totals_daily
    (metric_date, source, channel, row_count, sessions, users, conversions, revenue, impressions, clicks, spend)
  select metric_date, source, channel, sum(row_count), sum(sessions), sum(users), sum(conversions),
         sum(revenue), sum(impressions), sum(clicks), sum(spend)
  from public.analytics_daily
  group by metric_date, source, channel;

  select jsonb_build_object(
    'message_stats_hourly', (select count(*) from public.message_stats_hourly),
    'message_totals_hourly', (select count(*) from public.message_totals_hourly),
    'analytics_daily', (select count(*) from public.analytics_daily),
    'analytics_totals_daily', (select count(*) from public.analytics_totals_daily)
  ) into result;
  return result;
end
$$;

comment on function app_private.rebuild_rollups() is
  'recomputes every dashboard rollup from the raw rows in the calling transaction; returns the row count of each rollup. service_role only (gimbal rollups rebuild).';

revoke all on function app_private.rebuild_rollups() from public;
grant execute on function app_private.rebuild_rollups() to service_role;

-- ---------------------------------------------------------------------------
-- truncate of a source clears what it contributed
-- ---------------------------------------------------------------------------
create or replace function app_private.rollup_truncated() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  case tg_table_name
    when 'sms_messages', 'email_messages' then
      update public.message_stats_hourly
        set sent = 0, delivered = 0, bounced = 0, failed = 0, opened = 0, clicked = 0
        where channel = case tg_table_name when 'sms_messages' then 'sms' else 'email' end
          and (sent, delivered, bounced, failed, opened, clicked) <> (0, 0, 0, 0, 0, 0);
      update public.message_totals_hourly
        set sent = 0, delivered = 0, bounced = 0, failed = 0, opened = 0, clicked = 0
        where channel = case tg_table_name when 'sms_messages' then 'sms' else 'email' end
          and (sent, delivered, bounced, failed, opened, clicked) <> (0, 0, 0, 0, 0, 0);
    when 'message_events' then
      update public.message_stats_hourly set unsubscribed = 0, complaints = 0
        where (unsubscribed, complaints) <> (0, 0);
      update public.message_totals_hourly set unsubscribed = 0, complaints = 0
        where (unsubscribed, complaints) <> (0, 0);
    when 'analytics_data' then
      delete from public.analytics_daily;
      delete from public.analytics_totals_daily;
  end case;
  return null;
end
$$;

create trigger sms_messages_rollup_truncate after truncate on public.sms_messages
  for each statement execute function app_private.rollup_truncated();
create trigger email_messages_rollup_truncate after truncate on public.email_messages
  for each statement execute function app_private.rollup_truncated();
create trigger message_events_rollup_truncate after truncate on public.message_events
  for each statement execute function app_private.rollup_truncated();
create trigger analytics_data_rollup_truncate after truncate on public.analytics_data
  for each statement execute function app_private.rollup_truncated();

-- ---------------------------------------------------------------------------
-- zones: whole quarter hours from utc on every day boundary of the range
-- ---------------------------------------------------------------------------
create or replace function app_private.check_dashboard_zone(tz text, first_day date, last_day date)
returns void
language plpgsql
stable
set search_path = ''
as $$
declare
  bad timestamp;
begin
  if tz is null or tz !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' then
    perform app_private.dashboard_error('p_time_zone', format('%s is not an IANA time zone name such as Europe/Paris', coalesce(tz, 'null')));
  end if;
  begin
    perform now() at time zone tz;
  exception when invalid_parameter_value then
    perform app_private.dashboard_error('p_time_zone', format('%s is not an IANA time zone name such as Europe/Paris', tz));
  end;
  select d into bad
  from pg_catalog.generate_series(first_day::timestamp, (last_day + 1)::timestamp, interval '1 day') d
  where extract(epoch from (d at time zone tz))::bigint % 900 <> 0
  limit 1;
  if bad is not null then
    perform app_private.dashboard_error('p_time_zone',
      format('%s is not a whole number of quarter hours from UTC on %s', tz, bad::date),
      'rollups are kept in 15-minute utc buckets; this zone''s day on that date starts between two');
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- what "users" means
-- ---------------------------------------------------------------------------
comment on function public.dashboard_summary(date, date, text, text, uuid) is
  'summary cards for local days p_from..p_to in p_time_zone, the previous period of equal length, and the relative change. users is the sum of the daily users the sources report (user-days), not distinct people: ga4 and meta report users per day, and daily users are not additive, so one person active on three days counts three times. the data holds no user ids to count distinct people over a range.';
comment on function public.dashboard_series(date, date, text, text, text, uuid) is
  'time series by day, week or month of local days p_from..p_to in p_time_zone; every period present. users of a week or month is the sum of its daily users (user-days), not distinct people.';
comment on function public.dashboard_breakdown(date, date, text, text, integer, text, uuid) is
  'totals of local days p_from..p_to per campaign, channel or source, largest revenue first. users is the sum of daily users (user-days), not distinct people.';

-- the rows already counted per hour, recounted per quarter hour.
select app_private.rebuild_rollups();

-- ---------------------------------------------------------------------------
-- report runs as jobs: generate-report queues a run and answers at once; the report.generate
-- job renders, stores and finishes it. the row shows the progress (queued, running,
-- succeeded or failed), through postgrest under rls and through realtime.
-- ---------------------------------------------------------------------------
alter table public.report_runs drop constraint report_runs_status_check;
alter table public.report_runs add constraint report_runs_status_check
  check (status in ('queued', 'running', 'succeeded', 'failed'));

alter table public.report_runs
  add column file_name text,
  add column content_type text,
  -- a signed link to the file, valid until url_expires_at (null until the run succeeds).
  add column url text,
  add column url_expires_at timestamptz,
  -- attempts the job has made; error keeps the last failure while retries remain.
  add column attempts integer not null default 0,
  add column started_at timestamptz;

comment on column public.report_runs.status is
  'queued (waiting for a worker, or for a retry after a failed attempt), running, succeeded or failed (no attempts left).';
comment on column public.report_runs.url is
  'signed link to the file, valid until url_expires_at; set when the run succeeds.';
comment on column public.report_runs.error is
  'why the last attempt failed; kept while the run is queued for a retry, final when status is failed.';
