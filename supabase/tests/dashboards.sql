-- dashboards: the rollups follow inserts, status updates and deletes of messages, events
-- and analytics rows; the dashboard functions answer from them in the caller's zone,
-- refuse bad arguments by name, and are closed to anon; the rollups and report runs obey
-- the access matrix; the realtime publication gets the dashboard tables when it exists.
-- all data sits in 2001, so the suite also runs on a database holding demo data.

begin;
select plan(56);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-00000000000a', 'authenticated', 'authenticated', 'pgtap.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'pgtap.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000c', 'authenticated', 'authenticated', 'pgtap.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

insert into public.campaigns (id, name, channel, created_by) values
  ('f00000c1-0000-4000-8000-000000000001', 'pgtap campaign', 'email', 'f0000000-0000-4000-8000-00000000000a');

-- ============================================================================
-- the rollups follow the raw rows
-- ============================================================================
-- new york, sunday 2001-04-01: clocks jump from 02:00 to 03:00 (est -5 -> edt -4), so the
-- local day runs from 05:00 utc to 04:00 utc the next day: 23 hours.
insert into public.email_messages (id, campaign_id, to_email, body, status, created_at, sent_at, delivered_at, opened_at) values
  -- 2001-04-01 04:30 utc is still 2001-03-31 23:30 in new york
  ('f00000e1-0000-4000-8000-000000000001', 'f00000c1-0000-4000-8000-000000000001', 'a@example.com', 'x', 'opened',
   '2001-04-01 04:30+00', '2001-04-01 04:30+00', '2001-04-01 04:31+00', '2001-04-01 06:00+00'),
  -- 05:10 utc is 00:10 est on 2001-04-01
  ('f00000e1-0000-4000-8000-000000000002', 'f00000c1-0000-4000-8000-000000000001', 'b@example.com', 'x', 'delivered',
   '2001-04-01 05:10+00', '2001-04-01 05:10+00', '2001-04-01 05:11+00', null),
  -- 2001-04-02 03:50 utc is 23:50 edt on 2001-04-01
  ('f00000e1-0000-4000-8000-000000000003', 'f00000c1-0000-4000-8000-000000000001', 'c@example.com', 'x', 'sent',
   '2001-04-02 03:50+00', '2001-04-02 03:50+00', null, null),
  -- 2001-04-02 04:10 utc is 00:10 edt on 2001-04-02
  ('f00000e1-0000-4000-8000-000000000004', 'f00000c1-0000-4000-8000-000000000001', 'd@example.com', 'x', 'queued',
   '2001-04-02 04:10+00', null, null, null);

select is(
  (select sum(sent)::int from public.message_stats_hourly where bucket >= '2001-04-01' and bucket < '2001-04-03'),
  3, 'insert: three of the four emails count as sent (the queued one does not)'
);
select is(
  (select sum(opened)::int from public.message_stats_hourly where bucket >= '2001-04-01' and bucket < '2001-04-03'),
  1, 'insert: the opened email counts as opened'
);

-- the queued email is sent and delivered: its contribution moves to its sent quarter hour.
update public.email_messages
  set status = 'delivered', sent_at = '2001-04-02 04:15+00', delivered_at = '2001-04-02 04:16+00'
  where id = 'f00000e1-0000-4000-8000-000000000004';
select is(
  (select delivered::int from public.message_stats_hourly where bucket = '2001-04-02 04:15+00' and channel = 'email'),
  1, 'status update: the delivered email is counted in its quarter hour'
);
-- an update that changes nothing counted writes nothing.
select is(
  (select count(*)::int from public.message_stats_hourly where bucket >= '2001-04-01' and bucket < '2001-04-03'),
  4, 'one rollup row per quarter hour that had messages'
);

-- the email bounces after all: delivered falls, bounced rises.
update public.email_messages set status = 'bounced', delivered_at = null
  where id = 'f00000e1-0000-4000-8000-000000000002';
