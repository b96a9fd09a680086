-- imported data, analytics data and sync logs: members read; admins may also delete
-- imported and analytics rows; only service_role writes otherwise; anon nothing.

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
  insert into public.data_sources (id, name, kind, created_by)
    select 'f0000011-0000-4000-8000-00000000000a', 'fixture source a', 'csv', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000a');
  insert into public.data_sources (id, name, kind, created_by)
    select 'f0000011-0000-4000-8000-00000000000b', 'fixture source b', 'csv', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000b');
  insert into public.data_sources (id, name, kind, created_by)
    select 'f0000011-0000-4000-8000-00000000000c', 'fixture source c', 'csv', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000c');
  insert into public.data_sources (id, name, kind, created_by)
    select 'f0000011-0000-4000-8000-00000000000d', 'fixture source d', 'csv', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000d');
  insert into public.imported_data (data_source_id, stream, natural_key, record_date, metrics)
    select 'f0000011-0000-4000-8000-00000000000a', 'fixture', 'fixture-f1', '2024-01-01', '{"rows": 1}'
    where not exists (select from public.imported_data where natural_key = 'fixture-f1');
  insert into public.imported_data (data_source_id, stream, natural_key, record_date, metrics)
    select 'f0000011-0000-4000-8000-00000000000a', 'fixture', 'fixture-f2', '2024-01-02', '{"rows": 2}'
    where not exists (select from public.imported_data where natural_key = 'fixture-f2');
  insert into public.analytics_data (source, metric_date, natural_key, sessions)
    select 'fixture', '2024-01-01', 'fixture-f1', 10
    where not exists (select from public.analytics_data where natural_key = 'fixture-f1');
  insert into public.analytics_data (source, metric_date, natural_key, sessions)
    select 'fixture', '2024-01-02', 'fixture-f2', 20
    where not exists (select from public.analytics_data where natural_key = 'fixture-f2');
  insert into public.sync_logs (id, data_source_id, status, rows_read)
    select 'f0000015-0000-4000-8000-000000000001', 'f0000011-0000-4000-8000-00000000000a', 'succeeded', 3
    where not exists (select from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000001');
  insert into public.sync_logs (id, data_source_id, status, rows_read)
    select 'f0000015-0000-4000-8000-000000000002', 'f0000011-0000-4000-8000-00000000000a', 'succeeded', 3
    where not exists (select from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002');
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
-- imported_data
-- ============================================================================

-- imported_data as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select natural_key from public.imported_data$$,
  '42501', null, 'anon: may not read imported records (no privilege)'
);
select throws_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-anon', '{"n": 1}')$$,
  '42501', null, 'anon: cannot create an imported record (no privilege)'
);
select throws_ok(
  $$update public.imported_data set metrics = '{"n": 2}' where natural_key = 'fixture-f1'$$,
  '42501', null, 'anon: cannot update an imported record (no privilege)'
);
select throws_ok(
  $$delete from public.imported_data where natural_key = 'fixture-f2'$$,
  '42501', null, 'anon: cannot delete an imported record (no privilege)'
);
reset role;

-- imported_data as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.imported_data to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.imported_data$$,
  'anon with privileges: still sees no imported records'
);
select throws_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-anon', '{"n": 1}')$$,
  '42501', null, 'anon with privileges: still cannot create an imported record'
);
select is(
  pg_temp.rows_affected($$update public.imported_data set metrics = '{"n": 2}' where natural_key in ('fixture-f1', 'fixture-f2')$$),
  0, 'anon with privileges: still updates no imported record'
);
select is(
  pg_temp.rows_affected($$delete from public.imported_data where natural_key in ('fixture-f1', 'fixture-f2')$$),
  0, 'anon with privileges: still deletes no imported record'
);
reset role;

-- imported_data as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.imported_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'viewer: reads every imported record'
);
select throws_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-viewer', '{"n": 1}')$$,
  '42501', null, 'viewer: cannot create an imported record (no privilege)'
);
select throws_ok(
  $$update public.imported_data set metrics = '{"n": 2}' where natural_key = 'fixture-f1'$$,
  '42501', null, 'viewer: cannot update an imported record (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.imported_data where natural_key = 'fixture-f2'$$),
  0, 'viewer: cannot delete an imported record (rls filters it out)'
);
reset role;

