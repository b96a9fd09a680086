-- import tables (V7): only service_role may create them, only registered names with valid
-- identifiers and types are accepted, every table gets rls (enabled and forced) with the
-- analytics access matrix (members read, admins delete, service_role all, anon nothing), and
-- removing the registry row drops the table. also the sync columns V7 adds.

begin;
select plan(35);

insert into auth.users (id, aud, role, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
values
  ('f0000000-0000-4000-8000-0000000000a7', 'authenticated', 'authenticated', 'pgtap.imports.admin@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000b7', 'authenticated', 'authenticated', 'pgtap.imports.user@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{}', now(), now()),
  ('f0000000-0000-4000-8000-0000000000c7', 'authenticated', 'authenticated', 'pgtap.imports.viewer@example.com', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{}', now(), now())
on conflict (id) do nothing;

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

create function pg_temp.claims(sub text, app_role text) returns text
language sql
as $fn$
  select format('{"sub":"%s","role":"authenticated","aud":"authenticated","app_metadata":{"role":"%s"}}', sub, app_role)
$fn$;

-- schema and columns
select has_schema('imports', 'the imports schema exists');
select has_function('app_private', 'create_import_table', array['text', 'jsonb', 'text[]'], 'create_import_table exists');
select has_column('public', 'data_sources', 'sync_cursor', 'data_sources.sync_cursor exists');
select has_column('public', 'sync_logs', 'checkpoint', 'sync_logs.checkpoint exists');
select has_column('public', 'sync_logs', 'stream', 'sync_logs.stream exists');
select has_column('public', 'sync_logs', 'duration_ms', 'sync_logs.duration_ms exists');
select ok(
  not has_function_privilege('authenticated', 'app_private.create_import_table(text, jsonb, text[])', 'execute'),
  'authenticated may not create import tables directly'
);
select ok(
  not has_function_privilege('anon', 'app_private.create_import_table(text, jsonb, text[])', 'execute'),
  'anon may not create import tables'
);
select ok(
  has_function_privilege('service_role', 'app_private.create_import_table(text, jsonb, text[])', 'execute'),
  'service_role may create import tables'
);

-- creating: registered names only, validated identifiers and types
insert into public.import_tables (table_name, columns)
values ('pgtap_sales', '[{"name": "day", "type": "date"}, {"name": "amount", "type": "numeric"}]'),
       ('pgtap_bad', '[]'),
       ('pgtap_keyed', '[{"name": "sku", "type": "text"}, {"name": "qty", "type": "bigint"}]');

set local role service_role;
select throws_ok(
  $$select app_private.create_import_table('pgtap_unregistered', '[{"name": "a", "type": "text"}]')$$,
  '22023', null, 'an unregistered table is refused'
);
select throws_ok(
  $$select app_private.create_import_table('Bad Name', '[{"name": "a", "type": "text"}]')$$,
  '22023', null, 'an invalid table name is refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[{"name": "a; drop table x", "type": "text"}]')$$,
  '22023', null, 'an invalid column name is refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[{"name": "a", "type": "text; drop table x"}]')$$,
  '22023', null, 'an unknown column type is refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[{"name": "a", "type": "text"}, {"name": "a", "type": "text"}]')$$,
  '22023', null, 'a duplicate column is refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[{"name": "_row_id", "type": "text"}]')$$,
  '22023', null, 'reserved column names are refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[]')$$,
  '22023', null, 'no columns is refused'
);
select throws_ok(
  $$select app_private.create_import_table('pgtap_bad', '[{"name": "a", "type": "text"}]', array['b'])$$,
  '22023', null, 'a key column that is not a column is refused'
);
select lives_ok(
  $$select app_private.create_import_table('pgtap_keyed', '[{"name": "sku", "type": "text"}, {"name": "qty", "type": "bigint"}]', array['sku'])$$,
  'a keyed import table is created'
);
select lives_ok(
  $$select app_private.create_import_table('pgtap_sales', '[{"name": "day", "type": "date"}, {"name": "amount", "type": "numeric"}]')$$,
  'service_role creates a registered import table'
);
insert into imports.pgtap_sales (day, amount) values ('2024-01-01', 1.5), ('2024-01-02', 2.5);
reset role;

select has_table('imports', 'pgtap_sales', 'the import table exists');
select is(
  (select indexdef from pg_indexes where schemaname = 'imports' and indexname = 'pgtap_keyed_key'),
  'CREATE UNIQUE INDEX pgtap_keyed_key ON imports.pgtap_keyed USING btree (sku)',
  'the natural key is a unique index'
);
select col_type_is('imports', 'pgtap_sales', 'amount', 'numeric', 'columns get the declared types');
select col_is_pk('imports', 'pgtap_sales', '_row_id', '_row_id is the primary key');
select ok(
  (select relrowsecurity and relforcerowsecurity from pg_class where oid = 'imports.pgtap_sales'::regclass),
  'rls is enabled and forced'
);

-- the access matrix
set local role anon;
select set_config('request.jwt.claims', '{"role":"anon"}', true);
select throws_ok($$select * from imports.pgtap_sales$$, '42501', null, 'anon: may not read an import table');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims('f0000000-0000-4000-8000-0000000000c7', 'viewer'), true);
select is((select count(*)::int from imports.pgtap_sales), 2, 'viewer: reads every row');
select throws_ok($$insert into imports.pgtap_sales (day, amount) values ('2024-01-03', 1)$$, '42501', null, 'viewer: cannot insert');
select is(pg_temp.rows_affected($$delete from imports.pgtap_sales$$), 0, 'viewer: deletes nothing');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims('f0000000-0000-4000-8000-0000000000b7', 'user'), true);
select is((select count(*)::int from imports.pgtap_sales), 2, 'user: reads every row');
select throws_ok($$update imports.pgtap_sales set amount = 0$$, '42501', null, 'user: cannot update');
select is(pg_temp.rows_affected($$delete from imports.pgtap_sales$$), 0, 'user: deletes nothing');
reset role;

set local role authenticated;
select set_config('request.jwt.claims', pg_temp.claims('f0000000-0000-4000-8000-0000000000a7', 'admin'), true);
select throws_ok($$insert into imports.pgtap_sales (day, amount) values ('2024-01-03', 1)$$, '42501', null, 'admin: cannot insert (imports write)');
select is(pg_temp.rows_affected($$delete from imports.pgtap_sales where amount = 1.5$$), 1, 'admin: deletes rows');
reset role;

set local role service_role;
select is(pg_temp.rows_affected($$update imports.pgtap_sales set amount = 3$$), 1, 'service_role: updates rows');
reset role;

-- removing the registry row removes the table
delete from public.import_tables where table_name = 'pgtap_sales';
select hasnt_table('imports', 'pgtap_sales', 'deleting the registry row drops the table');

select * from finish();
rollback;
