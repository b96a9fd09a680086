-- oauth states and import runs (V12): only service_role touches oauth_states (a state's nonce
-- must not be readable or consumable by any client); import_runs are read by members and
-- written by service_role alone; the constraints keep a run's sha-256 and row range sane.

begin;
select plan(16);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-0000000000a8', 'authenticated', 'authenticated', 'pgtap.v12.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000c8', 'authenticated', 'authenticated', 'pgtap.v12.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

create function pg_temp.claims(sub text, app_role text) returns text
language sql
as $fn$
  select format('{"sub":"%s","role":"authenticated","aud":"authenticated","app_metadata":{"role":"%s"}}', sub, app_role)
$fn$;

select has_table('public', 'oauth_states', 'oauth_states exists');
select has_table('public', 'import_runs', 'import_runs exists');
select ok(
  (select bool_and(relrowsecurity and relforcerowsecurity) from pg_class
    where oid in ('public.oauth_states'::regclass, 'public.import_runs'::regclass)),
  'rls is enabled and forced on both'
);

insert into public.data_sources (id, name, kind)
values ('f0000000-0000-4000-8000-00000000d512', 'pgtap v12', 'ga4');
insert into public.oauth_states (nonce, data_source_id, provider, expires_at)
values ('pgtap-nonce-0123456789', 'f0000000-0000-4000-8000-00000000d512', 'ga4', now() + interval '10 minutes');
insert into public.import_tables (id, table_name, columns)
values ('f0000000-0000-4000-8000-00000000d513', 'pgtap_v12', '[{"name": "a", "type": "text"}]');
insert into public.import_runs (import_table_id, sha256, first_row_id, last_row_id, rows_loaded)
values ('f0000000-0000-4000-8000-00000000d513', repeat('ab', 32), 1, 3, 3);

-- anon
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select * from public.oauth_states$$, '42501', null, 'anon: may not read oauth states');
select throws_ok($$select * from public.import_runs$$, '42501', null, 'anon: may not read import runs');
reset role;

-- an admin: no oauth state, read-only import runs
set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims('f0000000-0000-4000-8000-0000000000a8', 'admin'), true);
select throws_ok($$select * from public.oauth_states$$, '42501', null, 'admin: may not read oauth states');
select throws_ok(
  $$update public.oauth_states set consumed_at = null$$,
  '42501', null, 'admin: may not un-consume a state'
);
select is((select count(*)::int from public.import_runs), 1, 'admin: reads import runs');
select throws_ok(
  $$delete from public.import_runs$$,
  '42501', null, 'admin: may not delete import runs (they guard against duplicates)'
);
reset role;

-- a viewer reads runs, writes nothing
set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims('f0000000-0000-4000-8000-0000000000c8', 'viewer'), true);
select is((select count(*)::int from public.import_runs), 1, 'viewer: reads import runs');
select throws_ok(
  $$insert into public.import_runs (import_table_id, sha256) values ('f0000000-0000-4000-8000-00000000d513', repeat('cd', 32))$$,
  '42501', null, 'viewer: may not record a run'
);
reset role;

-- service_role and the constraints
set local role service_role;
select is(
  (select count(*)::int from public.oauth_states where nonce = 'pgtap-nonce-0123456789'),
  1, 'service_role: reads oauth states'
);
select throws_ok(
  $$insert into public.import_runs (import_table_id, sha256) values ('f0000000-0000-4000-8000-00000000d513', 'not-a-digest')$$,
  '23514', null, 'a malformed sha-256 is refused'
);
select throws_ok(
  $$insert into public.import_runs (import_table_id, sha256, first_row_id, last_row_id) values ('f0000000-0000-4000-8000-00000000d513', repeat('ef', 32), 5, null)$$,
  '23514', null, 'half a row range is refused'
);
select throws_ok(
  $$insert into public.import_runs (import_table_id, sha256, first_row_id, last_row_id) values ('f0000000-0000-4000-8000-00000000d513', repeat('ef', 32), 5, 4)$$,
  '23514', null, 'a reversed row range is refused'
);
reset role;

delete from public.data_sources where id = 'f0000000-0000-4000-8000-00000000d512';
select is(
  (select count(*)::int from public.oauth_states where nonce = 'pgtap-nonce-0123456789'),
  0, 'removing the source removes its pending states'
);

select * from finish();
rollback;
