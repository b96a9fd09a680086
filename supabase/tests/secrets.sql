-- secrets: write-only for admins (they read metadata columns, never ciphertext or
-- nonce); service_role reads everything (it decrypts); everyone else nothing.

begin;
select plan(39);

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
  insert into public.secrets (id, scope, name, owner_ref, ciphertext, nonce, key_id, created_by)
    select 'f0000001-0000-4000-8000-00000000000a', 'provider', 'fixture secret fa', 'fixture', '\xdeadbeef00112233', '\x000102030405060708090a0b', 'k1', 'f0000000-0000-4000-8000-00000000000a'
    where not exists (select from public.secrets where id = 'f0000001-0000-4000-8000-00000000000a');
  insert into public.secrets (id, scope, name, owner_ref, ciphertext, nonce, key_id, created_by)
    select 'f0000001-0000-4000-8000-00000000000b', 'provider', 'fixture secret fb', 'fixture', '\xdeadbeef00112233', '\x000102030405060708090a0b', 'k1', 'f0000000-0000-4000-8000-00000000000b'
    where not exists (select from public.secrets where id = 'f0000001-0000-4000-8000-00000000000b');
  insert into public.secrets (id, scope, name, owner_ref, ciphertext, nonce, key_id, created_by)
    select 'f0000001-0000-4000-8000-00000000000c', 'provider', 'fixture secret fc', 'fixture', '\xdeadbeef00112233', '\x000102030405060708090a0b', 'k1', 'f0000000-0000-4000-8000-00000000000c'
    where not exists (select from public.secrets where id = 'f0000001-0000-4000-8000-00000000000c');
  insert into public.secrets (id, scope, name, owner_ref, ciphertext, nonce, key_id, created_by)
    select 'f0000001-0000-4000-8000-00000000000d', 'provider', 'fixture secret fd', 'fixture', '\xdeadbeef00112233', '\x000102030405060708090a0b', 'k1', 'f0000000-0000-4000-8000-00000000000d'
    where not exists (select from public.secrets where id = 'f0000001-0000-4000-8000-00000000000d');
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
-- secrets
-- ============================================================================

-- secrets as anon
select pg_temp.restore_fixtures();
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok(
  $$select id from public.secrets$$,
  '42501', null, 'anon: may not read secrets (no privilege)'
);
select throws_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert anon', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  '42501', null, 'anon: cannot create a secret (no privilege)'
);
select throws_ok(
  $$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot update a user''s secret (no privilege)'
);
select throws_ok(
  $$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot update another user''s secret (no privilege)'
);
select throws_ok(
  $$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000b'$$,
  '42501', null, 'anon: cannot delete a user''s secret (no privilege)'
);
select throws_ok(
  $$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000d'$$,
  '42501', null, 'anon: cannot delete another user''s secret (no privilege)'
);
reset role;

-- secrets as anon holding table privileges (as on a stock supabase project):
-- still nothing, because no policy names anon.
grant select, insert, update, delete on public.secrets to anon;
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is_empty(
  $$select 1 from public.secrets$$,
  'anon with privileges: still sees no secrets'
);
select throws_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert anon', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  '42501', null, 'anon with privileges: still cannot create a secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still updates no secret'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')$$),
  0, 'anon with privileges: still deletes no secret'
);
reset role;

-- secrets as viewer
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","aud":"authenticated","email":"pgtap.viewer@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"viewer"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')$$,
  'viewer: sees no secrets'
);
select throws_ok(
  $$select ciphertext from public.secrets$$,
  '42501', null, 'viewer: can never read ciphertext'
);
select throws_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert viewer', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  '42501', null, 'viewer: cannot create a secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot update their own secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot update another user''s secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000c'$$),
  0, 'viewer: cannot delete their own secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  0, 'viewer: cannot delete another user''s secret (rls filters it out)'
);
reset role;

-- secrets as user
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","email":"pgtap.user@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"user"},"user_metadata":{}}', true);
select is_empty(
  $$select id from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')$$,
  'user: sees no secrets'
);
select throws_ok(
  $$select ciphertext from public.secrets$$,
  '42501', null, 'user: can never read ciphertext'
);
select throws_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert user', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  '42501', null, 'user: cannot create a secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot update their own secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot update another user''s secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  0, 'user: cannot delete their own secret (rls filters it out)'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  0, 'user: cannot delete another user''s secret (rls filters it out)'
);
reset role;

-- secrets as admin
select pg_temp.restore_fixtures();
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","aud":"authenticated","email":"pgtap.admin@example.com","app_metadata":{"provider":"email","providers":["email"],"role":"admin"},"user_metadata":{}}', true);
select is(
  (select count(*)::int from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')),
  4, 'admin: reads every secret'
);
select throws_ok(
  $$select ciphertext from public.secrets$$,
  '42501', null, 'admin: can never read ciphertext'
);
select throws_ok(
  $$select nonce from public.secrets$$,
  '42501', null, 'admin: can never read the nonce'
);
select lives_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert admin', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  'admin: can create a secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000a'$$),
  1, 'admin: can update their own secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  1, 'admin: can update a user''s secret'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000a'$$),
  1, 'admin: can delete their own secret'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  1, 'admin: can delete a user''s secret'
);
reset role;

-- secrets as service_role
select pg_temp.restore_fixtures();
set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(
  (select count(*)::int from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')),
  4, 'service_role: reads every secret'
);
select is(
  (select count(ciphertext)::int from public.secrets where id in ('f0000001-0000-4000-8000-00000000000a', 'f0000001-0000-4000-8000-00000000000b', 'f0000001-0000-4000-8000-00000000000c', 'f0000001-0000-4000-8000-00000000000d')),
  4, 'service_role: reads ciphertext (it decrypts)'
);
select lives_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('ai', 'matrix insert service_role', '\x00112233', '\x000102030405060708090a0b', 'k1')$$,
  'service_role: can create a secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can update a user''s secret'
);
select is(
  pg_temp.rows_affected($$update public.secrets set owner_ref = 'matrix update' where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can update another user''s secret'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000b'$$),
  1, 'service_role: can delete a user''s secret'
);
select is(
  pg_temp.rows_affected($$delete from public.secrets where id = 'f0000001-0000-4000-8000-00000000000d'$$),
  1, 'service_role: can delete another user''s secret'
);
reset role;

select * from finish();
rollback;
