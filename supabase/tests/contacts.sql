-- contacts, audiences, audience membership, consent records and suppressions: users
-- read, create and update (no delete); admins and service_role everything; viewers and anon
-- nothing.

begin;
select plan(160);

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
  insert into public.contacts (id, email, phone, first_name, time_zone, created_by)
    select 'f0000007-0000-4000-8000-00000000000a', 'fixture.a.f@example.com', '+15550199001', 'Fixture', 'America/New_York', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.contacts where id = 'f0000007-0000-4000-8000-00000000000a');
  insert into public.contacts (id, email, phone, first_name, time_zone, created_by)
    select 'f0000007-0000-4000-8000-00000000000b', 'fixture.b.f@example.com', '+15550199002', 'Fixture', 'America/New_York', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.contacts where id = 'f0000007-0000-4000-8000-00000000000b');
  insert into public.contacts (id, email, phone, first_name, time_zone, created_by)
    select 'f0000007-0000-4000-8000-00000000000c', 'fixture.c.f@example.com', '+15550199003', 'Fixture', 'America/New_York', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.contacts where id = 'f0000007-0000-4000-8000-00000000000c');
  insert into public.contacts (id, email, phone, first_name, time_zone, created_by)
    select 'f0000007-0000-4000-8000-00000000000d', 'fixture.d.f@example.com', '+15550199004', 'Fixture', 'America/New_York', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.contacts where id = 'f0000007-0000-4000-8000-00000000000d');
  insert into public.audiences (id, name, created_by)
    select 'f0000008-0000-4000-8000-00000000000a', 'fixture audience a', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.audiences where id = 'f0000008-0000-4000-8000-00000000000a');
  insert into public.audiences (id, name, created_by)
    select 'f0000008-0000-4000-8000-00000000000b', 'fixture audience b', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.audiences where id = 'f0000008-0000-4000-8000-00000000000b');
  insert into public.audiences (id, name, created_by)
    select 'f0000008-0000-4000-8000-00000000000c', 'fixture audience c', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.audiences where id = 'f0000008-0000-4000-8000-00000000000c');
  insert into public.audiences (id, name, created_by)
    select 'f0000008-0000-4000-8000-00000000000d', 'fixture audience d', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.audiences where id = 'f0000008-0000-4000-8000-00000000000d');
  insert into public.audience_contacts (audience_id, contact_id)
    select 'f0000008-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000a'
    where not exists (select from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a'));
  insert into public.audience_contacts (audience_id, contact_id)
    select 'f0000008-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b'
    where not exists (select from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b'));
  insert into public.contact_consents (id, contact_id, channel, status, source, created_by)
    select 'f000000a-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000a', 'sms', 'granted', 'fixture', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000a');
  insert into public.contact_consents (id, contact_id, channel, status, source, created_by)
    select 'f000000a-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000b', 'sms', 'granted', 'fixture', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000b');
  insert into public.contact_consents (id, contact_id, channel, status, source, created_by)
    select 'f000000a-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000c', 'sms', 'granted', 'fixture', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000c');
  insert into public.contact_consents (id, contact_id, channel, status, source, created_by)
    select 'f000000a-0000-4000-8000-00000000000d', 'f0000007-0000-4000-8000-00000000000d', 'sms', 'granted', 'fixture', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000d');
  insert into public.suppressions (id, channel, address, reason, created_by)
    select 'f000000b-0000-4000-8000-00000000000a', 'email', 'fixture.suppressed.a.f@example.com', 'manual', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000a');
  insert into public.suppressions (id, channel, address, reason, created_by)
    select 'f000000b-0000-4000-8000-00000000000b', 'email', 'fixture.suppressed.b.f@example.com', 'manual', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000b');
  insert into public.suppressions (id, channel, address, reason, created_by)
    select 'f000000b-0000-4000-8000-00000000000c', 'email', 'fixture.suppressed.c.f@example.com', 'manual', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000c');
  insert into public.suppressions (id, channel, address, reason, created_by)
    select 'f000000b-0000-4000-8000-00000000000d', 'email', 'fixture.suppressed.d.f@example.com', 'manual', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000d');
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
-- contacts
-- ============================================================================

-- contacts as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.contacts$$,
  '42501', null, 'anon: may not read contacts (no privilege)'
);
select throws_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.anon@example.com', 'Matrix')$$,
  '42501', null, 'anon: cannot create a contact (no privilege)'
);
select throws_ok(
  $$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s contact (no privilege)'
);
select throws_ok(
  $$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s contact (no privilege)'
);
select throws_ok(
  $$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s contact (no privilege)'
);
select throws_ok(
  $$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s contact (no privilege)'
);
reset role;