select is(
  (select (delivered, bounced)::text from public.message_stats_hourly where bucket = '2001-04-01 05:00+00' and channel = 'email'),
  '(0,1)', 'status update: a bounce moves the email from delivered to bounced'
);

insert into public.message_events (channel, provider, provider_event_id, message_id, event_type, occurred_at) values
  ('email', 'pgtap', 'pgtap-unsub-1', 'f00000e1-0000-4000-8000-000000000001', 'unsubscribe', '2001-04-01 12:00+00'),
  ('email', 'pgtap', 'pgtap-open-1', 'f00000e1-0000-4000-8000-000000000001', 'open', '2001-04-01 12:00+00');
select is(
  (select campaign_id from public.message_events where provider_event_id = 'pgtap-unsub-1'),
  'f00000c1-0000-4000-8000-000000000001'::uuid, 'an event takes the campaign of its message'
);
select is(
  (select unsubscribed::int from public.message_stats_hourly where bucket = '2001-04-01 12:00+00'),
  1, 'an unsubscribe event counts; other events do not'
);

delete from public.email_messages where id = 'f00000e1-0000-4000-8000-000000000003';
select is(
  (select sum(sent)::int from public.message_stats_hourly where bucket >= '2001-04-01' and bucket < '2001-04-03'),
  3, 'delete: a deleted email no longer counts'
);

insert into public.analytics_data (source, metric_date, channel, natural_key, sessions, revenue, spend, clicks, impressions) values
  ('pgtap', '2001-04-01', 'email', 'pgtap-1', 100, 50.00, 10.00, 20, 1000),
  ('pgtap', '2001-04-01', 'email', 'pgtap-2', 50, 25.00, 5.00, 10, 500),
  ('pgtap', '2001-03-31', 'email', 'pgtap-3', 10, 0, 0, 0, 0);
update public.analytics_data set sessions = 70 where natural_key = 'pgtap-2';
select is(
  (select (row_count, sessions, revenue)::text from public.analytics_daily where source = 'pgtap' and metric_date = '2001-04-01'),
  '(2,170,75.00)', 'analytics rows are summed per day, and updates are followed'
);
delete from public.analytics_data where natural_key = 'pgtap-1';
select is(
  (select (row_count, sessions)::text from public.analytics_daily where source = 'pgtap' and metric_date = '2001-04-01'),
  '(1,70)', 'analytics deletes are followed'
);

-- ============================================================================
-- the dashboard functions, as a viewer
-- ============================================================================
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","app_metadata":{"role":"viewer"}}', true);

