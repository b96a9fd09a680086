-- sms segments summed per campaign: the outcome trigger adds the segments of messages that
-- become sent (not of queued or failed ones), and campaign_performance shows them to members.

begin;
select plan(5);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-0000000000ec', 'authenticated', 'authenticated', 'pgtap.counts.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

insert into public.campaigns (id, name, channel, status)
values ('f0000000-0000-4000-8000-00000000c0c0', 'pgtap counts', 'sms', 'running');

insert into public.sms_messages (campaign_id, to_phone, body, status, segments)
values ('f0000000-0000-4000-8000-00000000c0c0', '+15550190101', 'a', 'queued', 2),
       ('f0000000-0000-4000-8000-00000000c0c0', '+15550190102', 'b', 'queued', 3),
       ('f0000000-0000-4000-8000-00000000c0c0', '+15550190103', 'c', 'queued', 1);

select is((select count(*)::int from public.campaign_stats where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0'),
          0, 'queued messages count nothing');

update public.sms_messages set status = 'sent', sent_at = now()
where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0' and segments in (2, 3);
update public.sms_messages set status = 'failed'
where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0' and segments = 1;

select is((select segments from public.campaign_stats where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0'),
          5::bigint, 'the segments of the two sent messages');

-- a later status change of a sent message (delivered) adds no segments
update public.sms_messages set status = 'delivered', delivered_at = now()
where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0' and segments = 2;
select is((select segments from public.campaign_stats where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0'),
          5::bigint, 'delivery adds no segments');

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-0000000000ec","role":"authenticated","app_metadata":{"role":"viewer"}}', true);
select is((select segments from public.campaign_performance where campaign_id = 'f0000000-0000-4000-8000-00000000c0c0'),
          5::bigint, 'viewer: campaign_performance shows the segments');
reset role;

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select segments from public.campaign_performance$$, '42501', null, 'anon: no campaign_performance');
reset role;

select * from finish();
rollback;
