-- admin: the audit trigger on every business table (actor, changed fields, redaction),
-- enable_audit, the purge, the last-admin guard, local user management and the
-- notification recipient lookup.

begin;
select plan(45);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-00000000000a', 'authenticated', 'authenticated', 'pgtap.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated', 'pgtap.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-00000000000c', 'authenticated', 'authenticated', 'pgtap.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

-- the suite may run on a database with other admins (demo data); the guard is about the
-- last one, so every other admin is demoted for the length of this transaction.
update auth.users set raw_app_meta_data = raw_app_meta_data || '{"role": "user"}'
 where raw_app_meta_data ->> 'role' = 'admin' and id <> 'f0000000-0000-4000-8000-00000000000a';

-- ============================================================================
-- objects
-- ============================================================================
select has_function('app_private', 'enable_audit', array['regclass', 'text[]'], 'enable_audit(regclass, text[]) exists');
select has_function('app_private', 'audit_row_change', 'the audit trigger function exists');
select has_function('app_private', 'purge_audit_logs', array['integer'], 'purge_audit_logs(integer) exists');
select has_function('app_private', 'guard_last_admin', array['uuid'], 'guard_last_admin(uuid) exists');
select has_column('public', 'secrets', 'metadata', 'secrets carry client-visible metadata');
select is(
  (select count(distinct c.relname)::int from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where t.tgname in ('audit_insert', 'audit_update', 'audit_delete') and c.relnamespace = 'public'::regnamespace
    group by c.relnamespace having count(*) = 3 * count(distinct c.relname)),
  15, 'the fifteen business tables are audited on insert, update and delete'
);
select is_empty(
  $$select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid
     where t.tgname in ('audit_insert', 'audit_update', 'audit_delete')
       and c.relname in ('audit_logs', 'notifications', 'jobs', 'sms_messages', 'email_messages',
                         'message_events', 'imported_data', 'analytics_data', 'sync_logs')$$,
  'high-volume and log tables are not audited'
);
select ok(
  (select prosecdef from pg_proc where oid = 'app_private.audit_row_change()'::regprocedure),
  'the audit trigger is security definer (it writes the append-only log)'
);
select ok(
  (select proconfig @> array['search_path=""'] from pg_proc where oid = 'app_private.audit_row_change()'::regprocedure),
  'the audit trigger pins an empty search_path'
);

-- ============================================================================
-- the audit trigger records the actor from the request scope
-- ============================================================================
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","aud":"authenticated","app_metadata":{"role":"user"}}', true);
select set_config('request.headers', '{"x-request-id": "pgtap-req-1"}', true);
insert into public.templates (id, name, channel, body, created_by)
  values ('f00000aa-0000-4000-8000-000000000001', 'pgtap template', 'sms', 'Hi', 'f0000000-0000-4000-8000-00000000000b');
update public.templates set name = 'pgtap template renamed' where id = 'f00000aa-0000-4000-8000-000000000001';
delete from public.templates where id = 'f00000aa-0000-4000-8000-000000000001';
reset role;
-- the claims are transaction-local: clear them, so what follows runs outside any request.
select set_config('request.jwt.claims', '', true);
select set_config('request.headers', '', true);

select results_eq(
  $$select action, actor_id, actor_role, request_id from public.audit_logs
     where table_name = 'templates' and row_id = 'f00000aa-0000-4000-8000-000000000001' order by id$$,
  $$values ('insert', 'f0000000-0000-4000-8000-00000000000b'::uuid, 'user', 'pgtap-req-1'),
           ('update', 'f0000000-0000-4000-8000-00000000000b'::uuid, 'user', 'pgtap-req-1'),
           ('delete', 'f0000000-0000-4000-8000-00000000000b'::uuid, 'user', 'pgtap-req-1')$$,
  'insert, update and delete of a template are recorded with the user as actor'
);
select is(
  (select changed_fields from public.audit_logs
    where table_name = 'templates' and row_id = 'f00000aa-0000-4000-8000-000000000001' and action = 'update'),
  '{"name": {"old": "pgtap template", "new": "pgtap template renamed"}}'::jsonb,
  'an update records only the changed columns, old and new'
);
select is(
  (select changed_fields ->> 'name' from public.audit_logs
    where table_name = 'templates' and row_id = 'f00000aa-0000-4000-8000-000000000001' and action = 'delete'),
  'pgtap template renamed', 'a delete records the row as it was'
);
select is(
  (select count(*)::int from public.audit_logs where table_name = 'templates' and row_id = 'f00000aa-0000-4000-8000-000000000001' and kind = 'data'),
  3, 'data changes are of kind data'
);

