-- the request helpers (auth.uid(), auth.role(), auth.email(), auth.jwt()) and the
-- application-role helpers the policies are built on. the role comes from the jwt's
-- app_metadata only: user_metadata is user-editable and must never grant anything.

begin;
select plan(45);

-- ---------------------------------------------------------------------------
-- auth.* read both forms of the request settings
-- ---------------------------------------------------------------------------
-- the json form, as postgrest and our services set it
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e1","role":"authenticated","email":"json@example.com"}', true);
select is(auth.uid(), 'f0000000-0000-4000-8000-0000000000e1'::uuid, 'auth.uid() reads request.jwt.claims');
select is(auth.role(), 'authenticated', 'auth.role() reads request.jwt.claims');
select is(auth.email(), 'json@example.com', 'auth.email() reads request.jwt.claims');
select is(auth.jwt() ->> 'email', 'json@example.com', 'auth.jwt() reads request.jwt.claims');

-- the legacy per-claim form takes precedence, as on supabase
select set_config('request.jwt.claim.sub', 'f0000000-0000-4000-8000-0000000000e2', true);
select set_config('request.jwt.claim.role', 'service_role', true);
select set_config('request.jwt.claim.email', 'legacy@example.com', true);
select set_config('request.jwt.claim', '{"sub":"f0000000-0000-4000-8000-0000000000e2","email":"legacy@example.com"}', true);
select is(auth.uid(), 'f0000000-0000-4000-8000-0000000000e2'::uuid, 'auth.uid() reads request.jwt.claim.sub');
select is(auth.role(), 'service_role', 'auth.role() reads request.jwt.claim.role');
select is(auth.email(), 'legacy@example.com', 'auth.email() reads request.jwt.claim.email');
select is(auth.jwt() ->> 'email', 'legacy@example.com', 'auth.jwt() reads request.jwt.claim');

-- after a transaction the settings read as '' rather than null
select set_config('request.jwt.claim.sub', '', true);
select set_config('request.jwt.claim.role', '', true);
select set_config('request.jwt.claim.email', '', true);
select set_config('request.jwt.claim', '', true);
select set_config('request.jwt.claims', '', true);
select is(auth.uid(), null, 'auth.uid() is null when the settings are empty');
select is(auth.role(), null, 'auth.role() is null when the settings are empty');
select is(auth.jwt(), null, 'auth.jwt() is null when the settings are empty');

-- ---------------------------------------------------------------------------
-- app_private.current_app_role()
-- ---------------------------------------------------------------------------
select is(app_private.current_app_role(), null, 'no claims: no application role');

set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select is(app_private.current_app_role(), null, 'anon: no application role');
select ok(not app_private.is_member() and not app_private.can_write() and not app_private.is_admin(),
  'anon: not a member, cannot write, not an admin');
reset role;

set local role service_role;
select set_config('request.jwt.claims', '{"role":"service_role"}', true);
select is(app_private.current_app_role(), 'service_role', 'the service key: service_role');
select set_config('request.jwt.claims', '', true);
select is(app_private.current_app_role(), 'service_role', 'the service_role database role without claims: service_role');
reset role;

set local role authenticated;

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select is(app_private.current_app_role(), 'admin', 'app_metadata.role admin: admin');
select ok(app_private.is_admin() and app_private.can_write() and app_private.is_member(),
  'admin: is admin, can write, is a member');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"user"}}', true);
select is(app_private.current_app_role(), 'user', 'app_metadata.role user: user');
select ok(not app_private.is_admin() and app_private.can_write() and app_private.is_member(),
  'user: not admin, can write, is a member');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"viewer"}}', true);
select is(app_private.current_app_role(), 'viewer', 'app_metadata.role viewer: viewer');
select ok(not app_private.is_admin() and not app_private.can_write() and app_private.is_member(),
  'viewer: not admin, cannot write, is a member');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"provider":"email"}}', true);
select is(app_private.current_app_role(), 'viewer', 'no app role: viewer');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated"}', true);
select is(app_private.current_app_role(), 'viewer', 'no app_metadata at all: viewer');

