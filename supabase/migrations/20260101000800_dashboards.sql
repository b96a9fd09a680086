-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V8__dashboards.sql

-- dashboards: rollups kept current by statement-level triggers, the dashboard api
-- (summary cards, time series, breakdowns) as sql functions callable through postgrest,
-- report runs, and the realtime publication of what a dashboard watches.
--
-- grain. message metrics are rolled up per (utc hour, channel, campaign): an hour bucket
-- lies inside one local day of every zone whose utc offset is a whole number of hours, so
-- day, week and month series can be cut in the caller's zone, daylight saving included,
-- without touching raw rows. zones on other offsets (asia/kolkata +05:30, asia/kathmandu
-- +05:45, australia/adelaide +09:30) would need quarter-hour buckets (four times the rows);
-- the functions refuse them with a clear error instead of answering wrongly.
-- analytics_data is already daily (metric_date is the source's own reporting day), so its
-- rollup is per (metric_date, source, channel, campaign) and is read as-is in any zone.
--
-- maintenance. every insert, update and delete on sms_messages, email_messages,
-- message_events and analytics_data runs one statement-level trigger with transition
-- tables: it turns the old rows into negative and the new rows into positive
-- contributions, sums them per rollup key and upserts the sums. a statement touching a
-- million rows costs one grouped upsert, not a million; updates that change no counted
-- column net out to nothing and write nothing. rows that fall to zero are kept (they are
-- harmless, and deleting them would race with concurrent upserts).

-- ---------------------------------------------------------------------------
-- message_events.campaign_id: the campaign an event belongs to, fixed when it arrives
-- ---------------------------------------------------------------------------
-- denormalised from the message so the event rollup keys on the event row alone: a later
-- change to the message cannot make an event's contribution disagree with its removal.
alter table public.message_events add column campaign_id uuid;

comment on column public.message_events.campaign_id is
  'campaign of the message the event is about, filled from the message on insert when not given.';

create index message_events_campaign_id_idx on public.message_events (campaign_id) where campaign_id is not null;

create or replace function app_private.fill_message_event_campaign() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.campaign_id is null and new.message_id is not null then
    if new.channel = 'sms' then
      select m.campaign_id into new.campaign_id from public.sms_messages m where m.id = new.message_id;
    else
      select m.campaign_id into new.campaign_id from public.email_messages m where m.id = new.message_id;
    end if;
  end if;
  return new;
end
$$;

create trigger message_events_fill_campaign
  before insert on public.message_events
  for each row execute function app_private.fill_message_event_campaign();

-- ---------------------------------------------------------------------------
-- what one message or event counts for (the single definition of every counter)
-- ---------------------------------------------------------------------------
-- written as inlinable sql (no set clause, no table) so the triggers and the raw-row
-- checks evaluate it as plain expressions.
--   sent          the provider accepted it (sent_at set, or any status after sending)
--   delivered     it reached the recipient (opened, clicked, unsubscribed and spam-reported
--                 emails were delivered too)
--   bounced       email 'bounced'; sms 'undelivered' (the carrier's bounce)
--   failed        never left: 'failed', or email 'dropped' by the provider
--   opened/clicked  email only, unique per message (opened_at / clicked_at or the status)
-- inbound sms count for nothing.
create or replace function app_private.message_counters(
  channel text, direction text, status text,
  sent_at timestamptz, delivered_at timestamptz, opened_at timestamptz, clicked_at timestamptz
)
returns table (sent int, delivered int, bounced int, failed int, opened int, clicked int)
language sql
immutable
as $$
  select
    (direction = 'outbound' and (sent_at is not null or status in (
      'sent', 'delivered', 'undelivered', 'opened', 'clicked', 'bounced', 'deferred', 'spam_report', 'unsubscribed'
    )))::int,
    (direction = 'outbound' and (delivered_at is not null or status in (
      'delivered', 'opened', 'clicked', 'spam_report', 'unsubscribed'
    )))::int,
    (direction = 'outbound' and status in ('bounced', 'undelivered'))::int,
    (direction = 'outbound' and status in ('failed', 'dropped'))::int,
    (direction = 'outbound' and channel = 'email' and (opened_at is not null or status in ('opened', 'clicked')))::int,
    (direction = 'outbound' and channel = 'email' and (clicked_at is not null or status = 'clicked'))::int
$$;

-- provider event types that mean "stop sending to me" and "this is spam". sendgrid sends
-- unsubscribe / group_unsubscribe / spamreport; sms opt-outs (stop keywords) are stored as
-- opt_out.
create or replace function app_private.event_counters(event_type text)
returns table (unsubscribed int, complaints int)
language sql
immutable
as $$
  select (event_type in ('unsubscribe', 'group_unsubscribe', 'opt_out'))::int,
         (event_type in ('spamreport', 'spam_report'))::int
$$;

-- ---------------------------------------------------------------------------
-- message_stats_hourly: message counters per utc hour, channel and campaign
-- ---------------------------------------------------------------------------
create table public.message_stats_hourly (
  -- the start of a utc hour.
  bucket timestamptz not null check (date_trunc('hour', bucket, 'UTC') = bucket),
  channel text not null check (channel in ('sms', 'email')),
  -- no foreign key: the counts stay when a campaign goes (messages then move to null).
  campaign_id uuid,
  sent bigint not null default 0,
  delivered bigint not null default 0,
  bounced bigint not null default 0,
  failed bigint not null default 0,
  opened bigint not null default 0,
  clicked bigint not null default 0,
  unsubscribed bigint not null default 0,
  complaints bigint not null default 0,
  constraint message_stats_hourly_key unique nulls not distinct (bucket, channel, campaign_id)
);

comment on table public.message_stats_hourly is
  'rollup: message counters per utc hour, channel and campaign, kept current by triggers. members read; admins may delete.';

create index message_stats_hourly_campaign_idx on public.message_stats_hourly (campaign_id, bucket);

alter table public.message_stats_hourly enable row level security;
alter table public.message_stats_hourly force row level security;

revoke all on public.message_stats_hourly from anon;
grant select, insert, update, delete on public.message_stats_hourly to authenticated, service_role;

-- message_totals_hourly: the same counters per utc hour and channel only. most dashboard
-- calls ask for all campaigns at once; this table answers them from ~2 rows per hour
-- whatever the number of campaigns.
create table public.message_totals_hourly (
  bucket timestamptz not null check (date_trunc('hour', bucket, 'UTC') = bucket),
  channel text not null check (channel in ('sms', 'email')),
  sent bigint not null default 0,
  delivered bigint not null default 0,
  bounced bigint not null default 0,
  failed bigint not null default 0,
  opened bigint not null default 0,
  clicked bigint not null default 0,
  unsubscribed bigint not null default 0,
  complaints bigint not null default 0,
  primary key (bucket, channel)
);

comment on table public.message_totals_hourly is
  'rollup: message counters per utc hour and channel (all campaigns), kept current by triggers. members read; admins may delete.';

alter table public.message_totals_hourly enable row level security;
alter table public.message_totals_hourly force row level security;

revoke all on public.message_totals_hourly from anon;
grant select, insert, update, delete on public.message_totals_hourly to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- analytics_daily: analytics_data summed per day, source, channel and campaign
-- ---------------------------------------------------------------------------
create table public.analytics_daily (
  metric_date date not null,
  source text not null,
  channel text,
  campaign_id uuid,
  -- analytics_data rows summed here; zero means the key has no rows left.
  row_count bigint not null default 0,
  sessions bigint not null default 0,
  users bigint not null default 0,
  conversions numeric not null default 0,
  revenue numeric not null default 0,
  impressions bigint not null default 0,
  clicks bigint not null default 0,
  spend numeric not null default 0,
  constraint analytics_daily_key unique nulls not distinct (metric_date, source, channel, campaign_id)
);

comment on table public.analytics_daily is
  'rollup: analytics_data per day, source, channel and campaign, kept current by triggers. members read; admins may delete.';

create index analytics_daily_campaign_idx on public.analytics_daily (campaign_id, metric_date);

alter table public.analytics_daily enable row level security;
alter table public.analytics_daily force row level security;

revoke all on public.analytics_daily from anon;
grant select, insert, update, delete on public.analytics_daily to authenticated, service_role;

-- analytics_totals_daily: the same sums per day, source and channel (all campaigns).
create table public.analytics_totals_daily (
  metric_date date not null,
  source text not null,
  channel text,
  row_count bigint not null default 0,
  sessions bigint not null default 0,
  users bigint not null default 0,
  conversions numeric not null default 0,
  revenue numeric not null default 0,
  impressions bigint not null default 0,
  clicks bigint not null default 0,
  spend numeric not null default 0,
  constraint analytics_totals_daily_key unique nulls not distinct (metric_date, source, channel)
);

comment on table public.analytics_totals_daily is
  'rollup: analytics_data per day, source and channel (all campaigns), kept current by triggers. members read; admins may delete.';

alter table public.analytics_totals_daily enable row level security;
alter table public.analytics_totals_daily force row level security;

revoke all on public.analytics_totals_daily from anon;
grant select, insert, update, delete on public.analytics_totals_daily to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- the rollup triggers
-- ---------------------------------------------------------------------------
-- security definer: the caller (service_role writing messages, an admin deleting analytics
-- rows) may not write the rollups directly, and must not need to.
-- the transition tables are named old_rows / new_rows on every trigger; the dynamic sql
-- below refers to whichever ones the operation has.

-- one row of contributions per changed message row, signed.
create or replace function app_private.message_contributions(tbl text, rows_name text, sign int)
returns text
language sql
immutable
set search_path = ''
as $$
  select format(
    'select date_trunc(''hour'', coalesce(r.sent_at, r.created_at), ''UTC'') as bucket,
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
    'select date_trunc(''hour'', coalesce(r.occurred_at, r.received_at), ''UTC'') as bucket,
            r.channel, r.campaign_id,
            0 as sent, 0 as delivered, 0 as bounced, 0 as failed, 0 as opened, 0 as clicked,
            %s * c.unsubscribed as unsubscribed, %s * c.complaints as complaints
     from %I r
     cross join lateral app_private.event_counters(r.event_type) c',
    sign, sign, rows_name
  )
$$;

create or replace function app_private.rollup_messages() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  parts text[] := '{}';
begin
  if tg_op in ('INSERT', 'UPDATE') then
    parts := parts || case tg_table_name
      when 'message_events' then app_private.event_contributions('new_rows', 1)
      else app_private.message_contributions(tg_table_name, 'new_rows', 1) end;
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    parts := parts || case tg_table_name
      when 'message_events' then app_private.event_contributions('old_rows', -1)
      else app_private.message_contributions(tg_table_name, 'old_rows', -1) end;
  end if;
  -- both grains from one pass over the changes; ordered by key so concurrent statements
  -- lock rollup rows in the same order.
  execute format(
    'with changes as materialized (%s),
     by_campaign as (
       insert into public.message_stats_hourly as t
         (bucket, channel, campaign_id, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints)
       select bucket, channel, campaign_id, sum(sent), sum(delivered), sum(bounced), sum(failed),
              sum(opened), sum(clicked), sum(unsubscribed), sum(complaints)
       from changes
       group by bucket, channel, campaign_id
       having (sum(sent), sum(delivered), sum(bounced), sum(failed), sum(opened), sum(clicked),
               sum(unsubscribed), sum(complaints)) <> (0, 0, 0, 0, 0, 0, 0, 0)
       order by bucket, channel, campaign_id
       on conflict on constraint message_stats_hourly_key do update
         set sent = t.sent + excluded.sent,
             delivered = t.delivered + excluded.delivered,
             bounced = t.bounced + excluded.bounced,
             failed = t.failed + excluded.failed,
             opened = t.opened + excluded.opened,
             clicked = t.clicked + excluded.clicked,
             unsubscribed = t.unsubscribed + excluded.unsubscribed,
             complaints = t.complaints + excluded.complaints
       returning 1
     )
     insert into public.message_totals_hourly as t
       (bucket, channel, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints)
     select bucket, channel, sum(sent), sum(delivered), sum(bounced), sum(failed),
            sum(opened), sum(clicked), sum(unsubscribed), sum(complaints)
     from changes
     group by bucket, channel
     having (sum(sent), sum(delivered), sum(bounced), sum(failed), sum(opened), sum(clicked),
             sum(unsubscribed), sum(complaints)) <> (0, 0, 0, 0, 0, 0, 0, 0)
     order by bucket, channel
     on conflict (bucket, channel) do update
       set sent = t.sent + excluded.sent,
           delivered = t.delivered + excluded.delivered,
           bounced = t.bounced + excluded.bounced,
           failed = t.failed + excluded.failed,
           opened = t.opened + excluded.opened,
           clicked = t.clicked + excluded.clicked,
           unsubscribed = t.unsubscribed + excluded.unsubscribed,
           complaints = t.complaints + excluded.complaints',
    array_to_string(parts, ' union all ')
  );
  return null;
end
$$;

create or replace function app_private.analytics_contributions(rows_name text, sign int)
returns text
language sql
immutable
set search_path = ''
as $$
  select format(
    'select r.metric_date, r.source, r.channel, r.campaign_id, %1$s as row_count,
            %1$s * coalesce(r.sessions, 0) as sessions, %1$s * coalesce(r.users, 0) as users,
            %1$s * coalesce(r.conversions, 0) as conversions, %1$s * coalesce(r.revenue, 0) as revenue,
            %1$s * coalesce(r.impressions, 0) as impressions, %1$s * coalesce(r.clicks, 0) as clicks,
            %1$s * coalesce(r.spend, 0) as spend
     from %2$I r',
    sign, rows_name
  )
$$;

create or replace function app_private.rollup_analytics() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  parts text[] := '{}';
begin
  if tg_op in ('INSERT', 'UPDATE') then
    parts := parts || app_private.analytics_contributions('new_rows', 1);
  end if;
  if tg_op in ('UPDATE', 'DELETE') then
    parts := parts || app_private.analytics_contributions('old_rows', -1);
  end if;
  execute format(
    'with changes as materialized (%s),
     by_campaign as (
       insert into public.analytics_daily as t
         (metric_date, source, channel, campaign_id, row_count, sessions, users, conversions,
          revenue, impressions, clicks, spend)
       select metric_date, source, channel, campaign_id, sum(row_count), sum(sessions), sum(users),
              sum(conversions), sum(revenue), sum(impressions), sum(clicks), sum(spend)
       from changes
       group by metric_date, source, channel, campaign_id
       having (sum(row_count), sum(sessions), sum(users), sum(conversions), sum(revenue),
               sum(impressions), sum(clicks), sum(spend)) <> (0, 0, 0, 0, 0, 0, 0, 0)
       order by metric_date, source, channel, campaign_id
       on conflict on constraint analytics_daily_key do update
         set row_count = t.row_count + excluded.row_count,
             sessions = t.sessions + excluded.sessions,
             users = t.users + excluded.users,
             conversions = t.conversions + excluded.conversions,
             revenue = t.revenue + excluded.revenue,
             impressions = t.impressions + excluded.impressions,
             clicks = t.clicks + excluded.clicks,
             spend = t.spend + excluded.spend
       returning 1
     )
     insert into public.analytics_totals_daily as t
       (metric_date, source, channel, row_count, sessions, users, conversions, revenue,
        impressions, clicks, spend)
     select metric_date, source, channel, sum(row_count), sum(sessions), sum(users),
            sum(conversions), sum(revenue), sum(impressions), sum(clicks), sum(spend)
     from changes
     group by metric_date, source, channel
     having (sum(row_count), sum(sessions), sum(users), sum(conversions), sum(revenue),
             sum(impressions), sum(clicks), sum(spend)) <> (0, 0, 0, 0, 0, 0, 0, 0)
     order by metric_date, source, channel
     on conflict on constraint analytics_totals_daily_key do update
       set row_count = t.row_count + excluded.row_count,
           sessions = t.sessions + excluded.sessions,
           users = t.users + excluded.users,
           conversions = t.conversions + excluded.conversions,
           revenue = t.revenue + excluded.revenue,
           impressions = t.impressions + excluded.impressions,
           clicks = t.clicks + excluded.clicks,
           spend = t.spend + excluded.spend',
    array_to_string(parts, ' union all ')
  );
  return null;
end
$$;

create trigger sms_messages_rollup_insert after insert on public.sms_messages
  referencing new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger sms_messages_rollup_update after update on public.sms_messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger sms_messages_rollup_delete after delete on public.sms_messages
  referencing old table as old_rows
  for each statement execute function app_private.rollup_messages();

create trigger email_messages_rollup_insert after insert on public.email_messages
  referencing new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger email_messages_rollup_update after update on public.email_messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger email_messages_rollup_delete after delete on public.email_messages
  referencing old table as old_rows
  for each statement execute function app_private.rollup_messages();

create trigger message_events_rollup_insert after insert on public.message_events
  referencing new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger message_events_rollup_update after update on public.message_events
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.rollup_messages();
create trigger message_events_rollup_delete after delete on public.message_events
  referencing old table as old_rows
  for each statement execute function app_private.rollup_messages();

create trigger analytics_data_rollup_insert after insert on public.analytics_data
  referencing new table as new_rows
  for each statement execute function app_private.rollup_analytics();
create trigger analytics_data_rollup_update after update on public.analytics_data
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.rollup_analytics();
create trigger analytics_data_rollup_delete after delete on public.analytics_data
  referencing old table as old_rows
  for each statement execute function app_private.rollup_analytics();

-- rows that existed before this migration (the triggers only see what changes from now on).
insert into public.message_stats_hourly
  (bucket, channel, campaign_id, sent, delivered, bounced, failed, opened, clicked)
select date_trunc('hour', coalesce(m.sent_at, m.created_at), 'UTC'), m.channel, m.campaign_id,
       sum(c.sent), sum(c.delivered), sum(c.bounced), sum(c.failed), sum(c.opened), sum(c.clicked)
from (
  select 'sms' as channel, direction, campaign_id, status, sent_at, delivered_at,
         null::timestamptz as opened_at, null::timestamptz as clicked_at, created_at
  from public.sms_messages
  union all
  select 'email', 'outbound', campaign_id, status, sent_at, delivered_at, opened_at, clicked_at, created_at
  from public.email_messages
) m
cross join lateral app_private.message_counters(m.channel, m.direction, m.status, m.sent_at, m.delivered_at, m.opened_at, m.clicked_at) c
group by 1, 2, 3
having sum(c.sent + c.delivered + c.bounced + c.failed) > 0;

insert into public.message_stats_hourly as t (bucket, channel, campaign_id, unsubscribed, complaints)
select date_trunc('hour', coalesce(e.occurred_at, e.received_at), 'UTC'), e.channel, e.campaign_id,
       sum(c.unsubscribed), sum(c.complaints)
from public.message_events e
cross join lateral app_private.event_counters(e.event_type) c
group by 1, 2, 3
having sum(c.unsubscribed + c.complaints) > 0
on conflict on constraint message_stats_hourly_key do update
  set unsubscribed = excluded.unsubscribed, complaints = excluded.complaints;

insert into public.analytics_daily
  (metric_date, source, channel, campaign_id, row_count, sessions, users, conversions, revenue,
   impressions, clicks, spend)
select metric_date, source, channel, campaign_id, count(*), coalesce(sum(sessions), 0),
       coalesce(sum(users), 0), coalesce(sum(conversions), 0), coalesce(sum(revenue), 0),
       coalesce(sum(impressions), 0), coalesce(sum(clicks), 0), coalesce(sum(spend), 0)
from public.analytics_data
group by 1, 2, 3, 4;

insert into public.message_totals_hourly
  (bucket, channel, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints)
select bucket, channel, sum(sent), sum(delivered), sum(bounced), sum(failed), sum(opened),
       sum(clicked), sum(unsubscribed), sum(complaints)
from public.message_stats_hourly
group by 1, 2;

insert into public.analytics_totals_daily
  (metric_date, source, channel, row_count, sessions, users, conversions, revenue, impressions, clicks, spend)
select metric_date, source, channel, sum(row_count), sum(sessions), sum(users), sum(conversions),
       sum(revenue), sum(impressions), sum(clicks), sum(spend)
from public.analytics_daily
group by 1, 2, 3;

-- ---------------------------------------------------------------------------
-- which rollup answers a call: the totals when all campaigns are wanted, the per-campaign
-- rows when one campaign is filtered or campaigns are the breakdown. inlinable sql (no set
-- clause, stable), so the caller's range conditions reach the indexes.
-- ---------------------------------------------------------------------------
create or replace function app_private.message_rollup(by_campaign boolean, only_campaign uuid)
returns table (
  bucket timestamptz, channel text, campaign_id uuid, sent bigint, delivered bigint,
  bounced bigint, failed bigint, opened bigint, clicked bigint, unsubscribed bigint, complaints bigint
)
language sql
stable
as $$
  select t.bucket, t.channel, null::uuid, t.sent, t.delivered, t.bounced, t.failed, t.opened,
         t.clicked, t.unsubscribed, t.complaints
  from public.message_totals_hourly t
  where not by_campaign and only_campaign is null
  union all
  select s.bucket, s.channel, s.campaign_id, s.sent, s.delivered, s.bounced, s.failed, s.opened,
         s.clicked, s.unsubscribed, s.complaints
  from public.message_stats_hourly s
  where (by_campaign or only_campaign is not null)
    and (only_campaign is null or s.campaign_id = only_campaign)
$$;

create or replace function app_private.analytics_rollup(by_campaign boolean, only_campaign uuid)
returns table (
  metric_date date, source text, channel text, campaign_id uuid, sessions bigint, users bigint,
  conversions numeric, revenue numeric, impressions bigint, clicks bigint, spend numeric
)
language sql
stable
as $$
  select t.metric_date, t.source, t.channel, null::uuid, t.sessions, t.users, t.conversions,
         t.revenue, t.impressions, t.clicks, t.spend
  from public.analytics_totals_daily t
  where not by_campaign and only_campaign is null
  union all
  select d.metric_date, d.source, d.channel, d.campaign_id, d.sessions, d.users, d.conversions,
         d.revenue, d.impressions, d.clicks, d.spend
  from public.analytics_daily d
  where (by_campaign or only_campaign is not null)
    and (only_campaign is null or d.campaign_id = only_campaign)
$$;

-- ---------------------------------------------------------------------------
-- argument checks shared by the dashboard functions
-- ---------------------------------------------------------------------------
-- errors use sqlstate 22023 (invalid_parameter_value), which postgrest answers with 400,
-- and start with the parameter's name.
create or replace function app_private.dashboard_error(field text, message text, hint text default null)
returns void
language plpgsql
volatile
set search_path = ''
as $$
begin
  raise exception using errcode = '22023', message = field || ': ' || message,
    hint = coalesce(hint, 'see the dashboard functions in the readme'), detail = field;
end
$$;

-- a usable iana zone whose day boundaries from first_day to last_day + 1 all fall on whole
-- utc hours (what hourly buckets can answer exactly). pg_timezone_names reads every zone
-- file (milliseconds), so the name is checked by converting with it instead.
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
  where extract(epoch from (d at time zone tz))::bigint % 3600 <> 0
  limit 1;
  if bad is not null then
    perform app_private.dashboard_error('p_time_zone',
      format('%s is not a whole number of hours from UTC on %s', tz, bad::date),
      'rollups are kept in utc hours, which split days exactly only in zones on whole-hour offsets');
  end if;
end
$$;

create or replace function app_private.check_dashboard_range(p_from date, p_to date)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_from is null then
    perform app_private.dashboard_error('p_from', 'is required (a date, YYYY-MM-DD)');
  end if;
  if p_to is null then
    perform app_private.dashboard_error('p_to', 'is required (a date, YYYY-MM-DD)');
  end if;
  if p_to < p_from then
    perform app_private.dashboard_error('p_to', format('%s is before p_from (%s)', p_to, p_from));
  end if;
  if p_to - p_from >= 3660 then
    perform app_private.dashboard_error('p_to', 'the range may span at most 3660 days');
  end if;
end
$$;

create or replace function app_private.check_dashboard_channel(p_channel text)
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_channel is not null and (length(p_channel) = 0 or length(p_channel) > 100) then
    perform app_private.dashboard_error('p_channel', 'must be null or a channel name of 1 to 100 characters');
  end if;
end
$$;

-- x / y, or null when y is zero or null (a rate of nothing is unknown, not zero).
create or replace function app_private.ratio(x numeric, y numeric)
returns numeric
language sql
immutable
as $$
  select round(x / nullif(y, 0), 6)
$$;

-- ---------------------------------------------------------------------------
-- totals for one period, as the summary cards show them
-- ---------------------------------------------------------------------------
create or replace function app_private.dashboard_totals(
  p_from date, p_to date, p_time_zone text, p_channel text, p_campaign_id uuid
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
-- plpgsql rather than sql: its cached plans are re-checked when the role changes, so the
-- caller's rls always applies (a sql function's plan lives as long as the calling query).
begin
  return (
  with m as (
    select coalesce(sum(sent), 0) as sent, coalesce(sum(delivered), 0) as delivered,
           coalesce(sum(bounced), 0) as bounced, coalesce(sum(failed), 0) as failed,
           coalesce(sum(opened), 0) as opened, coalesce(sum(clicked), 0) as clicked,
           coalesce(sum(unsubscribed), 0) as unsubscribed, coalesce(sum(complaints), 0) as complaints
    from app_private.message_rollup(false, p_campaign_id)
    where bucket >= (p_from::timestamp at time zone p_time_zone)
      and bucket < ((p_to + 1)::timestamp at time zone p_time_zone)
      and (p_channel is null or channel = p_channel)
      and (p_campaign_id is null or campaign_id = p_campaign_id)
  ), a as (
    select coalesce(sum(sessions), 0) as sessions, coalesce(sum(users), 0) as users,
           coalesce(sum(conversions), 0) as conversions, coalesce(sum(revenue), 0) as revenue,
           coalesce(sum(impressions), 0) as impressions, coalesce(sum(clicks), 0) as clicks,
           coalesce(sum(spend), 0) as spend
    from app_private.analytics_rollup(false, p_campaign_id)
    where metric_date between p_from and p_to
      and (p_channel is null or channel = p_channel)
      and (p_campaign_id is null or campaign_id = p_campaign_id)
  )
  select jsonb_build_object(
    'messages_sent', m.sent,
    'messages_delivered', m.delivered,
    'messages_opened', m.opened,
    'messages_clicked', m.clicked,
    'messages_bounced', m.bounced,
    'messages_failed', m.failed,
    'unsubscribes', m.unsubscribed,
    'complaints', m.complaints,
    'delivery_rate', app_private.ratio(m.delivered, m.sent),
    'open_rate', app_private.ratio(m.opened, m.delivered),
    'click_rate', app_private.ratio(m.clicked, m.delivered),
    'unsubscribe_rate', app_private.ratio(m.unsubscribed, m.delivered),
    'bounce_rate', app_private.ratio(m.bounced, m.sent),
    'sessions', a.sessions,
    'users', a.users,
    'conversions', a.conversions,
    'revenue', a.revenue,
    'impressions', a.impressions,
    'clicks', a.clicks,
    'spend', a.spend,
    'conversion_rate', app_private.ratio(a.conversions, a.sessions),
    'ctr', app_private.ratio(a.clicks, a.impressions),
    'cpc', app_private.ratio(a.spend, a.clicks),
    'roas', app_private.ratio(a.revenue, a.spend)
  )
  from m, a);
end
$$;

-- ---------------------------------------------------------------------------
-- the dashboard api (postgrest: rpc/dashboard_summary, rpc/dashboard_series,
-- rpc/dashboard_breakdown). security invoker: the caller's rls on the rollups applies.
-- ---------------------------------------------------------------------------

-- summary cards for [p_from, p_to] (local days in p_time_zone, both included) and for the
-- period of the same length just before it, with the relative change of every figure.
create or replace function public.dashboard_summary(
  p_from date,
  p_to date,
  p_time_zone text default 'UTC',
  p_channel text default null,
  p_campaign_id uuid default null
)
returns jsonb
language plpgsql
stable
security invoker
set search_path = ''
as $$
declare
  days int;
  prev_from date;
  prev_to date;
  cur jsonb;
  prev jsonb;
  change jsonb;
begin
  perform app_private.check_dashboard_range(p_from, p_to);
  perform app_private.check_dashboard_channel(p_channel);
  days := p_to - p_from + 1;
  prev_to := p_from - 1;
  prev_from := p_from - days;
  perform app_private.check_dashboard_zone(p_time_zone, prev_from, p_to);
  cur := app_private.dashboard_totals(p_from, p_to, p_time_zone, p_channel, p_campaign_id);
  prev := app_private.dashboard_totals(prev_from, prev_to, p_time_zone, p_channel, p_campaign_id);
  -- relative change: (current - previous) / previous; null when the previous is 0 or null.
  select jsonb_object_agg(c.key, app_private.ratio(
           (c.value #>> '{}')::numeric - (p.value #>> '{}')::numeric, (p.value #>> '{}')::numeric))
    into change
  from jsonb_each(cur) c
  join jsonb_each(prev) p using (key);
  return jsonb_build_object(
    'from', p_from,
    'to', p_to,
    'time_zone', p_time_zone,
    'previous_from', prev_from,
    'previous_to', prev_to,
    'current', cur,
    'previous', prev,
    'change', change
  );
end
$$;

comment on function public.dashboard_summary(date, date, text, text, uuid) is
  'summary cards for local days p_from..p_to in p_time_zone, the previous period of equal length, and the relative change.';

-- one row per day, week (monday first) or month of [p_from, p_to] in p_time_zone, every
-- period present (zeros where nothing happened); the first and last periods are clipped to
-- the range (period_start / period_end say so).
create or replace function public.dashboard_series(
  p_from date,
  p_to date,
  p_interval text default 'day',
  p_time_zone text default 'UTC',
  p_channel text default null,
  p_campaign_id uuid default null
)
returns table (
  period_start date,
  period_end date,
  messages_sent bigint,
  messages_delivered bigint,
  messages_opened bigint,
  messages_clicked bigint,
  messages_bounced bigint,
  messages_failed bigint,
  unsubscribes bigint,
  sessions bigint,
  users bigint,
  conversions numeric,
  revenue numeric,
  impressions bigint,
  clicks bigint,
  spend numeric
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  perform app_private.check_dashboard_range(p_from, p_to);
  if p_interval is null or p_interval not in ('day', 'week', 'month') then
    perform app_private.dashboard_error('p_interval', format('must be day, week or month, not %s', coalesce(p_interval, 'null')));
  end if;
  perform app_private.check_dashboard_channel(p_channel);
  perform app_private.check_dashboard_zone(p_time_zone, p_from, p_to);
  return query
  with periods as (
    select greatest(g::date, p_from) as period_start,
           least((g + ('1 ' || p_interval)::interval)::date - 1, p_to) as period_end
    from pg_catalog.generate_series(date_trunc(p_interval, p_from::timestamp), p_to::timestamp,
                                    ('1 ' || p_interval)::interval) g
  ), m as (
    select greatest(date_trunc(p_interval, (h.bucket at time zone p_time_zone)::date::timestamp)::date, p_from) as period_start,
           sum(h.sent) as sent, sum(h.delivered) as delivered, sum(h.opened) as opened,
           sum(h.clicked) as clicked, sum(h.bounced) as bounced, sum(h.failed) as failed,
           sum(h.unsubscribed) as unsubscribed
    from app_private.message_rollup(false, p_campaign_id) h
    where h.bucket >= (p_from::timestamp at time zone p_time_zone)
      and h.bucket < ((p_to + 1)::timestamp at time zone p_time_zone)
      and (p_channel is null or h.channel = p_channel)
      and (p_campaign_id is null or h.campaign_id = p_campaign_id)
    group by 1
  ), a as (
    select greatest(date_trunc(p_interval, d.metric_date::timestamp)::date, p_from) as period_start,
           sum(d.sessions) as sessions, sum(d.users) as users, sum(d.conversions) as conversions,
           sum(d.revenue) as revenue, sum(d.impressions) as impressions, sum(d.clicks) as clicks,
           sum(d.spend) as spend
    from app_private.analytics_rollup(false, p_campaign_id) d
    where d.metric_date between p_from and p_to
      and (p_channel is null or d.channel = p_channel)
      and (p_campaign_id is null or d.campaign_id = p_campaign_id)
    group by 1
  )
  select p.period_start, p.period_end,
         coalesce(m.sent, 0)::bigint, coalesce(m.delivered, 0)::bigint, coalesce(m.opened, 0)::bigint,
         coalesce(m.clicked, 0)::bigint, coalesce(m.bounced, 0)::bigint, coalesce(m.failed, 0)::bigint,
         coalesce(m.unsubscribed, 0)::bigint,
         coalesce(a.sessions, 0)::bigint, coalesce(a.users, 0)::bigint, coalesce(a.conversions, 0),
         coalesce(a.revenue, 0), coalesce(a.impressions, 0)::bigint, coalesce(a.clicks, 0)::bigint,
         coalesce(a.spend, 0)
  from periods p
  left join m on m.period_start = p.period_start
  left join a on a.period_start = p.period_start
  order by p.period_start;
end
$$;

comment on function public.dashboard_series(date, date, text, text, text, uuid) is
  'time series by day, week or month of local days p_from..p_to in p_time_zone; every period present.';

-- totals of [p_from, p_to] per campaign, channel or source, largest first. message
-- figures exist per campaign and channel; analytics figures per campaign, channel and
-- source (messages have no source, so their columns are null in a source breakdown).
create or replace function public.dashboard_breakdown(
  p_from date,
  p_to date,
  p_dimension text,
  p_time_zone text default 'UTC',
  p_limit integer default 50,
  p_channel text default null,
  p_campaign_id uuid default null
)
returns table (
  key text,
  label text,
  messages_sent bigint,
  messages_delivered bigint,
  messages_opened bigint,
  messages_clicked bigint,
  messages_bounced bigint,
  unsubscribes bigint,
  delivery_rate numeric,
  open_rate numeric,
  click_rate numeric,
  sessions bigint,
  users bigint,
  conversions numeric,
  revenue numeric,
  impressions bigint,
  clicks bigint,
  spend numeric,
  ctr numeric,
  cpc numeric,
  roas numeric
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
begin
  perform app_private.check_dashboard_range(p_from, p_to);
  if p_dimension is null or p_dimension not in ('campaign', 'channel', 'source') then
    perform app_private.dashboard_error('p_dimension', format('must be campaign, channel or source, not %s', coalesce(p_dimension, 'null')));
  end if;
  if p_limit is null or p_limit < 1 or p_limit > 1000 then
    perform app_private.dashboard_error('p_limit', 'must be between 1 and 1000');
  end if;
  perform app_private.check_dashboard_channel(p_channel);
  perform app_private.check_dashboard_zone(p_time_zone, p_from, p_to);
  return query
  with m as (
    select case p_dimension when 'campaign' then h.campaign_id::text else h.channel end as k,
           sum(h.sent) as sent, sum(h.delivered) as delivered, sum(h.opened) as opened,
           sum(h.clicked) as clicked, sum(h.bounced) as bounced, sum(h.unsubscribed) as unsubscribed
    from app_private.message_rollup(p_dimension = 'campaign', p_campaign_id) h
    where p_dimension <> 'source'
      and h.bucket >= (p_from::timestamp at time zone p_time_zone)
      and h.bucket < ((p_to + 1)::timestamp at time zone p_time_zone)
      and (p_channel is null or h.channel = p_channel)
      and (p_campaign_id is null or h.campaign_id = p_campaign_id)
    group by 1
  ), a as (
    select case p_dimension when 'campaign' then d.campaign_id::text
                            when 'channel' then d.channel
                            else d.source end as k,
           sum(d.sessions) as sessions, sum(d.users) as users, sum(d.conversions) as conversions,
           sum(d.revenue) as revenue, sum(d.impressions) as impressions, sum(d.clicks) as clicks,
           sum(d.spend) as spend
    from app_private.analytics_rollup(p_dimension = 'campaign', p_campaign_id) d
    where d.metric_date between p_from and p_to
      and (p_channel is null or d.channel = p_channel)
      and (p_campaign_id is null or d.campaign_id = p_campaign_id)
    group by 1
  ), joined as (
    -- a full join on "is not distinct from" cannot be planned; a union grouped by key
    -- pairs the two sides, the null key (no campaign, no channel) included.
    select u.k, sum(u.sent) as sent, sum(u.delivered) as delivered, sum(u.opened) as opened,
           sum(u.clicked) as clicked, sum(u.bounced) as bounced, sum(u.unsubscribed) as unsubscribed,
           sum(u.sessions) as sessions, sum(u.users) as users, sum(u.conversions) as conversions,
           sum(u.revenue) as revenue, sum(u.impressions) as impressions, sum(u.clicks) as clicks,
           sum(u.spend) as spend
    from (
      select m.k, m.sent, m.delivered, m.opened, m.clicked, m.bounced, m.unsubscribed,
             null::numeric as sessions, null::numeric as users, null::numeric as conversions,
             null::numeric as revenue, null::numeric as impressions, null::numeric as clicks,
             null::numeric as spend
      from m
      union all
      select a.k, null, null, null, null, null, null,
             a.sessions, a.users, a.conversions, a.revenue, a.impressions, a.clicks, a.spend
      from a
    ) u
    group by u.k
  )
  select j.k,
         case
           when p_dimension = 'campaign' and j.k is null then '(no campaign)'
           when p_dimension = 'campaign' then coalesce(c.name, '(campaign ' || j.k || ')')
           else coalesce(j.k, '(none)')
         end,
         j.sent::bigint, j.delivered::bigint, j.opened::bigint, j.clicked::bigint, j.bounced::bigint,
         j.unsubscribed::bigint,
         app_private.ratio(j.delivered, j.sent), app_private.ratio(j.opened, j.delivered),
         app_private.ratio(j.clicked, j.delivered),
         j.sessions::bigint, j.users::bigint, j.conversions, j.revenue, j.impressions::bigint,
         j.clicks::bigint, j.spend,
         app_private.ratio(j.clicks, j.impressions), app_private.ratio(j.spend, j.clicks),
         app_private.ratio(j.revenue, j.spend)
  from joined j
  left join public.campaigns c on p_dimension = 'campaign' and c.id::text = j.k
  order by j.revenue desc nulls last, j.sent desc nulls last, j.k nulls last
  limit p_limit;
end
$$;

comment on function public.dashboard_breakdown(date, date, text, text, integer, text, uuid) is
  'totals of local days p_from..p_to per campaign, channel or source, largest revenue first.';

-- ---------------------------------------------------------------------------
-- report_runs: one row per generated report file
-- ---------------------------------------------------------------------------
create table public.report_runs (
  id uuid primary key default gen_random_uuid(),
  report_id uuid references public.reports (id) on delete cascade,
  format text not null check (format in ('csv', 'xlsx', 'pdf')),
  status text not null default 'running' check (status in ('running', 'succeeded', 'failed')),
  -- 'manual' (generate-report) or 'schedule' (a cron firing).
  trigger text not null default 'manual' check (trigger in ('manual', 'schedule')),
  -- the definition as run (after the template and the caller's overrides were merged).
  definition jsonb not null default '{}',
  period_from date,
  period_to date,
  row_count integer,
  byte_size bigint,
  -- where the file is: bucket 'reports', object path.
  storage_path text,
  error text,
  job_id bigint,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

comment on table public.report_runs is 'generated report files: format, period, size, where stored. members read; service_role writes.';

create index report_runs_report_id_idx on public.report_runs (report_id, created_at desc);
create index report_runs_created_by_idx on public.report_runs (created_by);

alter table public.report_runs enable row level security;
alter table public.report_runs force row level security;

revoke all on public.report_runs from anon;
grant select, insert, update, delete on public.report_runs to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- scheduled reports: reports.schedule (cron) and time_zone become a cron schedule
-- ---------------------------------------------------------------------------
-- one schedule per report, named report:<id>, firing the reports.deliver job. the trigger
-- keeps it in step (security definer: users may edit their reports but not cron_schedules);
-- a changed timing clears next_run_at, which the scheduler then computes in the zone.
create or replace function app_private.sync_report_schedule() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'DELETE' or new.schedule is null or btrim(new.schedule) = '' then
    delete from public.cron_schedules where name = 'report:' || coalesce(new.id, old.id)::text;
    return null;
  end if;
  insert into public.cron_schedules (name, cron, time_zone, job_kind, payload, enabled, created_by)
  values ('report:' || new.id, new.schedule, coalesce(new.time_zone, 'UTC'), 'reports.deliver',
          jsonb_build_object('report_id', new.id), true, new.created_by)
  on conflict (name) do update
    set cron = excluded.cron,
        time_zone = excluded.time_zone,
        enabled = true,
        next_run_at = case
          when cron_schedules.cron = excluded.cron and cron_schedules.time_zone = excluded.time_zone
          then cron_schedules.next_run_at
        end;
  return null;
end
$$;

create trigger reports_sync_schedule
  after insert or update of schedule, time_zone or delete on public.reports
  for each row execute function app_private.sync_report_schedule();

-- reports saved before this migration.
insert into public.cron_schedules (name, cron, time_zone, job_kind, payload, enabled, created_by)
select 'report:' || id, schedule, coalesce(time_zone, 'UTC'), 'reports.deliver',
       jsonb_build_object('report_id', id), true, created_by
from public.reports
where schedule is not null and btrim(schedule) <> ''
on conflict (name) do nothing;

-- ---------------------------------------------------------------------------
-- realtime: the tables a dashboard watches
-- ---------------------------------------------------------------------------
-- supabase creates the supabase_realtime publication; plain postgres (gimbal dev, tests)
-- has none. this adds what is missing when it exists and does nothing otherwise; the
-- policies (policies/dashboards.sql) call it again on every migrate, so a publication
-- created later is filled in then.
create or replace function app_private.publish_dashboard_tables() returns text[]
language plpgsql
set search_path = ''
as $$
declare
  wanted text[] := array[
    'message_totals_hourly', 'message_stats_hourly', 'analytics_totals_daily', 'analytics_daily', 'report_runs'
  ];
  added text[] := '{}';
  t text;
begin
  if not exists (select 1 from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    return added;
  end if;
  -- a publication for all tables already carries them (and refuses add table).
  if (select puballtables from pg_catalog.pg_publication where pubname = 'supabase_realtime') then
    return added;
  end if;
  foreach t in array wanted loop
    if not exists (
      select 1 from pg_catalog.pg_publication_tables
      where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = t
    ) then
      execute format('alter publication supabase_realtime add table public.%I', t);
      added := added || t;
    end if;
  end loop;
  return added;
end
$$;

revoke all on function app_private.publish_dashboard_tables() from public;

select app_private.publish_dashboard_tables();