-- imported_data as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.imported_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'user: reads every imported record'
);
select throws_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-user', '{"n": 1}')$$,
  '42501', null, 'user: cannot create an imported record (no privilege)'
);
select throws_ok(
  $$update public.imported_data set metrics = '{"n": 2}' where natural_key = 'fixture-f1'$$,
  '42501', null, 'user: cannot update an imported record (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.imported_data where natural_key = 'fixture-f2'$$),
  0, 'user: cannot delete an imported record (rls filters it out)'
);
reset role;

-- imported_data as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.imported_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'admin: reads every imported record'
);
select throws_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-admin', '{"n": 1}')$$,
  '42501', null, 'admin: cannot create an imported record (no privilege)'
);
select throws_ok(
  $$update public.imported_data set metrics = '{"n": 2}' where natural_key = 'fixture-f1'$$,
  '42501', null, 'admin: cannot update an imported record (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.imported_data where natural_key = 'fixture-f2'$$),
  1, 'admin: can delete an imported record'
);
reset role;

-- imported_data as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.imported_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'service_role: reads every imported record'
);
select lives_ok(
  $$insert into public.imported_data (data_source_id, stream, natural_key, metrics) values ('f0000011-0000-4000-8000-00000000000b', 'matrix', 'matrix-insert-service_role', '{"n": 1}')$$,
  'service_role: can create an imported record'
);
select is(
  pg_temp.rows_affected($$update public.imported_data set metrics = '{"n": 2}' where natural_key = 'fixture-f1'$$),
  1, 'service_role: can update an imported record'
);
select is(
  pg_temp.rows_affected($$delete from public.imported_data where natural_key = 'fixture-f2'$$),
  1, 'service_role: can delete an imported record'
);
reset role;

-- ============================================================================
-- analytics_data
-- ============================================================================

-- analytics_data as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select natural_key from public.analytics_data$$,
  '42501', null, 'anon: may not read analytics rows (no privilege)'
);
select throws_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-anon', 1)$$,
  '42501', null, 'anon: cannot create an analytics row (no privilege)'
);
select throws_ok(
  $$update public.analytics_data set sessions = 2 where natural_key = 'fixture-f1'$$,
  '42501', null, 'anon: cannot update an analytics row (no privilege)'
);
select throws_ok(
  $$delete from public.analytics_data where natural_key = 'fixture-f2'$$,
  '42501', null, 'anon: cannot delete an analytics row (no privilege)'
);
reset role;

-- analytics_data as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.analytics_data to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.analytics_data$$,
  'anon with privileges: still sees no analytics rows'
);
select throws_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-anon', 1)$$,
  '42501', null, 'anon with privileges: still cannot create an analytics row'
);
select is(
  pg_temp.rows_affected($$update public.analytics_data set sessions = 2 where natural_key in ('fixture-f1', 'fixture-f2')$$),
  0, 'anon with privileges: still updates no analytics row'
);
select is(
  pg_temp.rows_affected($$delete from public.analytics_data where natural_key in ('fixture-f1', 'fixture-f2')$$),
  0, 'anon with privileges: still deletes no analytics row'
);
reset role;

-- analytics_data as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.analytics_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'viewer: reads every analytics row'
);
select throws_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-viewer', 1)$$,
  '42501', null, 'viewer: cannot create an analytics row (no privilege)'
);
select throws_ok(
  $$update public.analytics_data set sessions = 2 where natural_key = 'fixture-f1'$$,
  '42501', null, 'viewer: cannot update an analytics row (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.analytics_data where natural_key = 'fixture-f2'$$),
  0, 'viewer: cannot delete an analytics row (rls filters it out)'
);
reset role;

-- analytics_data as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.analytics_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'user: reads every analytics row'
);
select throws_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-user', 1)$$,
  '42501', null, 'user: cannot create an analytics row (no privilege)'
);
select throws_ok(
  $$update public.analytics_data set sessions = 2 where natural_key = 'fixture-f1'$$,
  '42501', null, 'user: cannot update an analytics row (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.analytics_data where natural_key = 'fixture-f2'$$),
  0, 'user: cannot delete an analytics row (rls filters it out)'
);
reset role;

-- analytics_data as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.analytics_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'admin: reads every analytics row'
);
select throws_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-admin', 1)$$,
  '42501', null, 'admin: cannot create an analytics row (no privilege)'
);
select throws_ok(
  $$update public.analytics_data set sessions = 2 where natural_key = 'fixture-f1'$$,
  '42501', null, 'admin: cannot update an analytics row (no privilege)'
);
select is(
  pg_temp.rows_affected($$delete from public.analytics_data where natural_key = 'fixture-f2'$$),
  1, 'admin: can delete an analytics row'
);
reset role;

