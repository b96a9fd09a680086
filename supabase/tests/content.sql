-- templates, reports, dashboards, data sources and import tables: viewers read; users
-- read all and write their own; admins and service_role everything; anon nothing.

begin;
select plan(180);

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
  insert into public.templates (id, name, channel, body, created_by)
    select 'f000000c-0000-4000-8000-00000000000a', 'fixture template a', 'sms', 'Hi {{first_name}}', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.templates where id = 'f000000c-0000-4000-8000-00000000000a');
  insert into public.templates (id, name, channel, body, created_by)
    select 'f000000c-0000-4000-8000-00000000000b', 'fixture template b', 'sms', 'Hi {{first_name}}', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.templates where id = 'f000000c-0000-4000-8000-00000000000b');
  insert into public.templates (id, name, channel, body, created_by)
    select 'f000000c-0000-4000-8000-00000000000c', 'fixture template c', 'sms', 'Hi {{first_name}}', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.templates where id = 'f000000c-0000-4000-8000-00000000000c');
  insert into public.templates (id, name, channel, body, created_by)
    select 'f000000c-0000-4000-8000-00000000000d', 'fixture template d', 'sms', 'Hi {{first_name}}', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.templates where id = 'f000000c-0000-4000-8000-00000000000d');
  insert into public.reports (id, name, created_by)
    select 'f0000016-0000-4000-8000-00000000000a', 'fixture report a', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.reports where id = 'f0000016-0000-4000-8000-00000000000a');
  insert into public.reports (id, name, created_by)
    select 'f0000016-0000-4000-8000-00000000000b', 'fixture report b', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.reports where id = 'f0000016-0000-4000-8000-00000000000b');
  insert into public.reports (id, name, created_by)
    select 'f0000016-0000-4000-8000-00000000000c', 'fixture report c', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.reports where id = 'f0000016-0000-4000-8000-00000000000c');
  insert into public.reports (id, name, created_by)
    select 'f0000016-0000-4000-8000-00000000000d', 'fixture report d', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.reports where id = 'f0000016-0000-4000-8000-00000000000d');
  insert into public.dashboards (id, name, created_by)
    select 'f0000017-0000-4000-8000-00000000000a', 'fixture dashboard a', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000a');
  insert into public.dashboards (id, name, created_by)
    select 'f0000017-0000-4000-8000-00000000000b', 'fixture dashboard b', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000b');
  insert into public.dashboards (id, name, created_by)
    select 'f0000017-0000-4000-8000-00000000000c', 'fixture dashboard c', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000c');
  insert into public.dashboards (id, name, created_by)
    select 'f0000017-0000-4000-8000-00000000000d', 'fixture dashboard d', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000d');
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
  insert into public.import_tables (id, data_source_id, table_name, columns, created_by)
    select 'f0000012-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000a', 'fixture_import_f_a', '[{"name": "value", "type": "text"}]', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000a');
  insert into public.import_tables (id, data_source_id, table_name, columns, created_by)
    select 'f0000012-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000b', 'fixture_import_f_b', '[{"name": "value", "type": "text"}]', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000b');
  insert into public.import_tables (id, data_source_id, table_name, columns, created_by)
    select 'f0000012-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000c', 'fixture_import_f_c', '[{"name": "value", "type": "text"}]', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000c');
  insert into public.import_tables (id, data_source_id, table_name, columns, created_by)
    select 'f0000012-0000-4000-8000-00000000000d', 'f0000011-0000-4000-8000-00000000000d', 'fixture_import_f_d', '[{"name": "value", "type": "text"}]', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000d');
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
-- templates
-- ============================================================================

-- templates as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.templates$$,
  '42501', null, 'anon: may not read templates (no privilege)'
);
select throws_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert anon', 'sms', 'Hello {{first_name}}')$$,
  '42501', null, 'anon: cannot create a template (no privilege)'
);
select throws_ok(
  $$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s template (no privilege)'
);
select throws_ok(
  $$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s template (no privilege)'
);
select throws_ok(
  $$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s template (no privilege)'
);
select throws_ok(
  $$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s template (no privilege)'
);
reset role;