-- escalation attempts
select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"provider":"email"},"user_metadata":{"role":"admin"}}', true);
select is(app_private.current_app_role(), 'viewer', 'user_metadata.role admin without an app role: still viewer');
select ok(not app_private.is_admin() and not app_private.can_write(),
  'user_metadata.role admin grants neither admin nor write');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"viewer"},"user_metadata":{"role":"admin"}}', true);
select is(app_private.current_app_role(), 'viewer', 'user_metadata.role admin cannot override app_metadata.role viewer');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"superadmin"}}', true);
select is(app_private.current_app_role(), 'viewer', 'an unknown app role: viewer');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"service_role"}}', true);
select is(app_private.current_app_role(), 'viewer', 'app_metadata.role service_role: viewer, not the service');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":"ADMIN"}}', true);
select is(app_private.current_app_role(), 'viewer', 'app roles are exact: ADMIN is unknown, so viewer');

select set_config('request.jwt.claims',
  '{"sub":"f0000000-0000-4000-8000-0000000000e3","role":"authenticated","app_metadata":{"role":["admin"]}}', true);
select is(app_private.current_app_role(), 'viewer', 'an app role that is not a string: viewer');

-- the role claim itself must say authenticated: a user's app role means nothing on an anon token
select set_config('request.jwt.claims',
  '{"role":"anon","app_metadata":{"role":"admin"}}', true);
select is(app_private.current_app_role(), null, 'an anon token carrying app_metadata.role admin: no role');

reset role;

-- ---------------------------------------------------------------------------
-- how the helpers are defined
-- ---------------------------------------------------------------------------
select is(
  (select count(*)::int from pg_catalog.pg_proc
   where pronamespace = 'app_private'::regnamespace
     and proname in ('current_app_role', 'is_admin', 'can_write', 'is_member', 'is_valid_time_zone')
     and not prosecdef and provolatile = 's'
     and proconfig @> array['search_path=""']),
  5,
  'role helpers are stable, security invoker, with an empty search_path'
);

select ok(
  not exists (
    select 1 from pg_catalog.pg_namespace n
    where n.nspname = 'app_private'
      and (has_schema_privilege('anon', n.oid, 'create')
        or has_schema_privilege('authenticated', n.oid, 'create')
        or has_schema_privilege('service_role', n.oid, 'create'))
  ),
  'api roles cannot create objects in app_private'
);

select ok(
  not has_table_privilege('authenticated', 'auth.users', 'select')
    and not has_table_privilege('anon', 'auth.users', 'select'),
  'clients cannot read auth.users'
);

-- ---------------------------------------------------------------------------
-- app_private.is_valid_time_zone()
-- ---------------------------------------------------------------------------
select ok(app_private.is_valid_time_zone('Europe/Paris'), 'Europe/Paris is a time zone');
select ok(app_private.is_valid_time_zone('America/Los_Angeles'), 'America/Los_Angeles is a time zone');
select ok(app_private.is_valid_time_zone('UTC'), 'UTC is a time zone');
select ok(not app_private.is_valid_time_zone('Mars/Olympus_Mons'), 'Mars/Olympus_Mons is not');
select ok(not app_private.is_valid_time_zone('+05:00'), 'an offset is not a zone');
select ok(not app_private.is_valid_time_zone(null), 'null is not a zone');
select is(
  (select count(*)::int from app_private.time_zone_names),
  (select count(distinct name)::int from pg_catalog.pg_timezone_names),
  'every zone the server knows is in the name table'
);
select ok(
  has_table_privilege('authenticated', 'app_private.time_zone_names', 'select')
    and not has_table_privilege('authenticated', 'app_private.time_zone_names', 'insert')
    and not has_table_privilege('anon', 'app_private.time_zone_names', 'delete'),
  'the name table is readable by the api roles (checks run as the caller) and writable by none'
);
-- a zone the server's time-zone data has but the table lacks (data updated since the
-- migration) is still accepted, through the view
delete from app_private.time_zone_names where name = 'Asia/Kathmandu';
select ok(app_private.is_valid_time_zone('Asia/Kathmandu'), 'a zone missing from the table is found in the server''s data');
set local role authenticated;
select ok(app_private.is_valid_time_zone('Europe/Paris'), 'the check works as a caller');
reset role;

select * from finish();
rollback;