-- contacts as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.contacts to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.contacts$$,
  'anon with privileges: still sees no contacts'
);
select throws_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.anon@example.com', 'Matrix')$$,
  '42501', null, 'anon with privileges: still cannot create a contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no contact'
);
reset role;

-- contacts as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.contacts where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')$$,
  'viewer: sees no contacts'
);
select throws_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.viewer@example.com', 'Matrix')$$,
  '42501', null, 'viewer: cannot create a contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own contact (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s contact (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own contact (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s contact (rls filters it out)'
);
reset role;

-- contacts as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.contacts where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')),
  4, 'user: reads every contact'
);
select lives_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.user@example.com', 'Matrix')$$,
  'user: can create a contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  1, 'user: can update another user''s contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot delete their own contact (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s contact (rls filters it out)'
);
reset role;

-- contacts as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.contacts where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')),
  4, 'admin: reads every contact'
);
select lives_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.admin@example.com', 'Matrix')$$,
  'admin: can create a contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s contact'
);
reset role;

-- contacts as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.contacts where id in ('f0000007-0000-4000-8000-00000000000a', 'f0000007-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c', 'f0000007-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every contact'
);
select lives_ok(
  $$insert into public.contacts (email, first_name) values ('matrix.insert.service_role@example.com', 'Matrix')$$,
  'service_role: can create a contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s contact'
);
select is(
  pg_temp.rows_affected($$update public.contacts set first_name = 'Updated' where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s contact'
);
select is(
  pg_temp.rows_affected($$delete from public.contacts where id = 'f0000007-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s contact'
);
reset role;

-- ============================================================================
-- audiences
-- ============================================================================

-- audiences as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.audiences$$,
  '42501', null, 'anon: may not read audiences (no privilege)'
);
select throws_ok(
  $$insert into public.audiences (name) values ('matrix insert anon')$$,
  '42501', null, 'anon: cannot create an audience (no privilege)'
);
select throws_ok(
  $$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s audience (no privilege)'
);
select throws_ok(
  $$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s audience (no privilege)'
);
select throws_ok(
  $$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s audience (no privilege)'
);
select throws_ok(
  $$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s audience (no privilege)'
);
reset role;

-- audiences as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.audiences to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.audiences$$,
  'anon with privileges: still sees no audiences'
);
select throws_ok(
  $$insert into public.audiences (name) values ('matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create an audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no audience'
);
reset role;

-- audiences as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.audiences where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')$$,
  'viewer: sees no audiences'
);
select throws_ok(
  $$insert into public.audiences (name) values ('matrix insert viewer')$$,
  '42501', null, 'viewer: cannot create an audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own audience (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s audience (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own audience (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s audience (rls filters it out)'
);
reset role;

-- audiences as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.audiences where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')),
  4, 'user: reads every audience'
);
select lives_ok(
  $$insert into public.audiences (name) values ('matrix insert user')$$,
  'user: can create an audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  1, 'user: can update another user''s audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot delete their own audience (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s audience (rls filters it out)'
);
reset role;

-- audiences as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.audiences where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')),
  4, 'admin: reads every audience'
);
select lives_ok(
  $$insert into public.audiences (name) values ('matrix insert admin')$$,
  'admin: can create an audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s audience'
);
reset role;

