-- privilege escalation through the token: the application role is read from app_metadata
-- only. a user who writes {"role": "admin"} into their own user_metadata, or whose
-- app_metadata carries a role we do not know, must get exactly what a viewer gets.

begin;
select plan(26);

-- actors: an admin and a user who own data, and the would-be escalator (no app role).
insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-0000000000ea', 'authenticated', 'authenticated', 'pgtap.escalation.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000eb', 'authenticated', 'authenticated', 'pgtap.escalation.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000ee', 'authenticated', 'authenticated', 'pgtap.escalation.mallory@example.com', now(),
   '{"provider": "email", "providers": ["email"]}', '{"role": "admin"}', now(), now())
on conflict (id) do nothing;

insert into public.campaigns (id, name, channel, created_by) values
  ('f00000e0-0000-4000-8000-00000000000a', 'escalation campaign (admin)', 'sms', 'f0000000-0000-4000-8000-0000000000ea'),
  ('f00000e0-0000-4000-8000-00000000000b', 'escalation campaign (user)', 'email', 'f0000000-0000-4000-8000-0000000000eb');
insert into public.contacts (id, email, created_by) values
  ('f00000e1-0000-4000-8000-00000000000b', 'escalation.contact@example.com', 'f0000000-0000-4000-8000-0000000000eb');
insert into public.secrets (id, scope, name, ciphertext, nonce, key_id, created_by) values
  ('f00000e2-0000-4000-8000-00000000000a', 'provider', 'escalation secret', '\xdeadbeef', '\x000102030405060708090a0b', 'k1',
   'f0000000-0000-4000-8000-0000000000ea');
insert into public.audit_logs (action, kind, details) values ('escalation.fixture', 'security', '{}');
insert into public.app_settings (key, value) values ('escalation.flag', '{"on": true}');

-- ---------------------------------------------------------------------------
-- user_metadata.role = 'admin', no app role
-- ---------------------------------------------------------------------------
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000ee","role":"authenticated","aud":"authenticated","app_metadata":{"provider":"email","providers":["email"]},"user_metadata":{"role":"admin"}}',
  true);

select is(app_private.current_app_role(), 'viewer', 'user_metadata admin: treated as viewer');
select is(
  (select count(*)::int from public.campaigns where id in ('f00000e0-0000-4000-8000-00000000000a', 'f00000e0-0000-4000-8000-00000000000b')),
  2, 'user_metadata admin: reads campaigns, like a viewer'
);
select is_empty(
  $$select id from public.contacts where id = 'f00000e1-0000-4000-8000-00000000000b'$$,
  'user_metadata admin: sees no contacts'
);
select is_empty(
  $$select id from public.secrets where id = 'f00000e2-0000-4000-8000-00000000000a'$$,
  'user_metadata admin: sees no secrets'
);
select is_empty(
  $$select id from public.audit_logs where action = 'escalation.fixture'$$,
  'user_metadata admin: sees no audit log'
);
select throws_ok(
  $$insert into public.campaigns (name, channel) values ('escalated', 'sms')$$,
  '42501', null, 'user_metadata admin: cannot create a campaign'
);
with affected as (
  update public.campaigns set name = 'hijacked' where id = 'f00000e0-0000-4000-8000-00000000000a'
  returning 1
)
select is(count(*)::int, 0, 'user_metadata admin: cannot update an admin''s campaign') from affected;
with affected as (
  delete from public.campaigns where id = 'f00000e0-0000-4000-8000-00000000000b'
  returning 1
)
select is(count(*)::int, 0, 'user_metadata admin: cannot delete a user''s campaign') from affected;
select throws_ok(
  $$insert into public.app_settings (key, value) values ('escalation.takeover', 'true')$$,
  '42501', null, 'user_metadata admin: cannot create a setting'
);
with affected as (
  update public.app_settings set value = '{"on": false}' where key = 'escalation.flag'
  returning 1
)
select is(count(*)::int, 0, 'user_metadata admin: cannot change a setting') from affected;
select throws_ok(
  $$insert into public.secrets (scope, name, ciphertext, nonce, key_id)
    values ('ai', 'escalated', '\x00', '\x000102030405060708090a0b', 'k1')$$,
  '42501', null, 'user_metadata admin: cannot store a secret'
);
with affected as (
  delete from public.analytics_data where source = 'escalation'
  returning 1
)
select is(count(*)::int, 0, 'user_metadata admin: deletes no analytics data') from affected;
reset role;

-- ---------------------------------------------------------------------------
-- an unknown app role
-- ---------------------------------------------------------------------------
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000ee","role":"authenticated","aud":"authenticated","app_metadata":{"role":"superadmin"},"user_metadata":{}}',
  true);

select is(app_private.current_app_role(), 'viewer', 'unknown app role: treated as viewer');
select is(
  (select count(*)::int from public.campaigns where id in ('f00000e0-0000-4000-8000-00000000000a', 'f00000e0-0000-4000-8000-00000000000b')),
  2, 'unknown app role: reads campaigns, like a viewer'
);
select is_empty(
  $$select id from public.contacts where id = 'f00000e1-0000-4000-8000-00000000000b'$$,
  'unknown app role: sees no contacts'
);
select is_empty(
  $$select id from public.secrets where id = 'f00000e2-0000-4000-8000-00000000000a'$$,
  'unknown app role: sees no secrets'
);
select throws_ok(
  $$insert into public.campaigns (name, channel) values ('escalated', 'sms')$$,
  '42501', null, 'unknown app role: cannot create a campaign'
);
with affected as (
  update public.campaigns set name = 'hijacked' where id = 'f00000e0-0000-4000-8000-00000000000a'
  returning 1
)
select is(count(*)::int, 0, 'unknown app role: cannot update an admin''s campaign') from affected;
select throws_ok(
  $$insert into public.contacts (email) values ('escalated@example.com')$$,
  '42501', null, 'unknown app role: cannot create a contact'
);
reset role;

-- ---------------------------------------------------------------------------
-- app_metadata naming the service itself
-- ---------------------------------------------------------------------------
set local role authenticated;
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000ee","role":"authenticated","aud":"authenticated","app_metadata":{"role":"service_role"},"user_metadata":{}}',
  true);

select is(app_private.current_app_role(), 'viewer', 'app role service_role on a user token: treated as viewer');
select is_empty(
  $$select id from public.secrets where id = 'f00000e2-0000-4000-8000-00000000000a'$$,
  'app role service_role on a user token: sees no secrets'
);
select throws_ok(
  $$select ciphertext from public.secrets$$,
  '42501', null, 'app role service_role on a user token: cannot read ciphertext'
);
reset role;

-- ---------------------------------------------------------------------------
-- claims alone grant nothing: an admin's claims under the anon database role
-- ---------------------------------------------------------------------------
set local role anon;
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000ea","role":"authenticated","aud":"authenticated","app_metadata":{"role":"admin"},"user_metadata":{}}',
  true);

select throws_ok(
  $$select id from public.campaigns$$,
  '42501', null, 'admin claims under the anon role: cannot read campaigns'
);
select throws_ok(
  $$select id from public.secrets$$,
  '42501', null, 'admin claims under the anon role: cannot read secrets'
);
select throws_ok(
  $$insert into public.app_settings (key, value) values ('escalation.anon', 'true')$$,
  '42501', null, 'admin claims under the anon role: cannot create a setting'
);
reset role;

-- the setting kept its value through all of the above
select is(
  (select value from public.app_settings where key = 'escalation.flag'),
  '{"on": true}'::jsonb,
  'no escalation attempt changed a setting'
);

select * from finish();
rollback;