-- analytics_data as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.analytics_data where natural_key in ('fixture-f1', 'fixture-f2')),
  2, 'service_role: reads every analytics row'
);
select lives_ok(
  $$insert into public.analytics_data (source, metric_date, natural_key, sessions) values ('matrix', '2024-01-01', 'matrix-insert-service_role', 1)$$,
  'service_role: can create an analytics row'
);
select is(
  pg_temp.rows_affected($$update public.analytics_data set sessions = 2 where natural_key = 'fixture-f1'$$),
  1, 'service_role: can update an analytics row'
);
select is(
  pg_temp.rows_affected($$delete from public.analytics_data where natural_key = 'fixture-f2'$$),
  1, 'service_role: can delete an analytics row'
);
reset role;

-- ============================================================================
-- sync_logs
-- ============================================================================

-- sync_logs as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.sync_logs$$,
  '42501', null, 'anon: may not read sync logs (no privilege)'
);
select throws_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  '42501', null, 'anon: cannot create a sync log (no privilege)'
);
select throws_ok(
  $$update public.sync_logs set rows_read = 10 where id = 'f0000015-0000-4000-8000-000000000001'$$,
  '42501', null, 'anon: cannot update a sync log (no privilege)'
);
select throws_ok(
  $$delete from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002'$$,
  '42501', null, 'anon: cannot delete a sync log (no privilege)'
);
reset role;

-- sync_logs as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.sync_logs to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.sync_logs$$,
  'anon with privileges: still sees no sync logs'
);
select throws_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  '42501', null, 'anon with privileges: still cannot create a sync log'
);
select is(
  pg_temp.rows_affected($$update public.sync_logs set rows_read = 10 where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still updates no sync log'
);
select is(
  pg_temp.rows_affected($$delete from public.sync_logs where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')$$),
  0, 'anon with privileges: still deletes no sync log'
);
reset role;

-- sync_logs as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.sync_logs where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')),
  2, 'viewer: reads every sync log'
);
select throws_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  '42501', null, 'viewer: cannot create a sync log (no privilege)'
);
select throws_ok(
  $$update public.sync_logs set rows_read = 10 where id = 'f0000015-0000-4000-8000-000000000001'$$,
  '42501', null, 'viewer: cannot update a sync log (no privilege)'
);
select throws_ok(
  $$delete from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002'$$,
  '42501', null, 'viewer: cannot delete a sync log (no privilege)'
);
reset role;

-- sync_logs as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.sync_logs where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')),
  2, 'user: reads every sync log'
);
select throws_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  '42501', null, 'user: cannot create a sync log (no privilege)'
);
select throws_ok(
  $$update public.sync_logs set rows_read = 10 where id = 'f0000015-0000-4000-8000-000000000001'$$,
  '42501', null, 'user: cannot update a sync log (no privilege)'
);
select throws_ok(
  $$delete from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002'$$,
  '42501', null, 'user: cannot delete a sync log (no privilege)'
);
reset role;

-- sync_logs as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.sync_logs where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')),
  2, 'admin: reads every sync log'
);
select throws_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  '42501', null, 'admin: cannot create a sync log (no privilege)'
);
select throws_ok(
  $$update public.sync_logs set rows_read = 10 where id = 'f0000015-0000-4000-8000-000000000001'$$,
  '42501', null, 'admin: cannot update a sync log (no privilege)'
);
select throws_ok(
  $$delete from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002'$$,
  '42501', null, 'admin: cannot delete a sync log (no privilege)'
);
reset role;

-- sync_logs as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.sync_logs where id in ('f0000015-0000-4000-8000-000000000001', 'f0000015-0000-4000-8000-000000000002')),
  2, 'service_role: reads every sync log'
);
select lives_ok(
  $$insert into public.sync_logs (data_source_id, status) values ('f0000011-0000-4000-8000-00000000000b', 'succeeded')$$,
  'service_role: can create a sync log'
);
select is(
  pg_temp.rows_affected($$update public.sync_logs set rows_read = 10 where id = 'f0000015-0000-4000-8000-000000000001'$$),
  1, 'service_role: can update a sync log'
);
select is(
  pg_temp.rows_affected($$delete from public.sync_logs where id = 'f0000015-0000-4000-8000-000000000002'$$),
  1, 'service_role: can delete a sync log'
);
reset role;

select * from finish();
rollback;