-- audiences as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.audiences where id in ('f0000008-0000-4000-8000-00000000000a', 'f0000008-0000-4000-8000-00000000000b', 'f0000008-0000-4000-8000-00000000000c', 'f0000008-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every audience'
);
select lives_ok(
  $$insert into public.audiences (name) values ('matrix insert service_role')$$,
  'service_role: can create an audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s audience'
);
select is(
  pg_temp.rows_affected($$update public.audiences set description = 'matrix update' where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s audience'
);
select is(
  pg_temp.rows_affected($$delete from public.audiences where id = 'f0000008-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s audience'
);
reset role;

-- ============================================================================
-- audience_contacts
-- ============================================================================

-- audience_contacts as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select audience_id from public.audience_contacts$$,
  '42501', null, 'anon: may not read audience memberships (no privilege)'
);
select throws_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c')$$,
  '42501', null, 'anon: cannot create an audience membership (no privilege)'
);
select throws_ok(
  $$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a')$$,
  '42501', null, 'anon: cannot update an audience membership (no privilege)'
);
select throws_ok(
  $$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$,
  '42501', null, 'anon: cannot delete an audience membership (no privilege)'
);
reset role;

-- audience_contacts as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.audience_contacts to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.audience_contacts$$,
  'anon with privileges: still sees no audience memberships'
);
select throws_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c')$$,
  '42501', null, 'anon with privileges: still cannot create an audience membership'
);
select is(
  pg_temp.rows_affected($$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  0, 'anon with privileges: still updates no audience membership'
);
select is(
  pg_temp.rows_affected($$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  0, 'anon with privileges: still deletes no audience membership'
);
reset role;

-- audience_contacts as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select audience_id from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$,
  'viewer: sees no audience memberships'
);
select throws_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c')$$,
  '42501', null, 'viewer: cannot create an audience membership'
);
select is(
  pg_temp.rows_affected($$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a')$$),
  0, 'viewer: cannot update an audience membership (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  0, 'viewer: cannot delete an audience membership (rls filters it out)'
);
reset role;

-- audience_contacts as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')),
  2, 'user: reads every audience membership'
);
select lives_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000b')$$,
  'user: can create an audience membership'
);
select is(
  pg_temp.rows_affected($$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a')$$),
  1, 'user: can update an audience membership'
);
select is(
  pg_temp.rows_affected($$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  0, 'user: cannot delete an audience membership (rls filters it out)'
);
reset role;

-- audience_contacts as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')),
  2, 'admin: reads every audience membership'
);
select lives_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000c')$$,
  'admin: can create an audience membership'
);
select is(
  pg_temp.rows_affected($$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a')$$),
  1, 'admin: can update an audience membership'
);
select is(
  pg_temp.rows_affected($$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  1, 'admin: can delete an audience membership'
);
reset role;

-- audience_contacts as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a') or (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')),
  2, 'service_role: reads every audience membership'
);
select lives_ok(
  $$insert into public.audience_contacts (audience_id, contact_id) values ('f0000008-0000-4000-8000-00000000000b', 'f0000007-0000-4000-8000-00000000000d')$$,
  'service_role: can create an audience membership'
);
select is(
  pg_temp.rows_affected($$update public.audience_contacts set added_at = '2024-01-01T00:00:00Z' where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000a')$$),
  1, 'service_role: can update an audience membership'
);
select is(
  pg_temp.rows_affected($$delete from public.audience_contacts where (audience_id = 'f0000008-0000-4000-8000-00000000000a' and contact_id = 'f0000007-0000-4000-8000-00000000000b')$$),
  1, 'service_role: can delete an audience membership'
);
reset role;

-- ============================================================================
-- contact_consents
-- ============================================================================

-- contact_consents as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.contact_consents$$,
  '42501', null, 'anon: may not read consent records (no privilege)'
);
select throws_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix anon')$$,
  '42501', null, 'anon: cannot create a consent record (no privilege)'
);
select throws_ok(
  $$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s consent record (no privilege)'
);
select throws_ok(
  $$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s consent record (no privilege)'
);
select throws_ok(
  $$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s consent record (no privilege)'
);
select throws_ok(
  $$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s consent record (no privilege)'
);
reset role;

