-- sms messages, email messages and provider events: users and admins read; only
-- service_role writes; viewers and anon nothing.

begin;
select plan(72);

-- actors: admin (a), user (b), viewer (c) and a second user (d). their ids are private to
-- the tests, so the suite also runs on a database holding demo or fixture data.
insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-00000000000a', 'authenticated', 'authenticated', 'pgtap.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'pgtap.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000c', 'authenticated', 'authenticated', 'pgtap.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000d', 'authenticated', 'authenticated', 'pgtap.user2@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now())
on conflict (id) do nothing;

-- the rows every block starts from: one per owner (a, b, c, d) where the table has an
-- owner, two otherwise. blocks delete rows, so each block re-creates what is missing.
create function pg_temp.restore_fixtures() returns void
language sql
as $fixtures$
  insert into public.sms_messages (id, to_phone, body, status)
    select 'f000000e-0000-4000-8000-000000000001', '+15550190001', 'fixture sms 1', 'delivered'
    where not exists (select from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000001');
  insert into public.sms_messages (id, to_phone, body, status)
    select 'f000000e-0000-4000-8000-000000000002', '+15550190002', 'fixture sms 2', 'delivered'
    where not exists (select from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002');
  insert into public.email_messages (id, to_email, subject, body, status)
    select 'f000000f-0000-4000-8000-000000000001', 'fixture.1@example.com', 'fixture', 'fixture email 1', 'delivered'
    where not exists (select from public.email_messages where id = 'f000000f-0000-4000-8000-000000000001');
  insert into public.email_messages (id, to_email, subject, body, status)
    select 'f000000f-0000-4000-8000-000000000002', 'fixture.2@example.com', 'fixture', 'fixture email 2', 'delivered'
    where not exists (select from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002');
  insert into public.message_events (channel, provider, provider_event_id, event_type, payload)
    select 'sms', 'fixture', 'fixture-event-f1', 'delivered', '{}'
    where not exists (select from public.message_events where provider_event_id = 'fixture-event-f1');
  insert into public.message_events (channel, provider, provider_event_id, event_type, payload)
    select 'sms', 'fixture', 'fixture-event-f2', 'delivered', '{}'
    where not exists (select from public.message_events where provider_event_id = 'fixture-event-f2');
$fixtures$;

-- rows an update or delete changed, run as the current role. rls filters rows out
-- silently, so the count is what tells allowed from denied. an error (a missing
-- privilege, a failed with check) returns -1 with a warning naming it, so the
-- assertion fails readably instead of aborting the file.
create function pg_temp.rows_affected(stmt text) returns int
language plpgsql
as $fn$
declare
  n int;
begin
  execute stmt;
  get diagnostics n = row_count;
  return n;
exception when others then
  raise warning 'rows_affected: % (%)', sqlerrm, sqlstate;
  return -1;
end
$fn$;

-- ============================================================================
-- sms_messages
-- ============================================================================

-- sms_messages as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.sms_messages$$,
  '42501', null, 'anon: may not read sms messages (no privilege)'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert anon')$$,
  '42501', null, 'anon: cannot create a sms message (no privilege)'
);
select throws_ok(
  $$update public.sms_messages set error_message = 'matrix update' where id = 'f000000e-0000-4000-8000-000000000001'$$,
  '42501', null, 'anon: cannot update a sms message (no privilege)'
);
select throws_ok(
  $$delete from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002'$$,
  '42501', null, 'anon: cannot delete a sms message (no privilege)'
);
reset role;

-- sms_messages as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.sms_messages to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.sms_messages$$,
  'anon with privileges: still sees no sms messages'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create a sms message'
);
select is(
  pg_temp.rows_affected($$update public.sms_messages set error_message = 'matrix update' where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still updates no sms message'
);
select is(
  pg_temp.rows_affected($$delete from public.sms_messages where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still deletes no sms message'
);
reset role;

-- sms_messages as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.sms_messages where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')$$,
  'viewer: sees no sms messages'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert viewer')$$,
  '42501', null, 'viewer: cannot create a sms message (no privilege)'
);
select throws_ok(
  $$update public.sms_messages set error_message = 'matrix update' where id = 'f000000e-0000-4000-8000-000000000001'$$,
  '42501', null, 'viewer: cannot update a sms message (no privilege)'
);
select throws_ok(
  $$delete from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002'$$,
  '42501', null, 'viewer: cannot delete a sms message (no privilege)'
);
reset role;

-- sms_messages as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.sms_messages where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')),
  2, 'user: reads every sms message'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert user')$$,
  '42501', null, 'user: cannot create a sms message (no privilege)'
);
select throws_ok(
  $$update public.sms_messages set error_message = 'matrix update' where id = 'f000000e-0000-4000-8000-000000000001'$$,
  '42501', null, 'user: cannot update a sms message (no privilege)'
);
select throws_ok(
  $$delete from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002'$$,
  '42501', null, 'user: cannot delete a sms message (no privilege)'
);
reset role;

-- sms_messages as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.sms_messages where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')),
  2, 'admin: reads every sms message'
);
select throws_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert admin')$$,
  '42501', null, 'admin: cannot create a sms message (no privilege)'
);
select throws_ok(
  $$update public.sms_messages set error_message = 'matrix update' where id = 'f000000e-0000-4000-8000-000000000001'$$,
  '42501', null, 'admin: cannot update a sms message (no privilege)'
);
select throws_ok(
  $$delete from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002'$$,
  '42501', null, 'admin: cannot delete a sms message (no privilege)'
);
reset role;

