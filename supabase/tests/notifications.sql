-- notifications and notification preferences: viewers, users and admins each see and
-- manage only their own rows; service_role all; anon nothing.

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
  insert into public.notifications (id, user_id, kind, title)
    select 'f0000003-0000-4000-8000-00000000000a', 'f0000000-0000-4000-8000-00000000000a', 'fixture', 'fixture notification a'
    where not exists (select from public.notifications where id = 'f0000003-0000-4000-8000-00000000000a');
  insert into public.notifications (id, user_id, kind, title)
    select 'f0000003-0000-4000-8000-00000000000b', 'f0000000-0000-4000-8000-00000000000b', 'fixture', 'fixture notification b'
    where not exists (select from public.notifications where id = 'f0000003-0000-4000-8000-00000000000b');
  insert into public.notifications (id, user_id, kind, title)
    select 'f0000003-0000-4000-8000-00000000000c', 'f0000000-0000-4000-8000-00000000000c', 'fixture', 'fixture notification c'
    where not exists (select from public.notifications where id = 'f0000003-0000-4000-8000-00000000000c');
  insert into public.notifications (id, user_id, kind, title)
    select 'f0000003-0000-4000-8000-00000000000d', 'f0000000-0000-4000-8000-00000000000d', 'fixture', 'fixture notification d'
    where not exists (select from public.notifications where id = 'f0000003-0000-4000-8000-00000000000d');
  insert into public.notification_preferences (user_id, event_type, email)
    select 'f0000000-0000-4000-8000-00000000000a', 'campaign.completed', true
    where not exists (select from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed'));
  insert into public.notification_preferences (user_id, event_type, email)
    select 'f0000000-0000-4000-8000-00000000000b', 'campaign.completed', true
    where not exists (select from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed'));
  insert into public.notification_preferences (user_id, event_type, email)
    select 'f0000000-0000-4000-8000-00000000000c', 'campaign.completed', true
    where not exists (select from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed'));
  insert into public.notification_preferences (user_id, event_type, email)
    select 'f0000000-0000-4000-8000-00000000000d', 'campaign.completed', true
    where not exists (select from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed'));
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
-- notifications
-- ============================================================================

-- notifications as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.notifications$$,
  '42501', null, 'anon: may not read notifications (no privilege)'
);
select throws_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000b', 'matrix', 'matrix insert anon')$$,
  '42501', null, 'anon: cannot create a notification (no privilege)'
);
select throws_ok(
  $$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s notification (no privilege)'
);
select throws_ok(
  $$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s notification (no privilege)'
);
select throws_ok(
  $$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s notification (no privilege)'
);
select throws_ok(
  $$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s notification (no privilege)'
);
reset role;

-- notifications as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.notifications to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.notifications$$,
  'anon with privileges: still sees no notifications'
);
select throws_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000b', 'matrix', 'matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create a notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no notification'
);
reset role;

-- notifications as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notifications where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')$$,
  $$values ('f0000000-0000-4000-8000-00000000000c'::uuid)$$,
  'viewer: reads only their own notifications'
);
select lives_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000c', 'matrix', 'matrix insert viewer')$$,
  'viewer: can create a notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000c'$$),
  1, 'viewer: can update their own notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s notification (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000c'$$),
  1, 'viewer: can delete their own notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s notification (rls filters it out)'
);
reset role;

-- notifications as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notifications where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')$$,
  $$values ('f0000000-0000-4000-8000-00000000000b'::uuid)$$,
  'user: reads only their own notifications'
);
select lives_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000b', 'matrix', 'matrix insert user')$$,
  'user: can create a notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s notification (rls filters it out)'
);
select throws_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000d', 'matrix', 'matrix insert user')$$,
  '42501', null, 'user: cannot create a notification owned by another user'
);
select throws_ok(
  $$update public.notifications set user_id = 'f0000000-0000-4000-8000-00000000000d' where id = 'f0000003-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their notification over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s notification (rls filters it out)'
);
reset role;

-- notifications as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notifications where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')$$,
  $$values ('f0000000-0000-4000-8000-00000000000a'::uuid)$$,
  'admin: reads only their own notifications'
);
select lives_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000a', 'matrix', 'matrix insert admin')$$,
  'admin: can create a notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  0, 'admin: cannot update a user''s notification (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  0, 'admin: cannot delete a user''s notification (rls filters it out)'
);
reset role;

