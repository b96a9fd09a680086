-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V7__imports.sql

-- imports: tables created from imported files (csv uploads, custom connector tables).
--
-- each import table lives in the `imports` schema, apart from the application's own tables,
-- so no uploaded file can collide with or shadow them. tables are created only through
-- app_private.create_import_table, which service_role alone may call, after the caller's
-- right to import has been checked by rls on public.import_tables (the registry row is
-- inserted as the caller first). names are validated twice: by the registry's check
-- constraint and here, and always quoted with format('%I').
--
-- access follows analytics data: members read, admins delete, service_role all; anon nothing.

create schema if not exists imports;

comment on schema imports is 'tables created by imports; one per public.import_tables row.';

revoke all on schema imports from public;
grant usage on schema imports to authenticated, service_role;

-- the column types an import may declare (mirrors gimbal-import's ColumnType).
create function app_private.import_column_types() returns text[]
language sql
immutable
set search_path = ''
as $$
  select array['boolean', 'bigint', 'numeric', 'date', 'timestamp', 'timestamptz', 'text']
$$;

-- the natural key of an import table: re-imports upsert on it instead of appending.
alter table public.import_tables add column key_columns text[] not null default '{}';

comment on column public.import_tables.key_columns is 'natural key of the table (unique); empty when rows are only appended.';

-- creates imports.<p_table> with the registered columns, rls enabled and forced, and the
-- access matrix's policies. p_columns: [{"name": "...", "type": "..."}, ...]; p_key: column
-- names that get a unique index, so re-imports can upsert on them.
create function app_private.create_import_table(p_table text, p_columns jsonb, p_key text[] default '{}')
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  col jsonb;
  names text[] := '{}';
  definitions text[] := '{}';
  col_name text;
  col_type text;
  key_name text;
begin
  if p_table is null or p_table !~ '^[a-z][a-z0-9_]{0,62}$' then
    raise exception 'invalid import table name %', p_table using errcode = '22023';
  end if;
  if not exists (select from public.import_tables where table_name = p_table) then
    raise exception 'import table % is not registered', p_table using errcode = '22023';
  end if;
  if jsonb_typeof(p_columns) is distinct from 'array'
     or jsonb_array_length(p_columns) = 0
     or jsonb_array_length(p_columns) > 1000 then
    raise exception 'columns must be a non-empty array of at most 1000' using errcode = '22023';
  end if;
  for col in select value from jsonb_array_elements(p_columns) loop
    col_name := col ->> 'name';
    col_type := col ->> 'type';
    if col_name is null or col_name !~ '^[a-z_][a-z0-9_]{0,62}$' or col_name like '\_row%' then
      raise exception 'invalid column name %', col_name using errcode = '22023';
    end if;
    if col_type is null or not (col_type = any (app_private.import_column_types())) then
      raise exception 'invalid column type % for %', col_type, col_name using errcode = '22023';
    end if;
    if col_name = any (names) then
      raise exception 'column % appears twice', col_name using errcode = '22023';
    end if;
    names := names || col_name;
    definitions := definitions || format('%I %s', col_name, col_type);
  end loop;

  -- _row_id keeps file order and gives postgrest and realtime a primary key. identity
  -- sequences need no grant: inserts draw from them without a privilege check.
  execute format(
    'create table imports.%I (_row_id bigint generated always as identity primary key, %s)',
    p_table, array_to_string(definitions, ', '));
  execute format('comment on table imports.%I is %L', p_table,
    'imported rows; registered in public.import_tables. members read; admins delete; service_role all.');
  execute format('alter table imports.%I enable row level security', p_table);
  execute format('alter table imports.%I force row level security', p_table);
  execute format('revoke all on imports.%I from public, anon, authenticated', p_table);
  execute format('grant select, delete on imports.%I to authenticated', p_table);
  execute format('grant select, insert, update, delete on imports.%I to service_role', p_table);
  execute format(
    'create policy %I on imports.%I for select to authenticated using ((select app_private.is_member()))',
    p_table || '_select', p_table);
  execute format(
    'create policy %I on imports.%I for delete to authenticated using ((select app_private.is_admin()))',
    p_table || '_delete', p_table);
  if cardinality(p_key) > 0 then
    foreach key_name in array p_key loop
      if not (key_name = any (names)) then
        raise exception 'key column % is not a column of the table', key_name using errcode = '22023';
      end if;
    end loop;
    execute format('create unique index %I on imports.%I (%s)',
      left(p_table, 58) || '_key', p_table,
      (select string_agg(format('%I', k), ', ') from unnest(p_key) as k));
  end if;
end;
$$;

comment on function app_private.create_import_table(text, jsonb, text[]) is
  'creates a registered import table with rls and the analytics access policies. service_role only.';

revoke all on function app_private.create_import_table(text, jsonb, text[]) from public, anon, authenticated;
grant execute on function app_private.create_import_table(text, jsonb, text[]) to service_role;

-- removing a registry row removes its table, so nothing is left unregistered (and so
-- unreachable by policy review). runs as the owner: only rls decides who may delete the row.
create function app_private.drop_import_table() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  execute format('drop table if exists imports.%I', old.table_name);
  return old;
end;
$$;

revoke all on function app_private.drop_import_table() from public, anon, authenticated;

create trigger import_tables_drop_table
  after delete on public.import_tables
  for each row execute function app_private.drop_import_table();

-- ---------------------------------------------------------------------------
-- sync runs: resumable checkpoints and the source's saved cursor
-- ---------------------------------------------------------------------------

-- the cursor the last successful run reached (a date, a key…); the next run starts there,
-- less the connector's lookback window.
alter table public.data_sources add column sync_cursor jsonb;

-- where a running sync resumes: the position of the next page, written in the same
-- transaction as the page before it, so a killed run neither skips nor repeats a page.
alter table public.sync_logs add column checkpoint jsonb;
-- the stream the run reads (a ga4 report, a meta insights level, a table).
alter table public.sync_logs add column stream text;
alter table public.sync_logs add column duration_ms bigint;

comment on column public.sync_logs.checkpoint is 'position of the next page while a run is in progress; null once finished.';
