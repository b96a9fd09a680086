-- audit log: admins read; service_role reads and inserts; nobody updates or deletes,
-- not even service_role.

begin;
select plan(24);

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
  insert into public.audit_logs (action, kind, table_name, details)
    select 'fixture.event_f1', 'data', 'campaigns', '{"fixture": 1}'
    where not exists (select from public.audit_logs where action = 'fixture.event_f1');
  insert into public.audit_logs (action, kind, table_name, details)
    select 'fixture.event_f2', 'data', 'campaigns', '{"fixture": 2}'
    where not exists (select from public.audit_logs where action = 'fixture.event_f2');
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
-- audit_logs
-- ============================================================================

-- audit_logs as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select action from public.audit_logs$$,
  '42501', null, 'anon: may not read audit log entries (no privilege)'
);
select throws_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_anon', 'security')$$,
  '42501', null, 'anon: cannot create an audit log entry (no privilege)'
);
select throws_ok(
  $$update public.audit_logs set details = '{"note": "matrix update"}' where action = 'fixture.event_f1'$$,
  '42501', null, 'anon: cannot update an audit log entry (no privilege)'
);
select throws_ok(
  $$delete from public.audit_logs where action = 'fixture.event_f2'$$,
  '42501', null, 'anon: cannot delete an audit log entry (no privilege)'
);
reset role;

-- audit_logs as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.audit_logs to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.audit_logs$$,
  'anon with privileges: still sees no audit log entries'
);
select throws_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_anon', 'security')$$,
  '42501', null, 'anon with privileges: still cannot create an audit log entry'
);
select is(
  pg_temp.rows_affected($$update public.audit_logs set details = '{"note": "matrix update"}' where action in ('fixture.event_f1', 'fixture.event_f2')$$),
  0, 'anon with privileges: still updates no audit log entry'
);
select is(
  pg_temp.rows_affected($$delete from public.audit_logs where action in ('fixture.event_f1', 'fixture.event_f2')$$),
  0, 'anon with privileges: still deletes no audit log entry'
);
reset role;

-- audit_logs as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select action from public.audit_logs where action in ('fixture.event_f1', 'fixture.event_f2')$$,
  'viewer: sees no audit log entries'
);
select throws_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_viewer', 'security')$$,
  '42501', null, 'viewer: cannot create an audit log entry (no privilege)'
);
select throws_ok(
  $$update public.audit_logs set details = '{"note": "matrix update"}' where action = 'fixture.event_f1'$$,
  '42501', null, 'viewer: cannot update an audit log entry (no privilege)'
);
select throws_ok(
  $$delete from public.audit_logs where action = 'fixture.event_f2'$$,
  '42501', null, 'viewer: cannot delete an audit log entry (no privilege)'
);
reset role;

-- audit_logs as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is_empty(
  $$select action from public.audit_logs where action in ('fixture.event_f1', 'fixture.event_f2')$$,
  'user: sees no audit log entries'
);
select throws_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_user', 'security')$$,
  '42501', null, 'user: cannot create an audit log entry (no privilege)'
);
select throws_ok(
  $$update public.audit_logs set details = '{"note": "matrix update"}' where action = 'fixture.event_f1'$$,
  '42501', null, 'user: cannot update an audit log entry (no privilege)'
);
select throws_ok(
  $$delete from public.audit_logs where action = 'fixture.event_f2'$$,
  '42501', null, 'user: cannot delete an audit log entry (no privilege)'
);
reset role;

-- audit_logs as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.audit_logs where action in ('fixture.event_f1', 'fixture.event_f2')),
  2, 'admin: reads every audit log entry'
);
select throws_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_admin', 'security')$$,
  '42501', null, 'admin: cannot create an audit log entry (no privilege)'
);
select throws_ok(
  $$update public.audit_logs set details = '{"note": "matrix update"}' where action = 'fixture.event_f1'$$,
  '42501', null, 'admin: cannot update an audit log entry (no privilege)'
);
select throws_ok(
  $$delete from public.audit_logs where action = 'fixture.event_f2'$$,
  '42501', null, 'admin: cannot delete an audit log entry (no privilege)'
);
reset role;

-- audit_logs as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.audit_logs where action in ('fixture.event_f1', 'fixture.event_f2')),
  2, 'service_role: reads every audit log entry'
);
select lives_ok(
  $$insert into public.audit_logs (action, kind) values ('matrix.insert_service_role', 'security')$$,
  'service_role: can create an audit log entry'
);
select throws_ok(
  $$update public.audit_logs set details = '{"note": "matrix update"}' where action = 'fixture.event_f1'$$,
  '42501', null, 'service_role: cannot update an audit log entry (no privilege)'
);
select throws_ok(
  $$delete from public.audit_logs where action = 'fixture.event_f2'$$,
  '42501', null, 'service_role: cannot delete an audit log entry (no privilege)'
);
reset role;

select * from finish();
rollback;