-- a no-op update (only updated_at moves) is not recorded.
insert into public.dashboards (id, name) values ('f00000aa-0000-4000-8000-000000000002', 'pgtap dashboard');
update public.dashboards set name = name where id = 'f00000aa-0000-4000-8000-000000000002';
select is(
  (select count(*)::int from public.audit_logs where table_name = 'dashboards' and row_id = 'f00000aa-0000-4000-8000-000000000002'),
  1, 'an update that changes nothing but updated_at is not recorded'
);
select is(
  (select actor_role from public.audit_logs where table_name = 'dashboards' and row_id = 'f00000aa-0000-4000-8000-000000000002'),
  'system', 'a change outside any request is recorded as the system'
);

-- composite keys become comma-joined row ids.
insert into public.notification_preferences (user_id, event_type, email)
  values ('f0000000-0000-4000-8000-00000000000c', 'pgtap.event', true);
select is(
  (select row_id from public.audit_logs where table_name = 'notification_preferences' order by id desc limit 1),
  'f0000000-0000-4000-8000-00000000000c,pgtap.event', 'a composite key is the row id, comma-joined'
);

-- ============================================================================
-- redaction
-- ============================================================================
insert into public.secrets (id, scope, name, ciphertext, nonce, key_id)
  values ('f00000aa-0000-4000-8000-000000000003', 'ai', 'pgtap key', '\xcafebabe', '\x000102030405060708090a0b', 'k1');
update public.secrets set ciphertext = '\xdeadbeef', key_id = 'k2' where id = 'f00000aa-0000-4000-8000-000000000003';
select is(
  (select changed_fields -> 'ciphertext' from public.audit_logs
    where table_name = 'secrets' and row_id = 'f00000aa-0000-4000-8000-000000000003' and action = 'insert'),
  '"[redacted]"'::jsonb, 'ciphertext is redacted on insert'
);
select is(
  (select changed_fields -> 'nonce' from public.audit_logs
    where table_name = 'secrets' and row_id = 'f00000aa-0000-4000-8000-000000000003' and action = 'insert'),
  '"[redacted]"'::jsonb, 'the nonce is redacted on insert'
);
select is(
  (select changed_fields from public.audit_logs
    where table_name = 'secrets' and row_id = 'f00000aa-0000-4000-8000-000000000003' and action = 'update'),
  '{"ciphertext": {"old": "[redacted]", "new": "[redacted]"}, "key_id": {"old": "k1", "new": "k2"}}'::jsonb,
  'an update says the ciphertext changed without showing it; the key id is shown'
);
select is_empty(
  $$select 1 from public.audit_logs where changed_fields::text like '%cafebabe%' or changed_fields::text like '%deadbeef%'$$,
  'no ciphertext bytes anywhere in the log'
);
select ok(app_private.audit_is_secret_column('refresh_token'), 'refresh_token is a credential column');
select ok(app_private.audit_is_secret_column('smtp_password'), 'smtp_password is a credential column');
select ok(not app_private.audit_is_secret_column('name'), 'name is not');

-- enable_audit: one line puts another table under the trail, and running it twice is harmless.
create table public.pgtap_audited (id int primary key, client_secret text, label text);
select lives_ok($$select app_private.enable_audit('public.pgtap_audited')$$, 'enable_audit attaches the trigger');
select lives_ok($$select app_private.enable_audit('public.pgtap_audited')$$, 'enable_audit is idempotent');
insert into public.pgtap_audited values (1, 'hunter2', 'x');
select is(
  (select changed_fields from public.audit_logs where table_name = 'pgtap_audited'),
  '{"id": 1, "client_secret": "[redacted]", "label": "x"}'::jsonb,
  'one row per change, credentials redacted'
);
create table public.pgtap_keyless (label text);
select throws_ok($$select app_private.enable_audit('public.pgtap_keyless')$$, 'P0001', null,
  'enable_audit refuses a table without a primary key');

