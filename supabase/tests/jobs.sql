-- jobs and cron schedules: members read job status and schedules; admins manage
-- schedules; only service_role writes jobs; anon nothing.

begin;
select plan(68);

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
  insert into public.jobs (kind, dedupe_key, payload, created_by)
    select 'fixture.job', 'fixture.job_fa', '{"owner": "a"}', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.jobs where dedupe_key = 'fixture.job_fa');
  insert into public.jobs (kind, dedupe_key, payload, created_by)
    select 'fixture.job', 'fixture.job_fb', '{"owner": "b"}', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.jobs where dedupe_key = 'fixture.job_fb');
  insert into public.jobs (kind, dedupe_key, payload, created_by)
    select 'fixture.job', 'fixture.job_fc', '{"owner": "c"}', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.jobs where dedupe_key = 'fixture.job_fc');
  insert into public.jobs (kind, dedupe_key, payload, created_by)
    select 'fixture.job', 'fixture.job_fd', '{"owner": "d"}', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.jobs where dedupe_key = 'fixture.job_fd');
  insert into public.cron_schedules (name, cron, time_zone, job_kind, created_by)
    select 'fixture.schedule_fa', '0 4 * * *', 'UTC', 'maintenance.noop', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.cron_schedules where name = 'fixture.schedule_fa');
  insert into public.cron_schedules (name, cron, time_zone, job_kind, created_by)
    select 'fixture.schedule_fb', '0 4 * * *', 'UTC', 'maintenance.noop', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.cron_schedules where name = 'fixture.schedule_fb');
  insert into public.cron_schedules (name, cron, time_zone, job_kind, created_by)
    select 'fixture.schedule_fc', '0 4 * * *', 'UTC', 'maintenance.noop', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.cron_schedules where name = 'fixture.schedule_fc');
  insert into public.cron_schedules (name, cron, time_zone, job_kind, created_by)
    select 'fixture.schedule_fd', '0 4 * * *', 'UTC', 'maintenance.noop', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.cron_schedules where name = 'fixture.schedule_fd');
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
-- jobs
-- ============================================================================

-- jobs as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select dedupe_key from public.jobs$$,
  '42501', null, 'anon: may not read jobs (no privilege)'
);
select throws_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "anon"}')$$,
  '42501', null, 'anon: cannot create a job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'anon: cannot update a user''s job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'anon: cannot update another user''s job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'anon: cannot delete a user''s job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'anon: cannot delete another user''s job (no privilege)'
);
reset role;

-- jobs as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.jobs to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.jobs$$,
  'anon with privileges: still sees no jobs'
);
select throws_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "anon"}')$$,
  '42501', null, 'anon with privileges: still cannot create a job'
);
select is(
  pg_temp.rows_affected($$update public.jobs set priority = 5 where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')$$),
  0, 'anon with privileges: still updates no job'
);
select is(
  pg_temp.rows_affected($$delete from public.jobs where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')$$),
  0, 'anon with privileges: still deletes no job'
);
reset role;

-- jobs as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.jobs where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')),
  4, 'viewer: reads every job'
);
select throws_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "viewer"}')$$,
  '42501', null, 'viewer: cannot create a job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fc'$$,
  '42501', null, 'viewer: cannot update their own job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'viewer: cannot update another user''s job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fc'$$,
  '42501', null, 'viewer: cannot delete their own job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'viewer: cannot delete another user''s job (no privilege)'
);
reset role;

-- jobs as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.jobs where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')),
  4, 'user: reads every job'
);
select throws_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "user"}')$$,
  '42501', null, 'user: cannot create a job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'user: cannot update their own job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'user: cannot update another user''s job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'user: cannot delete their own job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fd'$$,
  '42501', null, 'user: cannot delete another user''s job (no privilege)'
);
reset role;

-- jobs as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.jobs where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')),
  4, 'admin: reads every job'
);
select throws_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "admin"}')$$,
  '42501', null, 'admin: cannot create a job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fa'$$,
  '42501', null, 'admin: cannot update their own job (no privilege)'
);
select throws_ok(
  $$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'admin: cannot update a user''s job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fa'$$,
  '42501', null, 'admin: cannot delete their own job (no privilege)'
);
select throws_ok(
  $$delete from public.jobs where dedupe_key = 'fixture.job_fb'$$,
  '42501', null, 'admin: cannot delete a user''s job (no privilege)'
);
reset role;

