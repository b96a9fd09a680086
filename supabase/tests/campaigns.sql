-- campaigns: viewers read; users read all and write their own; admins and service_role
-- everything; anon nothing.

begin;
select plan(36);

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
  insert into public.campaigns (id, name, channel, created_by)
    select 'f000000d-0000-4000-8000-00000000000a', 'fixture campaign a', 'sms', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000a');
  insert into public.campaigns (id, name, channel, created_by)
    select 'f000000d-0000-4000-8000-00000000000b', 'fixture campaign b', 'sms', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000b');
  insert into public.campaigns (id, name, channel, created_by)
    select 'f000000d-0000-4000-8000-00000000000c', 'fixture campaign c', 'sms', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000c');
  insert into public.campaigns (id, name, channel, created_by)
    select 'f000000d-0000-4000-8000-00000000000d', 'fixture campaign d', 'sms', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000d');
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
-- campaigns
-- ============================================================================

-- campaigns as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.campaigns$$,
  '42501', null, 'anon: may not read campaigns (no privilege)'
);
select throws_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert anon', 'sms')$$,
  '42501', null, 'anon: cannot create a campaign (no privilege)'
);
select throws_ok(
  $$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s campaign (no privilege)'
);
select throws_ok(
  $$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s campaign (no privilege)'
);
select throws_ok(
  $$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s campaign (no privilege)'
);
select throws_ok(
  $$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s campaign (no privilege)'
);
reset role;

-- campaigns as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.campaigns to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.campaigns$$,
  'anon with privileges: still sees no campaigns'
);
select throws_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert anon', 'sms')$$,
  '42501', null, 'anon with privileges: still cannot create a campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no campaign'
);
reset role;

-- campaigns as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.campaigns where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every campaign'
);
select throws_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert viewer', 'sms')$$,
  '42501', null, 'viewer: cannot create a campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own campaign (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s campaign (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own campaign (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s campaign (rls filters it out)'
);
reset role;

-- campaigns as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.campaigns where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')),
  4, 'user: reads every campaign'
);
select lives_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert user', 'sms')$$,
  'user: can create a campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s campaign (rls filters it out)'
);
select throws_ok(
  $$insert into public.campaigns (name, channel, created_by) values ('matrix insert user', 'sms', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create a campaign owned by another user'
);
select throws_ok(
  $$update public.campaigns set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f000000d-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their campaign over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s campaign (rls filters it out)'
);
reset role;

-- campaigns as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.campaigns where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')),
  4, 'admin: reads every campaign'
);
select lives_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert admin', 'sms')$$,
  'admin: can create a campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s campaign'
);
reset role;

-- campaigns as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.campaigns where id in ('f000000d-0000-4000-8000-00000000000a', 'f000000d-0000-4000-8000-00000000000b', 'f000000d-0000-4000-8000-00000000000c', 'f000000d-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every campaign'
);
select lives_ok(
  $$insert into public.campaigns (name, channel) values ('matrix insert service_role', 'sms')$$,
  'service_role: can create a campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s campaign'
);
select is(
  pg_temp.rows_affected($$update public.campaigns set name = 'matrix update' where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s campaign'
);
select is(
  pg_temp.rows_affected($$delete from public.campaigns where id = 'f000000d-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s campaign'
);
reset role;

select * from finish();
rollback;