-- sms_messages as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.sms_messages where id in ('f000000e-0000-4000-8000-000000000001', 'f000000e-0000-4000-8000-000000000002')),
  2, 'service_role: reads every sms message'
);
select lives_ok(
  $$insert into public.sms_messages (to_phone, body) values ('+15550190099', 'matrix insert service_role')$$,
  'service_role: can create a sms message'
);
select is(
  pg_temp.rows_affected($$update public.sms_messages set error_message = 'matrix update' where id = 'f000000e-0000-4000-8000-000000000001'$$),
  1, 'service_role: can update a sms message'
);
select is(
  pg_temp.rows_affected($$delete from public.sms_messages where id = 'f000000e-0000-4000-8000-000000000002'$$),
  1, 'service_role: can delete a sms message'
);
reset role;

-- ============================================================================
-- email_messages
-- ============================================================================

-- email_messages as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.email_messages$$,
  '42501', null, 'anon: may not read email messages (no privilege)'
);
select throws_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert anon')$$,
  '42501', null, 'anon: cannot create an email message (no privilege)'
);
select throws_ok(
  $$update public.email_messages set error_message = 'matrix update' where id = 'f000000f-0000-4000-8000-000000000001'$$,
  '42501', null, 'anon: cannot update an email message (no privilege)'
);
select throws_ok(
  $$delete from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002'$$,
  '42501', null, 'anon: cannot delete an email message (no privilege)'
);
reset role;

-- email_messages as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.email_messages to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.email_messages$$,
  'anon with privileges: still sees no email messages'
);
select throws_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create an email message'
);
select is(
  pg_temp.rows_affected($$update public.email_messages set error_message = 'matrix update' where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still updates no email message'
);
select is(
  pg_temp.rows_affected($$delete from public.email_messages where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still deletes no email message'
);
reset role;

-- email_messages as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.email_messages where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')$$,
  'viewer: sees no email messages'
);
select throws_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert viewer')$$,
  '42501', null, 'viewer: cannot create an email message (no privilege)'
);
select throws_ok(
  $$update public.email_messages set error_message = 'matrix update' where id = 'f000000f-0000-4000-8000-000000000001'$$,
  '42501', null, 'viewer: cannot update an email message (no privilege)'
);
select throws_ok(
  $$delete from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002'$$,
  '42501', null, 'viewer: cannot delete an email message (no privilege)'
);
reset role;

-- email_messages as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.email_messages where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')),
  2, 'user: reads every email message'
);
select throws_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert user')$$,
  '42501', null, 'user: cannot create an email message (no privilege)'
);
select throws_ok(
  $$update public.email_messages set error_message = 'matrix update' where id = 'f000000f-0000-4000-8000-000000000001'$$,
  '42501', null, 'user: cannot update an email message (no privilege)'
);
select throws_ok(
  $$delete from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002'$$,
  '42501', null, 'user: cannot delete an email message (no privilege)'
);
reset role;

-- email_messages as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.email_messages where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')),
  2, 'admin: reads every email message'
);
select throws_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert admin')$$,
  '42501', null, 'admin: cannot create an email message (no privilege)'
);
select throws_ok(
  $$update public.email_messages set error_message = 'matrix update' where id = 'f000000f-0000-4000-8000-000000000001'$$,
  '42501', null, 'admin: cannot update an email message (no privilege)'
);
select throws_ok(
  $$delete from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002'$$,
  '42501', null, 'admin: cannot delete an email message (no privilege)'
);
reset role;

