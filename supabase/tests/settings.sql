-- app settings: members (viewer, user, admin) read; admins write; service_role all;
-- anon nothing.

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
  insert into public.app_settings (key, value, description)
    select 'fixture.setting_f1', '{"fixture": 1}', 'fixture setting 1'
    where not exists (select from public.app_settings where key = 'fixture.setting_f1');
  insert into public.app_settings (key, value, description)
    select 'fixture.setting_f2', '{"fixture": 2}', 'fixture setting 2'
    where not exists (select from public.app_settings where key = 'fixture.setting_f2');
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
-- app_settings
-- ============================================================================

-- app_settings as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select key from public.app_settings$$,
  '42501', null, 'anon: may not read settings (no privilege)'
);
select throws_ok(
  $$insert into public.app_settings (key, value) values ('matrix.anon', '{"enabled": true}')$$,
  '42501', null, 'anon: cannot create a setting (no privilege)'
);
select throws_ok(
  $$update public.app_settings set description = 'matrix update' where key = 'fixture.setting_f1'$$,
  '42501', null, 'anon: cannot update a setting (no privilege)'
);
select throws_ok(
  $$delete from public.app_settings where key = 'fixture.setting_f2'$$,
  '42501', null, 'anon: cannot delete a setting (no privilege)'
);
reset role;

-- app_settings as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.app_settings to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.app_settings$$,
  'anon with privileges: still sees no settings'
);
select throws_ok(
  $$insert into public.app_settings (key, value) values ('matrix.anon', '{"enabled": true}')$$,
  '42501', null, 'anon with privileges: still cannot create a setting'
);
select is(
  pg_temp.rows_affected($$update public.app_settings set description = 'matrix update' where key in ('fixture.setting_f1', 'fixture.setting_f2')$$),
  0, 'anon with privileges: still updates no setting'
);
select is(
  pg_temp.rows_affected($$delete from public.app_settings where key in ('fixture.setting_f1', 'fixture.setting_f2')$$),
  0, 'anon with privileges: still deletes no setting'
);
reset role;

-- app_settings as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.app_settings where key in ('fixture.setting_f1', 'fixture.setting_f2')),
  2, 'viewer: reads every setting'
);
select throws_ok(
  $$insert into public.app_settings (key, value) values ('matrix.viewer', '{"enabled": true}')$$,
  '42501', null, 'viewer: cannot create a setting'
);
select is(
  pg_temp.rows_affected($$update public.app_settings set description = 'matrix update' where key = 'fixture.setting_f1'$$),
  0, 'viewer: cannot update a setting (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.app_settings where key = 'fixture.setting_f2'$$),
  0, 'viewer: cannot delete a setting (rls filters it out)'
);
reset role;

-- app_settings as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.app_settings where key in ('fixture.setting_f1', 'fixture.setting_f2')),
  2, 'user: reads every setting'
);
select throws_ok(
  $$insert into public.app_settings (key, value) values ('matrix.user', '{"enabled": true}')$$,
  '42501', null, 'user: cannot create a setting'
);
select is(
  pg_temp.rows_affected($$update public.app_settings set description = 'matrix update' where key = 'fixture.setting_f1'$$),
  0, 'user: cannot update a setting (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.app_settings where key = 'fixture.setting_f2'$$),
  0, 'user: cannot delete a setting (rls filters it out)'
);
reset role;

-- app_settings as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.app_settings where key in ('fixture.setting_f1', 'fixture.setting_f2')),
  2, 'admin: reads every setting'
);
select lives_ok(
  $$insert into public.app_settings (key, value) values ('matrix.admin', '{"enabled": true}')$$,
  'admin: can create a setting'
);
select is(
  pg_temp.rows_affected($$update public.app_settings set description = 'matrix update' where key = 'fixture.setting_f1'$$),
  1, 'admin: can update a setting'
);
select is(
  pg_temp.rows_affected($$delete from public.app_settings where key = 'fixture.setting_f2'$$),
  1, 'admin: can delete a setting'
);
reset role;

-- app_settings as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.app_settings where key in ('fixture.setting_f1', 'fixture.setting_f2')),
  2, 'service_role: reads every setting'
);
select lives_ok(
  $$insert into public.app_settings (key, value) values ('matrix.service_role', '{"enabled": true}')$$,
  'service_role: can create a setting'
);
select is(
  pg_temp.rows_affected($$update public.app_settings set description = 'matrix update' where key = 'fixture.setting_f1'$$),
  1, 'service_role: can update a setting'
);
select is(
  pg_temp.rows_affected($$delete from public.app_settings where key = 'fixture.setting_f2'$$),
  1, 'service_role: can delete a setting'
);
reset role;

select * from finish();
rollback;