-- templates as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.templates to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.templates$$,
  'anon with privileges: still sees no templates'
);
select throws_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert anon', 'sms', 'Hello {{first_name}}')$$,
  '42501', null, 'anon with privileges: still cannot create a template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no template'
);
reset role;

-- templates as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.templates where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every template'
);
select throws_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert viewer', 'sms', 'Hello {{first_name}}')$$,
  '42501', null, 'viewer: cannot create a template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own template (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s template (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own template (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s template (rls filters it out)'
);
reset role;

-- templates as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.templates where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')),
  4, 'user: reads every template'
);
select lives_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert user', 'sms', 'Hello {{first_name}}')$$,
  'user: can create a template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s template (rls filters it out)'
);
select throws_ok(
  $$insert into public.templates (name, channel, body, created_by) values ('matrix insert user', 'sms', 'Hello {{first_name}}', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create a template owned by another user'
);
select throws_ok(
  $$update public.templates set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f000000c-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their template over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s template (rls filters it out)'
);
reset role;

-- templates as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.templates where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')),
  4, 'admin: reads every template'
);
select lives_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert admin', 'sms', 'Hello {{first_name}}')$$,
  'admin: can create a template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s template'
);
reset role;

-- templates as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.templates where id in ('f000000c-0000-4000-8000-00000000000a', 'f000000c-0000-4000-8000-00000000000b', 'f000000c-0000-4000-8000-00000000000c', 'f000000c-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every template'
);
select lives_ok(
  $$insert into public.templates (name, channel, body) values ('matrix insert service_role', 'sms', 'Hello {{first_name}}')$$,
  'service_role: can create a template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s template'
);
select is(
  pg_temp.rows_affected($$update public.templates set name = 'matrix update' where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s template'
);
select is(
  pg_temp.rows_affected($$delete from public.templates where id = 'f000000c-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s template'
);
reset role;

-- ============================================================================
-- reports
-- ============================================================================

-- reports as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.reports$$,
  '42501', null, 'anon: may not read reports (no privilege)'
);
select throws_ok(
  $$insert into public.reports (name) values ('matrix insert anon')$$,
  '42501', null, 'anon: cannot create a report (no privilege)'
);
select throws_ok(
  $$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s report (no privilege)'
);
select throws_ok(
  $$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s report (no privilege)'
);
select throws_ok(
  $$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s report (no privilege)'
);
select throws_ok(
  $$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s report (no privilege)'
);
reset role;

-- reports as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.reports to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.reports$$,
  'anon with privileges: still sees no reports'
);
select throws_ok(
  $$insert into public.reports (name) values ('matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create a report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no report'
);
reset role;

-- reports as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.reports where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every report'
);
select throws_ok(
  $$insert into public.reports (name) values ('matrix insert viewer')$$,
  '42501', null, 'viewer: cannot create a report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own report (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s report (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own report (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s report (rls filters it out)'
);
reset role;

-- reports as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.reports where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')),
  4, 'user: reads every report'
);
select lives_ok(
  $$insert into public.reports (name) values ('matrix insert user')$$,
  'user: can create a report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s report (rls filters it out)'
);
select throws_ok(
  $$insert into public.reports (name, created_by) values ('matrix insert user', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create a report owned by another user'
);
select throws_ok(
  $$update public.reports set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f0000016-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their report over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s report (rls filters it out)'
);
reset role;

-- reports as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.reports where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')),
  4, 'admin: reads every report'
);
select lives_ok(
  $$insert into public.reports (name) values ('matrix insert admin')$$,
  'admin: can create a report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s report'
);
reset role;