-- notifications as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.notifications where id in ('f0000003-0000-4000-8000-00000000000a', 'f0000003-0000-4000-8000-00000000000b', 'f0000003-0000-4000-8000-00000000000c', 'f0000003-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every notification'
);
select lives_ok(
  $$insert into public.notifications (user_id, kind, title) values ('f0000000-0000-4000-8000-00000000000b', 'matrix', 'matrix insert service_role')$$,
  'service_role: can create a notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s notification'
);
select is(
  pg_temp.rows_affected($$update public.notifications set read_at = '2024-01-01T00:00:00Z' where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s notification'
);
select is(
  pg_temp.rows_affected($$delete from public.notifications where id = 'f0000003-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s notification'
);
reset role;

-- ============================================================================
-- notification_preferences
-- ============================================================================

-- notification_preferences as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select user_id from public.notification_preferences$$,
  '42501', null, 'anon: may not read notification preferences (no privilege)'
);
select throws_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000b', 'matrix.insert_anon', true)$$,
  '42501', null, 'anon: cannot create a notification preference (no privilege)'
);
select throws_ok(
  $$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$,
  '42501', null, 'anon: cannot update a user''s notification preference (no privilege)'
);
select throws_ok(
  $$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$,
  '42501', null, 'anon: cannot update another user''s notification preference (no privilege)'
);
select throws_ok(
  $$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$,
  '42501', null, 'anon: cannot delete a user''s notification preference (no privilege)'
);
select throws_ok(
  $$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$,
  '42501', null, 'anon: cannot delete another user''s notification preference (no privilege)'
);
reset role;

-- notification_preferences as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.notification_preferences to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.notification_preferences$$,
  'anon with privileges: still sees no notification preferences'
);
select throws_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000b', 'matrix.insert_anon', true)$$,
  '42501', null, 'anon with privileges: still cannot create a notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'anon with privileges: still updates no notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'anon with privileges: still deletes no notification preference'
);
reset role;

-- notification_preferences as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$,
  $$values ('f0000000-0000-4000-8000-00000000000c'::uuid)$$,
  'viewer: reads only their own notification preferences'
);
select lives_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000c', 'matrix.insert_viewer', true)$$,
  'viewer: can create a notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed')$$),
  1, 'viewer: can update their own notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'viewer: cannot update another user''s notification preference (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed')$$),
  1, 'viewer: can delete their own notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'viewer: cannot delete another user''s notification preference (rls filters it out)'
);
reset role;

-- notification_preferences as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$,
  $$values ('f0000000-0000-4000-8000-00000000000b'::uuid)$$,
  'user: reads only their own notification preferences'
);
select lives_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000b', 'matrix.insert_user', true)$$,
  'user: can create a notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  1, 'user: can update their own notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'user: cannot update another user''s notification preference (rls filters it out)'
);
select throws_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000d', 'matrix.insert_user', true)$$,
  '42501', null, 'user: cannot create a notification preference owned by another user'
);
select throws_ok(
  $$update public.notification_preferences set user_id = 'f0000000-0000-4000-8000-00000000000d' where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$,
  '42501', null, 'user: cannot hand their notification preference over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  1, 'user: can delete their own notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  0, 'user: cannot delete another user''s notification preference (rls filters it out)'
);
reset role;

-- notification_preferences as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select results_eq(
  $$select user_id from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$,
  $$values ('f0000000-0000-4000-8000-00000000000a'::uuid)$$,
  'admin: reads only their own notification preferences'
);
select lives_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000a', 'matrix.insert_admin', true)$$,
  'admin: can create a notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed')$$),
  1, 'admin: can update their own notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  0, 'admin: cannot update a user''s notification preference (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed')$$),
  1, 'admin: can delete their own notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  0, 'admin: cannot delete a user''s notification preference (rls filters it out)'
);
reset role;

-- notification_preferences as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000a' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000c' and event_type = 'campaign.completed') or (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')),
  4, 'service_role: reads every notification preference'
);
select lives_ok(
  $$insert into public.notification_preferences (user_id, event_type, sms) values ('f0000000-0000-4000-8000-00000000000b', 'matrix.insert_service_role', true)$$,
  'service_role: can create a notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  1, 'service_role: can update a user''s notification preference'
);
select is(
  pg_temp.rows_affected($$update public.notification_preferences set sms = true where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  1, 'service_role: can update another user''s notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000b' and event_type = 'campaign.completed')$$),
  1, 'service_role: can delete a user''s notification preference'
);
select is(
  pg_temp.rows_affected($$delete from public.notification_preferences where (user_id = 'f0000000-0000-4000-8000-00000000000d' and event_type = 'campaign.completed')$$),
  1, 'service_role: can delete another user''s notification preference'
);
reset role;

select * from finish();
rollback;