-- ============================================================================
-- purge: only through the function, only for service_role
-- ============================================================================
insert into public.audit_logs (occurred_at, action, kind) values (now() - interval '400 days', 'pgtap.ancient', 'security');
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select throws_ok($$select app_private.purge_audit_logs(30)$$, '42501', null, 'admins may not purge the audit log');
reset role;
set local role service_role;
select throws_ok($$delete from public.audit_logs where action = 'pgtap.ancient'$$, '42501', null,
  'service_role cannot delete audit entries directly');
select ok(app_private.purge_audit_logs(365) >= 1, 'service_role purges through the function');
select throws_ok($$select app_private.purge_audit_logs(0)$$, '22023', null, 'a retention below one day is refused');
reset role;
select is_empty($$select 1 from public.audit_logs where action = 'pgtap.ancient'$$, 'the ancient entry is gone');
select ok((select relforcerowsecurity from pg_class where oid = 'public.audit_logs'::regclass),
  'row-level security is forced again after the purge');

-- ============================================================================
-- users: admins only, never the last admin
-- ============================================================================
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000c","role":"authenticated","app_metadata":{"role":"viewer"}}', true);
select throws_ok($$select app_private.admin_list_users(10, 0)$$, '42501', null, 'a viewer may not list users');
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","app_metadata":{"role":"user"}}', true);
select throws_ok($$select app_private.admin_update_user('f0000000-0000-4000-8000-00000000000b', 'admin', null)$$,
  '42501', null, 'a user may not promote themselves');
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000a","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select ok((select count(*) from app_private.admin_list_users(1000, 0)) >= 3, 'an admin lists users');
select throws_ok($$select app_private.admin_update_user('f0000000-0000-4000-8000-00000000000a', 'user', null)$$,
  'P0001', null, 'the last admin cannot be demoted');
select throws_ok($$select app_private.admin_update_user('f0000000-0000-4000-8000-00000000000a', null, true)$$,
  'P0001', null, 'the last admin cannot be banned');
select throws_ok($$select app_private.admin_delete_user('f0000000-0000-4000-8000-00000000000a')$$,
  'P0001', null, 'the last admin cannot be deleted');
select is(
  app_private.admin_update_user('f0000000-0000-4000-8000-00000000000b', 'admin', null) #>> '{app_metadata,role}',
  'admin', 'an admin promotes a user (app_metadata.role)'
);
select is(
  app_private.admin_update_user('f0000000-0000-4000-8000-00000000000a', 'viewer', null) #>> '{app_metadata,role}',
  'viewer', 'with a second admin, the first may step down'
);
reset role;

-- ============================================================================
-- integration metadata: readable by admins, the ciphertext still not
-- ============================================================================
set local role authenticated;
select set_config('request.jwt.claims', '{"sub":"f0000000-0000-4000-8000-00000000000b","role":"authenticated","app_metadata":{"role":"admin"}}', true);
select lives_ok($$select metadata from public.secrets$$, 'admins read the metadata of secrets');
select throws_ok($$select ciphertext from public.secrets$$, '42501', null, 'and still not their ciphertext');
reset role;

-- ============================================================================
-- notification recipients: service_role only
-- ============================================================================
set local role authenticated;
select throws_ok($$select * from app_private.notification_recipient('f0000000-0000-4000-8000-00000000000b')$$,
  '42501', null, 'clients cannot look up where a user is reached');
reset role;
set local role service_role;
select results_eq(
  $$select email from app_private.notification_recipient('f0000000-0000-4000-8000-00000000000b')$$,
  $$values ('pgtap.user@example.com')$$,
  'service_role finds the email address of a user'
);
reset role;

select * from finish();
rollback;
