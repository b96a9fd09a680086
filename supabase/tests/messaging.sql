-- campaign statistics (V6): counters kept by triggers on the message tables, correct under
-- repeated and out-of-order updates; campaign_stats and campaign_performance readable by
-- members only; status ranks never move a message backwards.

begin;
select plan(22);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f6000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'pgtap.messaging.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f6000000-0000-4000-8000-00000000000c', 'authenticated', 'authenticated', 'pgtap.messaging.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

select has_table('public', 'campaign_stats', 'campaign_stats exists');
select has_view('public', 'campaign_performance', 'campaign_performance exists');
select ok(
  (select 'security_invoker=true' = any(reloptions) from pg_class where oid = 'public.campaign_performance'::regclass),
  'campaign_performance runs with the caller''s rights (security_invoker)'
);
select has_column('public', 'email_messages', 'bounced_at', 'email_messages.bounced_at exists');
select has_column('public', 'sms_messages', 'failed_at', 'sms_messages.failed_at exists');

insert into public.campaigns (id, name, channel) values
  ('f600000d-0000-4000-8000-000000000001', 'pgtap stats email', 'email'),
  ('f600000d-0000-4000-8000-000000000002', 'pgtap stats sms', 'sms');

-- the dispatcher's path: rows inserted queued, then marked sent by status alone.
insert into public.email_messages (id, campaign_id, to_email, subject, body, status)
select ('f600000f-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid,
       'f600000d-0000-4000-8000-000000000001', 'pgtap' || i || '@example.com', 's', 'b', 'queued'
from generate_series(1, 4) i;
update public.email_messages set status = 'sent'
where campaign_id = 'f600000d-0000-4000-8000-000000000001';

select is(
  (select sent from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  4::bigint, 'a status change to sent counts each message once'
);
select ok(
  (select bool_and(sent_at is not null) from public.email_messages
    where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  'the status trigger stamps sent_at'
);

-- the same outcome twice (a redelivered webhook) counts once.
update public.email_messages set status = 'delivered' where id = 'f600000f-0000-4000-8000-000000000001';
update public.email_messages set status = 'delivered' where id = 'f600000f-0000-4000-8000-000000000001';
select is(
  (select delivered from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  1::bigint, 'delivered twice counts once'
);

-- a click implies an open; both are counted once.
update public.email_messages set status = 'clicked' where id = 'f600000f-0000-4000-8000-000000000001';
select is(
  (select (opened, clicked) from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  row(1::bigint, 1::bigint), 'a click counts an open and a click'
);

update public.email_messages set status = 'bounced' where id = 'f600000f-0000-4000-8000-000000000002';
update public.email_messages set status = 'unsubscribed' where id = 'f600000f-0000-4000-8000-000000000003';
update public.email_messages set status = 'dropped' where id = 'f600000f-0000-4000-8000-000000000004';
select is(
  (select (bounced, unsubscribed, failed) from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  row(1::bigint, 1::bigint, 1::bigint), 'bounces, unsubscribes and drops are counted'
);

select cmp_ok(
  app_private.email_status_rank('delivered'), '<', app_private.email_status_rank('opened'),
  'delivered ranks below opened (a late delivered never undoes an open)'
);
select cmp_ok(
  app_private.sms_status_rank('sent'), '<', app_private.sms_status_rank('delivered'),
  'sms sent ranks below delivered'
);

-- sms: inserted already sent, then delivered and failed.
insert into public.sms_messages (id, campaign_id, to_phone, body, status) values
  ('f600000e-0000-4000-8000-000000000001', 'f600000d-0000-4000-8000-000000000002', '+15550160001', 'b', 'sent'),
  ('f600000e-0000-4000-8000-000000000002', 'f600000d-0000-4000-8000-000000000002', '+15550160002', 'b', 'sent');
update public.sms_messages set status = 'delivered' where id = 'f600000e-0000-4000-8000-000000000001';
update public.sms_messages set status = 'undelivered' where id = 'f600000e-0000-4000-8000-000000000002';
select is(
  (select (sent, delivered, failed) from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000002'),
  row(2::bigint, 1::bigint, 1::bigint), 'sms sent, delivered and failed are counted'
);

-- inbound messages are not campaign outcomes.
insert into public.sms_messages (campaign_id, direction, to_phone, from_phone, body, status)
values ('f600000d-0000-4000-8000-000000000002', 'inbound', '+15550160009', '+15550160001', 'STOP', 'received');
select is(
  (select sent from public.campaign_stats where campaign_id = 'f600000d-0000-4000-8000-000000000002'),
  2::bigint, 'inbound messages do not count'
);

select is(
  (select (sent, delivered, delivery_rate) from public.campaign_performance
    where campaign_id = 'f600000d-0000-4000-8000-000000000002'),
  row(2::bigint, 1::bigint, 0.5000::numeric), 'campaign_performance shows counts and rates'
);

-- access.
set local role authenticated;
set local request.jwt.claims = '{"sub": "f6000000-0000-4000-8000-00000000000c", "role": "authenticated", "app_metadata": {"role": "viewer"}}';
select is(
  (select count(*) from public.campaign_stats where campaign_id in
    ('f600000d-0000-4000-8000-000000000001', 'f600000d-0000-4000-8000-000000000002')),
  2::bigint, 'viewers read campaign stats'
);
select is(
  (select count(*) from public.campaign_performance where campaign_id = 'f600000d-0000-4000-8000-000000000001'),
  1::bigint, 'viewers read campaign_performance'
);
select throws_ok(
  $$update public.campaign_stats set sent = 0$$,
  '42501', null, 'viewers cannot change stats'
);
set local request.jwt.claims = '{"sub": "f6000000-0000-4000-8000-00000000000b", "role": "authenticated", "app_metadata": {"role": "user"}}';
select throws_ok(
  $$insert into public.campaign_stats (campaign_id) values ('f600000d-0000-4000-8000-000000000001')$$,
  '42501', null, 'users cannot write stats'
);
reset role;

set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select * from public.campaign_stats$$, '42501', null, 'anon cannot read campaign_stats');
select throws_ok($$select * from public.campaign_performance$$, '42501', null, 'anon cannot read campaign_performance');
reset role;

select ok(
  not has_table_privilege('authenticated', 'public.campaign_stats', 'insert, update, delete'),
  'authenticated holds no write privilege on campaign_stats'
);

select * from finish();
rollback;