select is(
  (select messages_sent::int from public.dashboard_series('2001-04-01', '2001-04-01', 'day', 'UTC')),
  2, 'utc day 2001-04-01: the 04:30 and 05:10 emails'
);
select is(
  (select array_agg(messages_sent::int order by period_start) from public.dashboard_series('2001-03-31', '2001-04-02', 'day', 'America/New_York')),
  array[1, 1, 1], 'new york days across the dst change: one email on each local day'
);
select is(
  (select array_agg(messages_sent::int order by period_start) from public.dashboard_series('2001-03-31', '2001-04-02', 'day', 'Europe/Berlin')),
  array[0, 2, 1], 'berlin days: the same emails fall on other local days'
);
select is(
  (select array_agg(period_start::text || '..' || period_end::text order by period_start)
   from public.dashboard_series('2001-03-28', '2001-04-10', 'week', 'UTC')),
  array['2001-03-28..2001-04-01', '2001-04-02..2001-04-08', '2001-04-09..2001-04-10'],
  'weeks start on monday and are clipped to the range'
);
select is(
  (select count(*)::int from public.dashboard_series('2001-01-15', '2001-12-31', 'month', 'UTC')),
  12, 'months: every month present, zeros included'
);
select is(
  (public.dashboard_summary('2001-04-01', '2001-04-01', 'UTC') -> 'current' ->> 'messages_sent')::int,
  2, 'summary: messages sent in the period'
);
select is(
  (public.dashboard_summary('2001-04-01', '2001-04-01', 'UTC') -> 'current' ->> 'roas')::numeric,
  5.0, 'summary: roas = revenue / spend'
);
select is(
  public.dashboard_summary('2001-04-01', '2001-04-01', 'UTC') ->> 'previous_from',
  '2001-03-31', 'summary: the previous period has the same length, just before'
);
select is(
  public.dashboard_summary('2001-04-01', '2001-04-01', 'UTC') -> 'change' ->> 'sessions',
  '6.000000', 'summary: change against the previous period (70 vs 10 sessions)'
);
select ok(
  (public.dashboard_summary('1999-01-01', '1999-01-31', 'UTC') -> 'current' -> 'delivery_rate') = 'null'::jsonb
    and (public.dashboard_summary('1999-01-01', '1999-01-31', 'UTC') -> 'current' -> 'roas') = 'null'::jsonb,
  'summary: rates over nothing are null, not a division by zero'
);
select is(
  (select messages_sent::int from public.dashboard_breakdown('2001-04-01', '2001-04-02', 'campaign', 'UTC')
   where key = 'f00000c1-0000-4000-8000-000000000001'),
  3, 'breakdown by campaign'
);
select is(
  (select label from public.dashboard_breakdown('2001-04-01', '2001-04-02', 'campaign', 'UTC')
   where key = 'f00000c1-0000-4000-8000-000000000001'),
  'pgtap campaign', 'breakdown by campaign carries the campaign name'
);
select is(
  (select sessions::int from public.dashboard_breakdown('2001-04-01', '2001-04-01', 'source', 'UTC') where key = 'pgtap'),
  70, 'breakdown by source'
);
select is(
  (select (messages_sent, sessions)::text from public.dashboard_breakdown('2001-04-01', '2001-04-01', 'channel', 'UTC') where key = 'email'),
  '(2,70)', 'breakdown by channel joins message and analytics figures'
);

-- arguments are checked and named
select throws_ok($$select public.dashboard_summary(null, '2001-01-01')$$, '22023', 'p_from: is required (a date, YYYY-MM-DD)', 'p_from is required');
select throws_ok($$select public.dashboard_summary('2001-02-01', '2001-01-01')$$, '22023', 'p_to: 2001-01-01 is before p_from (2001-02-01)', 'p_to may not precede p_from');
select throws_like($$select public.dashboard_summary('2001-01-01', '2001-01-02', 'Not/AZone')$$, 'p_time_zone: Not/AZone is not an IANA time zone name%', 'unknown zones are refused by name');
select is(
  (select (public.dashboard_summary('2001-04-01', '2001-04-01', 'Asia/Kathmandu') -> 'current' ->> 'messages_sent')::int),
  -- 2001-04-01 in kathmandu (+05:45) runs from 03-31 18:15 to 04-01 18:15 utc: the emails
  -- sent at 04:30 and 05:10 utc.
  2, 'quarter-hour zones are answered from the quarter-hour buckets'
);
select throws_like($$select public.dashboard_summary('1900-01-01', '1900-01-02', 'Asia/Kolkata')$$, 'p_time_zone: Asia/Kolkata is not a whole number of quarter hours from UTC%', 'local mean time offsets are refused, not answered wrongly');
select throws_ok($$select * from public.dashboard_series('2001-01-01', '2001-01-02', 'fortnight')$$, '22023', 'p_interval: must be day, week or month, not fortnight', 'the interval is checked');
select throws_ok($$select * from public.dashboard_breakdown('2001-01-01', '2001-01-02', 'colour')$$, '22023', 'p_dimension: must be campaign, channel or source, not colour', 'the dimension is checked');
select throws_ok($$select * from public.dashboard_breakdown('2001-01-01', '2001-01-02', 'channel', 'UTC', 0)$$, '22023', 'p_limit: must be between 1 and 1000', 'the limit is checked');
select throws_ok($$select public.dashboard_summary('1990-01-01', '2001-01-02')$$, '22023', 'p_to: the range may span at most 3660 days', 'the range length is bounded');