-- email_messages as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.email_messages where id in ('f000000f-0000-4000-8000-000000000001', 'f000000f-0000-4000-8000-000000000002')),
  2, 'service_role: reads every email message'
);
select lives_ok(
  $$insert into public.email_messages (to_email, subject, body) values ('matrix.insert@example.com', 'matrix', 'matrix insert service_role')$$,
  'service_role: can create an email message'
);
select is(
  pg_temp.rows_affected($$update public.email_messages set error_message = 'matrix update' where id = 'f000000f-0000-4000-8000-000000000001'$$),
  1, 'service_role: can update an email message'
);
select is(
  pg_temp.rows_affected($$delete from public.email_messages where id = 'f000000f-0000-4000-8000-000000000002'$$),
  1, 'service_role: can delete an email message'
);
reset role;

-- ============================================================================
-- message_events
-- ============================================================================

-- message_events as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select provider_event_id from public.message_events$$,
  '42501', null, 'anon: may not read message events (no privilege)'
);
select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-anon', 'delivered')$$,
  '42501', null, 'anon: cannot create a message event (no privilege)'
);
select throws_ok(
  $$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id = 'fixture-event-f1'$$,
  '42501', null, 'anon: cannot update a message event (no privilege)'
);
select throws_ok(
  $$delete from public.message_events where provider_event_id = 'fixture-event-f2'$$,
  '42501', null, 'anon: cannot delete a message event (no privilege)'
);
reset role;

-- message_events as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.message_events to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.message_events$$,
  'anon with privileges: still sees no message events'
);
select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-anon', 'delivered')$$,
  '42501', null, 'anon with privileges: still cannot create a message event'
);
select is(
  pg_temp.rows_affected($$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')$$),
  0, 'anon with privileges: still updates no message event'
);
select is(
  pg_temp.rows_affected($$delete from public.message_events where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')$$),
  0, 'anon with privileges: still deletes no message event'
);
reset role;

-- message_events as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select provider_event_id from public.message_events where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')$$,
  'viewer: sees no message events'
);
select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-viewer', 'delivered')$$,
  '42501', null, 'viewer: cannot create a message event (no privilege)'
);
select throws_ok(
  $$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id = 'fixture-event-f1'$$,
  '42501', null, 'viewer: cannot update a message event (no privilege)'
);
select throws_ok(
  $$delete from public.message_events where provider_event_id = 'fixture-event-f2'$$,
  '42501', null, 'viewer: cannot delete a message event (no privilege)'
);
reset role;

-- message_events as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.message_events where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')),
  2, 'user: reads every message event'
);
select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-user', 'delivered')$$,
  '42501', null, 'user: cannot create a message event (no privilege)'
);
select throws_ok(
  $$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id = 'fixture-event-f1'$$,
  '42501', null, 'user: cannot update a message event (no privilege)'
);
select throws_ok(
  $$delete from public.message_events where provider_event_id = 'fixture-event-f2'$$,
  '42501', null, 'user: cannot delete a message event (no privilege)'
);
reset role;

-- message_events as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.message_events where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')),
  2, 'admin: reads every message event'
);
select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-admin', 'delivered')$$,
  '42501', null, 'admin: cannot create a message event (no privilege)'
);
select throws_ok(
  $$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id = 'fixture-event-f1'$$,
  '42501', null, 'admin: cannot update a message event (no privilege)'
);
select throws_ok(
  $$delete from public.message_events where provider_event_id = 'fixture-event-f2'$$,
  '42501', null, 'admin: cannot delete a message event (no privilege)'
);
reset role;

-- message_events as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.message_events where provider_event_id in ('fixture-event-f1', 'fixture-event-f2')),
  2, 'service_role: reads every message event'
);
select lives_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type) values ('sms', 'matrix', 'matrix-insert-service_role', 'delivered')$$,
  'service_role: can create a message event'
);
select is(
  pg_temp.rows_affected($$update public.message_events set payload = '{"note": "matrix update"}' where provider_event_id = 'fixture-event-f1'$$),
  1, 'service_role: can update a message event'
);
select is(
  pg_temp.rows_affected($$delete from public.message_events where provider_event_id = 'fixture-event-f2'$$),
  1, 'service_role: can delete a message event'
);
reset role;

select * from finish();
rollback;