-- reports as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.reports where id in ('f0000016-0000-4000-8000-00000000000a', 'f0000016-0000-4000-8000-00000000000b', 'f0000016-0000-4000-8000-00000000000c', 'f0000016-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every report'
);
select lives_ok(
  $$insert into public.reports (name) values ('matrix insert service_role')$$,
  'service_role: can create a report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s report'
);
select is(
  pg_temp.rows_affected($$update public.reports set name = 'matrix update' where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s report'
);
select is(
  pg_temp.rows_affected($$delete from public.reports where id = 'f0000016-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s report'
);
reset role;

-- ============================================================================
-- dashboards
-- ============================================================================

-- dashboards as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.dashboards$$,
  '42501', null, 'anon: may not read dashboards (no privilege)'
);
select throws_ok(
  $$insert into public.dashboards (name) values ('matrix insert anon')$$,
  '42501', null, 'anon: cannot create a dashboard (no privilege)'
);
select throws_ok(
  $$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s dashboard (no privilege)'
);
select throws_ok(
  $$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s dashboard (no privilege)'
);
select throws_ok(
  $$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s dashboard (no privilege)'
);
select throws_ok(
  $$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s dashboard (no privilege)'
);
reset role;

-- dashboards as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.dashboards to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.dashboards$$,
  'anon with privileges: still sees no dashboards'
);
select throws_ok(
  $$insert into public.dashboards (name) values ('matrix insert anon')$$,
  '42501', null, 'anon with privileges: still cannot create a dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no dashboard'
);
reset role;

-- dashboards as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.dashboards where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every dashboard'
);
select throws_ok(
  $$insert into public.dashboards (name) values ('matrix insert viewer')$$,
  '42501', null, 'viewer: cannot create a dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own dashboard (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s dashboard (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own dashboard (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s dashboard (rls filters it out)'
);
reset role;

-- dashboards as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.dashboards where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')),
  4, 'user: reads every dashboard'
);
select lives_ok(
  $$insert into public.dashboards (name) values ('matrix insert user')$$,
  'user: can create a dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s dashboard (rls filters it out)'
);
select throws_ok(
  $$insert into public.dashboards (name, created_by) values ('matrix insert user', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create a dashboard owned by another user'
);
select throws_ok(
  $$update public.dashboards set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f0000017-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their dashboard over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s dashboard (rls filters it out)'
);
reset role;

-- dashboards as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.dashboards where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')),
  4, 'admin: reads every dashboard'
);
select lives_ok(
  $$insert into public.dashboards (name) values ('matrix insert admin')$$,
  'admin: can create a dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s dashboard'
);
reset role;

-- dashboards as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.dashboards where id in ('f0000017-0000-4000-8000-00000000000a', 'f0000017-0000-4000-8000-00000000000b', 'f0000017-0000-4000-8000-00000000000c', 'f0000017-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every dashboard'
);
select lives_ok(
  $$insert into public.dashboards (name) values ('matrix insert service_role')$$,
  'service_role: can create a dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s dashboard'
);
select is(
  pg_temp.rows_affected($$update public.dashboards set name = 'matrix update' where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s dashboard'
);
select is(
  pg_temp.rows_affected($$delete from public.dashboards where id = 'f0000017-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s dashboard'
);
reset role;

-- ============================================================================
-- data_sources
-- ============================================================================

-- data_sources as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.data_sources$$,
  '42501', null, 'anon: may not read data sources (no privilege)'
);
select throws_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert anon', 'csv')$$,
  '42501', null, 'anon: cannot create a data source (no privilege)'
);
select throws_ok(
  $$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s data source (no privilege)'
);
select throws_ok(
  $$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s data source (no privilege)'
);
select throws_ok(
  $$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s data source (no privilege)'
);
select throws_ok(
  $$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s data source (no privilege)'
);
reset role;

-- data_sources as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.data_sources to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.data_sources$$,
  'anon with privileges: still sees no data sources'
);
select throws_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert anon', 'csv')$$,
  '42501', null, 'anon with privileges: still cannot create a data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no data source'
);
reset role;

-- data_sources as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.data_sources where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every data source'
);
select throws_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert viewer', 'csv')$$,
  '42501', null, 'viewer: cannot create a data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own data source (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s data source (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own data source (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s data source (rls filters it out)'
);
reset role;