-- jobs as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.jobs where dedupe_key in ('fixture.job_fa', 'fixture.job_fb', 'fixture.job_fc', 'fixture.job_fd')),
  4, 'service_role: reads every job'
);
select lives_ok(
  $$insert into public.jobs (kind, payload) values ('matrix.insert', '{"actor": "service_role"}')$$,
  'service_role: can create a job'
);
select is(
  pg_temp.rows_affected($$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fb'$$),
  1, 'service_role: can update a user''s job'
);
select is(
  pg_temp.rows_affected($$update public.jobs set priority = 5 where dedupe_key = 'fixture.job_fd'$$),
  1, 'service_role: can update another user''s job'
);
select is(
  pg_temp.rows_affected($$delete from public.jobs where dedupe_key = 'fixture.job_fb'$$),
  1, 'service_role: can delete a user''s job'
);
select is(
  pg_temp.rows_affected($$delete from public.jobs where dedupe_key = 'fixture.job_fd'$$),
  1, 'service_role: can delete another user''s job'
);
reset role;

-- ============================================================================
-- cron_schedules
-- ============================================================================

-- cron_schedules as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select name from public.cron_schedules$$,
  '42501', null, 'anon: may not read cron schedules (no privilege)'
);
select throws_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_anon', '0 * * * *', 'matrix.noop')$$,
  '42501', null, 'anon: cannot create a cron schedule (no privilege)'
);
select throws_ok(
  $$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fb'$$,
  '42501', null, 'anon: cannot update a user''s cron schedule (no privilege)'
);
select throws_ok(
  $$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fd'$$,
  '42501', null, 'anon: cannot update another user''s cron schedule (no privilege)'
);
select throws_ok(
  $$delete from public.cron_schedules where name = 'fixture.schedule_fb'$$,
  '42501', null, 'anon: cannot delete a user''s cron schedule (no privilege)'
);
select throws_ok(
  $$delete from public.cron_schedules where name = 'fixture.schedule_fd'$$,
  '42501', null, 'anon: cannot delete another user''s cron schedule (no privilege)'
);
reset role;

-- cron_schedules as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.cron_schedules to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.cron_schedules$$,
  'anon with privileges: still sees no cron schedules'
);
select throws_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_anon', '0 * * * *', 'matrix.noop')$$,
  '42501', null, 'anon with privileges: still cannot create a cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')$$),
  0, 'anon with privileges: still updates no cron schedule'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')$$),
  0, 'anon with privileges: still deletes no cron schedule'
);
reset role;

-- cron_schedules as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.cron_schedules where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')),
  4, 'viewer: reads every cron schedule'
);
select throws_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_viewer', '0 * * * *', 'matrix.noop')$$,
  '42501', null, 'viewer: cannot create a cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fc'$$),
  0, 'viewer: cannot update their own cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fd'$$),
  0, 'viewer: cannot update another user''s cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fc'$$),
  0, 'viewer: cannot delete their own cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fd'$$),
  0, 'viewer: cannot delete another user''s cron schedule (rls filters it out)'
);
reset role;

-- cron_schedules as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.cron_schedules where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')),
  4, 'user: reads every cron schedule'
);
select throws_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_user', '0 * * * *', 'matrix.noop')$$,
  '42501', null, 'user: cannot create a cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fb'$$),
  0, 'user: cannot update their own cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fd'$$),
  0, 'user: cannot update another user''s cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fb'$$),
  0, 'user: cannot delete their own cron schedule (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fd'$$),
  0, 'user: cannot delete another user''s cron schedule (rls filters it out)'
);
reset role;

-- cron_schedules as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.cron_schedules where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')),
  4, 'admin: reads every cron schedule'
);
select lives_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_admin', '0 * * * *', 'matrix.noop')$$,
  'admin: can create a cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fa'$$),
  1, 'admin: can update their own cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fb'$$),
  1, 'admin: can update a user''s cron schedule'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fa'$$),
  1, 'admin: can delete their own cron schedule'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fb'$$),
  1, 'admin: can delete a user''s cron schedule'
);
reset role;

-- cron_schedules as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.cron_schedules where name in ('fixture.schedule_fa', 'fixture.schedule_fb', 'fixture.schedule_fc', 'fixture.schedule_fd')),
  4, 'service_role: reads every cron schedule'
);
select lives_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('matrix.insert_service_role', '0 * * * *', 'matrix.noop')$$,
  'service_role: can create a cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fb'$$),
  1, 'service_role: can update a user''s cron schedule'
);
select is(
  pg_temp.rows_affected($$update public.cron_schedules set enabled = false where name = 'fixture.schedule_fd'$$),
  1, 'service_role: can update another user''s cron schedule'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fb'$$),
  1, 'service_role: can delete a user''s cron schedule'
);
select is(
  pg_temp.rows_affected($$delete from public.cron_schedules where name = 'fixture.schedule_fd'$$),
  1, 'service_role: can delete another user''s cron schedule'
);
reset role;

select * from finish();
rollback;
