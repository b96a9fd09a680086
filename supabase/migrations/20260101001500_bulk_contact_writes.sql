-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V15__bulk_contact_writes.sql

-- two costs of bulk contact writes.
--
-- 1. is_valid_time_zone (the check on every time_zone column) looked the name up in
--    pg_timezone_names, a view that reads the whole time-zone database from disk on each
--    call: about 28 ms per row, so an import of contacts with time zones ran at tens of rows
--    a second. the names are now kept in a table, filled here from the same view, and the
--    view is consulted only for a name the table lacks (one the server's time-zone data
--    gained since this migration ran, or an invalid name, which is refused as before).
--
-- 2. the audit trigger's update branch wrote `to_jsonb(t)` inside subqueries that postgres
--    flattens, so the row was converted to json again for every column compared (about
--    twenty times per row). `offset 0` keeps each side a subquery of its own: each row is
--    converted once. the function is otherwise as in V5.

create table app_private.time_zone_names (name text primary key);

comment on table app_private.time_zone_names is
  'the server''s time-zone names, so validating a time zone is an index probe (see is_valid_time_zone).';

insert into app_private.time_zone_names (name)
select distinct name from pg_catalog.pg_timezone_names;

revoke all on app_private.time_zone_names from public;
grant select on app_private.time_zone_names to anon, authenticated, service_role;

create or replace function app_private.is_valid_time_zone(tz text) returns boolean
language sql stable security invoker
set search_path = ''
as $$
  select tz is not null
     and (exists (select 1 from app_private.time_zone_names where name = tz)
          or exists (select 1 from pg_catalog.pg_timezone_names where name = tz))
$$;

create or replace function app_private.audit_row_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  pk text[] := string_to_array(coalesce(tg_argv[0], 'id'), ',');
  ignored text[] := array['updated_at'] || string_to_array(coalesce(tg_argv[1], ''), ',');
  secret_columns text[];
  actor uuid := auth.uid();
  actor_role text := coalesce(app_private.current_app_role(), nullif(auth.role(), ''), 'system');
  request_id text;
begin
  select coalesce(array_agg(a.attname::text), '{}') into secret_columns
    from pg_catalog.pg_attribute a
   where a.attrelid = tg_relid and a.attnum > 0 and not a.attisdropped
     and app_private.audit_is_secret_column(a.attname);
  begin
    request_id := nullif(current_setting('request.headers', true), '')::jsonb ->> 'x-request-id';
  exception when others then
    request_id := null;
  end;

  if tg_op = 'INSERT' then
    insert into public.audit_logs (actor_id, actor_role, action, table_name, row_id, changed_fields, kind, request_id)
    select actor, actor_role, 'insert', tg_table_name, app_private.audit_row_id(n.r, pk),
           app_private.audit_redact(n.r, secret_columns), 'data', request_id
      from (select to_jsonb(t) as r from audit_new t) n;
  elsif tg_op = 'DELETE' then
    insert into public.audit_logs (actor_id, actor_role, action, table_name, row_id, changed_fields, kind, request_id)
    select actor, actor_role, 'delete', tg_table_name, app_private.audit_row_id(o.r, pk),
           app_private.audit_redact(o.r, secret_columns), 'data', request_id
      from (select to_jsonb(t) as r from audit_old t) o;
  else
    -- old and new rows are paired by their key; a row whose key itself changed has no old
    -- partner and is recorded with every column as new.
    insert into public.audit_logs (actor_id, actor_role, action, table_name, row_id, changed_fields, kind, request_id)
    select actor, actor_role, 'update', tg_table_name, n.id, d.changes, 'data', request_id
      from (select j.r, app_private.audit_row_id(j.r, pk) as id
              from (select to_jsonb(t) as r from audit_new t offset 0) j) n
      left join (select j.r, app_private.audit_row_id(j.r, pk) as id
                   from (select to_jsonb(t) as r from audit_old t offset 0) j) o
        on o.id = n.id
      cross join lateral (
        select jsonb_object_agg(
                 k.key,
                 case when k.key = any (secret_columns)
                      then '{"old": "[redacted]", "new": "[redacted]"}'::jsonb
                      else jsonb_build_object('old', o.r -> k.key, 'new', k.value) end) as changes
          from jsonb_each(n.r) k
         where k.value is distinct from o.r -> k.key
           and k.key <> all (ignored)
      ) d
     where d.changes is not null;
  end if;
  return null;
end
$$;