-- contact_consents as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.contact_consents to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.contact_consents$$,
  'anon with privileges: still sees no consent records'
);
select throws_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix anon')$$,
  '42501', null, 'anon with privileges: still cannot create a consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no consent record'
);
reset role;

-- contact_consents as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.contact_consents where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')$$,
  'viewer: sees no consent records'
);
select throws_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix viewer')$$,
  '42501', null, 'viewer: cannot create a consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own consent record (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s consent record (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own consent record (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s consent record (rls filters it out)'
);
reset role;

-- contact_consents as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.contact_consents where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')),
  4, 'user: reads every consent record'
);
select lives_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix user')$$,
  'user: can create a consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  1, 'user: can update another user''s consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot delete their own consent record (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s consent record (rls filters it out)'
);
reset role;

-- contact_consents as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.contact_consents where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')),
  4, 'admin: reads every consent record'
);
select lives_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix admin')$$,
  'admin: can create a consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s consent record'
);
reset role;

-- contact_consents as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.contact_consents where id in ('f000000a-0000-4000-8000-00000000000a', 'f000000a-0000-4000-8000-00000000000b', 'f000000a-0000-4000-8000-00000000000c', 'f000000a-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every consent record'
);
select lives_ok(
  $$insert into public.contact_consents (contact_id, channel, status, source) values ('f0000007-0000-4000-8000-00000000000b', 'email', 'granted', 'matrix service_role')$$,
  'service_role: can create a consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s consent record'
);
select is(
  pg_temp.rows_affected($$update public.contact_consents set evidence = '{"note": "matrix update"}' where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s consent record'
);
select is(
  pg_temp.rows_affected($$delete from public.contact_consents where id = 'f000000a-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s consent record'
);
reset role;

-- ============================================================================
-- suppressions
-- ============================================================================

-- suppressions as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.suppressions$$,
  '42501', null, 'anon: may not read suppressions (no privilege)'
);
select throws_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.anon@example.com', 'manual')$$,
  '42501', null, 'anon: cannot create a suppression (no privilege)'
);
select throws_ok(
  $$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s suppression (no privilege)'
);
select throws_ok(
  $$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s suppression (no privilege)'
);
select throws_ok(
  $$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s suppression (no privilege)'
);
select throws_ok(
  $$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s suppression (no privilege)'
);
reset role;

-- suppressions as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.suppressions to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.suppressions$$,
  'anon with privileges: still sees no suppressions'
);
select throws_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.anon@example.com', 'manual')$$,
  '42501', null, 'anon with privileges: still cannot create a suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no suppression'
);
reset role;

-- suppressions as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.suppressions where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')$$,
  'viewer: sees no suppressions'
);
select throws_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.viewer@example.com', 'manual')$$,
  '42501', null, 'viewer: cannot create a suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own suppression (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s suppression (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own suppression (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s suppression (rls filters it out)'
);
reset role;

-- suppressions as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.suppressions where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')),
  4, 'user: reads every suppression'
);
select lives_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.user@example.com', 'manual')$$,
  'user: can create a suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  1, 'user: can update another user''s suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot delete their own suppression (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s suppression (rls filters it out)'
);
reset role;

-- suppressions as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.suppressions where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')),
  4, 'admin: reads every suppression'
);
select lives_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.admin@example.com', 'manual')$$,
  'admin: can create a suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s suppression'
);
reset role;

-- suppressions as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.suppressions where id in ('f000000b-0000-4000-8000-00000000000a', 'f000000b-0000-4000-8000-00000000000b', 'f000000b-0000-4000-8000-00000000000c', 'f000000b-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every suppression'
);
select lives_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'matrix.insert.service_role@example.com', 'manual')$$,
  'service_role: can create a suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s suppression'
);
select is(
  pg_temp.rows_affected($$update public.suppressions set source = 'matrix update' where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s suppression'
);
select is(
  pg_temp.rows_affected($$delete from public.suppressions where id = 'f000000b-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s suppression'
);
reset role;

select * from finish();
rollback;