-- the viewer reads rollups and runs but changes nothing
select throws_ok($$insert into public.message_stats_hourly (bucket, channel, sent) values ('2001-01-01', 'sms', 1)$$, '42501', null, 'viewer: cannot write a rollup');
select throws_ok($$insert into public.report_runs (format) values ('csv')$$, '42501', null, 'viewer: cannot record a report run');
select lives_ok($$delete from public.analytics_daily where source = 'pgtap'$$, 'viewer: delete runs');
reset role;
select is((select count(*)::int from public.analytics_daily where source = 'pgtap' and row_count > 0), 2, 'viewer: ... but rls deletes nothing');

-- ============================================================================
-- anon, user, admin, service_role
-- ============================================================================
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select public.dashboard_summary('2001-04-01', '2001-04-01')$$, '42501', null, 'anon: may not call dashboard_summary');
select throws_ok($$select * from public.dashboard_series('2001-04-01', '2001-04-01')$$, '42501', null, 'anon: may not call dashboard_series');
select throws_ok($$select * from public.dashboard_breakdown('2001-04-01', '2001-04-01', 'channel')$$, '42501', null, 'anon: may not call dashboard_breakdown');
select throws_ok($$select 1 from public.message_stats_hourly$$, '42501', null, 'anon: may not read rollups');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","app_metadata":{"role":"user"}}', true);
select is((public.dashboard_summary('2001-04-01', '2001-04-01') -> 'current' ->> 'messages_sent')::int, 2, 'user: sees the same summary');
select throws_ok($$update public.analytics_daily set sessions = 0$$, '42501', null, 'user: cannot change a rollup');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","app_metadata":{"role":"admin"}}', true);
select is((public.dashboard_summary('2001-04-01', '2001-04-01') -> 'current' ->> 'messages_sent')::int, 2, 'admin: sees the same summary');
select lives_ok($$delete from public.analytics_daily where source = 'pgtap'$$, 'admin: may delete rollup rows');
select is((select count(*)::int from public.analytics_daily where source = 'pgtap'), 0, 'admin: ... and they are gone');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is((public.dashboard_summary('2001-04-01', '2001-04-01') -> 'current' ->> 'messages_sent')::int, 2, 'service_role: sees the same summary');
reset role;

-- ============================================================================
-- truncate, rebuild, queued runs (V13)
-- ============================================================================
select is(
  (select count(*)::int from pg_catalog.pg_trigger where tgname like '%\_rollup\_truncate' and not tgisinternal),
  4, 'every rollup source has a truncate trigger'
);
truncate public.message_events;
select is(
  (select coalesce(sum(unsubscribed + complaints), 0)::int from public.message_stats_hourly),
  0, 'truncating message_events clears the unsubscribes and complaints it counted'
);
select is(
  (select sum(sent)::int from public.message_stats_hourly where bucket >= '2001-04-01' and bucket < '2001-04-03'),
  3, '... and leaves the message counters alone'
);
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select app_private.rebuild_rollups()$$, '42501', null, 'admin: may not rebuild the rollups');
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select ok((app_private.rebuild_rollups() ->> 'message_stats_hourly')::int > 0, 'service_role: rebuilds the rollups');
select lives_ok(
  $$insert into public.report_runs (format, status) values ('csv', 'queued')$$,
  'service_role: a run may be queued'
);
reset role;

-- ============================================================================
-- realtime
-- ============================================================================
select is(app_private.publish_dashboard_tables(), '{}'::text[], 'without a supabase_realtime publication nothing happens');
create publication supabase_realtime;
select is(
  app_private.publish_dashboard_tables(),
  array['message_totals_hourly', 'message_stats_hourly', 'analytics_totals_daily', 'analytics_daily', 'report_runs'],
  'with the publication, the dashboard tables are added'
);
select is(app_private.publish_dashboard_tables(), '{}'::text[], 'and adding again is a no-op');

select * from finish();
rollback;