-- data_sources as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.data_sources where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')),
  4, 'user: reads every data source'
);
select lives_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert user', 'csv')$$,
  'user: can create a data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s data source (rls filters it out)'
);
select throws_ok(
  $$insert into public.data_sources (name, kind, created_by) values ('matrix insert user', 'csv', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create a data source owned by another user'
);
select throws_ok(
  $$update public.data_sources set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f0000011-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their data source over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s data source (rls filters it out)'
);
reset role;

-- data_sources as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.data_sources where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')),
  4, 'admin: reads every data source'
);
select lives_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert admin', 'csv')$$,
  'admin: can create a data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s data source'
);
reset role;

-- data_sources as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.data_sources where id in ('f0000011-0000-4000-8000-00000000000a', 'f0000011-0000-4000-8000-00000000000b', 'f0000011-0000-4000-8000-00000000000c', 'f0000011-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every data source'
);
select lives_ok(
  $$insert into public.data_sources (name, kind) values ('matrix insert service_role', 'csv')$$,
  'service_role: can create a data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s data source'
);
select is(
  pg_temp.rows_affected($$update public.data_sources set name = 'matrix update' where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s data source'
);
select is(
  pg_temp.rows_affected($$delete from public.data_sources where id = 'f0000011-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s data source'
);
reset role;

-- ============================================================================
-- import_tables
-- ============================================================================

-- import_tables as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.import_tables$$,
  '42501', null, 'anon: may not read import tables (no privilege)'
);
select throws_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_anon', '[]')$$,
  '42501', null, 'anon: cannot create an import table (no privilege)'
);
select throws_ok(
  $$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s import table (no privilege)'
);
select throws_ok(
  $$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s import table (no privilege)'
);
select throws_ok(
  $$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s import table (no privilege)'
);
select throws_ok(
  $$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s import table (no privilege)'
);
reset role;

-- import_tables as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.import_tables to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.import_tables$$,
  'anon with privileges: still sees no import tables'
);
select throws_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_anon', '[]')$$,
  '42501', null, 'anon with privileges: still cannot create an import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no import table'
);
reset role;

-- import_tables as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.import_tables where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')),
  4, 'viewer: reads every import table'
);
select throws_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_viewer', '[]')$$,
  '42501', null, 'viewer: cannot create an import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own import table (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s import table (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own import table (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s import table (rls filters it out)'
);
reset role;

-- import_tables as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.import_tables where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')),
  4, 'user: reads every import table'
);
select lives_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_user', '[]')$$,
  'user: can create an import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'user: can update their own import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s import table (rls filters it out)'
);
select throws_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns, created_by) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_user', '[]', 'f0000000-0000-4000-8000-00000000000d')$$,
  '42501', null, 'user: cannot create an import table owned by another user'
);
select throws_ok(
  $$update public.import_tables set created_by = 'f0000000-0000-4000-8000-00000000000d' where id = 'f0000012-0000-4000-8000-00000000000b'$$,
  '42501', null, 'user: cannot hand their import table over to another user'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'user: can delete their own import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s import table (rls filters it out)'
);
reset role;

-- import_tables as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.import_tables where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')),
  4, 'admin: reads every import table'
);
select lives_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_admin', '[]')$$,
  'admin: can create an import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s import table'
);
reset role;

-- import_tables as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.import_tables where id in ('f0000012-0000-4000-8000-00000000000a', 'f0000012-0000-4000-8000-00000000000b', 'f0000012-0000-4000-8000-00000000000c', 'f0000012-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every import table'
);
select lives_ok(
  $$insert into public.import_tables (data_source_id, table_name, columns) values ('f0000011-0000-4000-8000-00000000000b', 'matrix_insert_service_role', '[]')$$,
  'service_role: can create an import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s import table'
);
select is(
  pg_temp.rows_affected($$update public.import_tables set columns = '[{"name": "amount", "type": "numeric"}]' where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s import table'
);
select is(
  pg_temp.rows_affected($$delete from public.import_tables where id = 'f0000012-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s import table'
);
reset role;

select * from finish();
rollback;
