-- the sending engine's schema: the local outbox (users and admins read, only service_role
-- writes), the shared rate buckets and stats counters (service_role only), one message per
-- contact per campaign, and one message per transactional job.

begin;
select plan(25);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-0000000000da', 'authenticated', 'authenticated', 'pgtap.dispatch.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000db', 'authenticated', 'authenticated', 'pgtap.dispatch.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000dc', 'authenticated', 'authenticated', 'pgtap.dispatch.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

insert into public.local_outbox (channel, provider_message_id, to_address, body)
values ('sms', 'pgtap-outbox-1', '+15550190001', 'hello');

-- ---------------------------------------------------------------------------
-- local_outbox
-- ---------------------------------------------------------------------------
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select 1 from public.local_outbox$$, '42501', null, 'anon: may not read the local outbox');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-0000000000dc","role":"authenticated","app_metadata":{"role":"viewer"}}', true);
select is_empty($$select 1 from public.local_outbox where provider_message_id = 'pgtap-outbox-1'$$, 'viewer: sees no outbox rows');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-0000000000db","role":"authenticated","app_metadata":{"role":"user"}}', true);
select is((select count(*)::int from public.local_outbox where provider_message_id = 'pgtap-outbox-1'), 1, 'user: reads the outbox');
select throws_ok(
  $$insert into public.local_outbox (channel, provider_message_id, to_address) values ('sms', 'x', '+15550190002')$$,
  '42501', null, 'user: cannot write the outbox'
);
select throws_ok(
  $$select app_private.reserve_send_rate('provider:x', 1, 1, 1)$$,
  '42501', null, 'user: cannot touch the rate buckets'
);
select throws_ok(
  $$select app_private.add_campaign_stats(gen_random_uuid(), '{}')$$,
  '42501', null, 'user: cannot change campaign counters directly'
);
reset role;

set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-0000000000da","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select is((select count(*)::int from public.local_outbox where provider_message_id = 'pgtap-outbox-1'), 1, 'admin: reads the outbox');
select throws_ok(
  $$delete from public.local_outbox where provider_message_id = 'pgtap-outbox-1'$$,
  '42501', null, 'admin: cannot delete from the outbox'
);
reset role;

-- ---------------------------------------------------------------------------
-- rate buckets (gcra)
-- ---------------------------------------------------------------------------
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(app_private.reserve_send_rate('pgtap:bucket', 10, 5, 5), 0::float8, 'a burst goes at once');
select is(round(app_private.reserve_send_rate('pgtap:bucket', 10, 5, 10)::numeric, 1), 1.0, 'the next ten wait about a second at 10/s');
select is(round(app_private.reserve_send_rate('pgtap:bucket', 10, 5, 10)::numeric, 1), 2.0, 'and the ten after them about two');
select is(app_private.reserve_send_rate('pgtap:unlimited', 0, 1, 1000), 0::float8, 'a zero rate means no limit');
select is((select count(*)::int from app_private.send_rate_buckets where bucket = 'pgtap:bucket'), 1, 'one row per bucket');

-- ---------------------------------------------------------------------------
-- campaign counters
-- ---------------------------------------------------------------------------
insert into public.templates (id, name, channel, body) values ('f0000000-0000-4000-8000-0000000000d1', 't', 'sms', 'hi');
insert into public.campaigns (id, name, channel, template_id, stats)
values ('f0000000-0000-4000-8000-0000000000d1', 'c', 'sms', 'f0000000-0000-4000-8000-0000000000d1', '{"sent": 2, "note": "kept"}');
select is(
  app_private.add_campaign_stats('f0000000-0000-4000-8000-0000000000d1', '{"sent": 3, "failed": 1}'),
  '{"sent": 5, "failed": 1, "note": "kept"}'::jsonb,
  'counters add up; absent ones start at zero; other keys are kept'
);

-- ---------------------------------------------------------------------------
-- one message per contact per campaign; one per transactional job
-- ---------------------------------------------------------------------------
insert into public.contacts (id, phone, sms_consent) values ('f0000000-0000-4000-8000-0000000000d2', '+15550190003', 'granted');
select lives_ok(
  $$insert into public.sms_messages (campaign_id, contact_id, to_phone, body)
    values ('f0000000-0000-4000-8000-0000000000d1', 'f0000000-0000-4000-8000-0000000000d2', '+15550190003', 'one')$$,
  'the first message to a contact in a campaign is stored'
);
select throws_ok(
  $$insert into public.sms_messages (campaign_id, contact_id, to_phone, body)
    values ('f0000000-0000-4000-8000-0000000000d1', 'f0000000-0000-4000-8000-0000000000d2', '+15550190003', 'two')$$,
  '23505', null, 'a second one to the same contact in the same campaign is refused'
);
select lives_ok(
  $$insert into public.sms_messages (to_phone, body, job_id) values ('+15550190003', 'otp', 424242)$$,
  'a transactional message records its job'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body, job_id) values ('+15550190003', 'otp again', 424242)$$,
  '23505', null, 'a job has at most one message'
);
select lives_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190003', 'no job'), ('+15550190003', 'no job')$$,
  'messages without a campaign or job are not constrained'
);
select has_index('public', 'sms_messages', 'sms_messages_campaign_id_idx', 'claims and the lease sweep go by (campaign_id, status) (sms)');
select has_index('public', 'email_messages', 'email_messages_campaign_id_idx', 'claims and the lease sweep go by (campaign_id, status) (email)');
select has_index('public', 'sms_messages', 'sms_messages_contact_campaign_key', array['contact_id', 'campaign_id'], 'one message per contact and campaign, led by contact_id (sms)');
select has_index('public', 'email_messages', 'email_messages_contact_campaign_key', array['contact_id', 'campaign_id'], 'one message per contact and campaign, led by contact_id (email)');
select hasnt_index('public', 'email_messages', 'email_messages_contact_id_idx', 'the contact_id index is covered by the unique one (email)');
select hasnt_index('public', 'sms_messages', 'sms_messages_contact_id_idx', 'the contact_id index is covered by the unique one (sms)');
reset role;

select * from finish();
rollback;
