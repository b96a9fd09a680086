-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V5__admin.sql

-- admin: the audit trail's triggers and retention, the last-admin guard, user management
-- over the local auth.users (the stand-in for supabase auth's admin api), integration
-- metadata on secrets, and the lookup notifications use to reach a user.
--
-- every function here lives in app_private (not exposed by the api). the security definer
-- ones pin search_path to '' and check the caller's application role themselves.

-- ---------------------------------------------------------------------------
-- audit trail: one generic row trigger
-- ---------------------------------------------------------------------------
-- a column whose name looks like a credential is never written to the audit log, in any
-- table: its value is replaced by '[redacted]' (an update still says that it changed).
create or replace function app_private.audit_is_secret_column(column_name text) returns boolean
language sql immutable
set search_path = ''
as $$
  select column_name ~* '(password|passwd|token|secret|ciphertext|nonce|api_?key|private_?key|credential)'
$$;

-- the row id: the primary-key values, comma-joined when the key has several columns.
-- (no `set search_path` on this and audit_redact: a set clause would stop postgres inlining
-- them into the trigger's queries, which costs bulk writes dearly; they name no relation,
-- and the operators they use resolve in pg_catalog, which is always searched first.)
create or replace function app_private.audit_row_id(r jsonb, pk text[]) returns text
language sql immutable
as $$
  select case when cardinality(pk) = 1 then r ->> pk[1]
              else (select string_agg(r ->> c, ',' order by o) from unnest(pk) with ordinality u(c, o)) end
$$;

-- the row with its credential columns (named in `secret_columns`) replaced by '[redacted]'.
create or replace function app_private.audit_redact(r jsonb, secret_columns text[]) returns jsonb
language sql immutable
as $$
  select case when cardinality(secret_columns) = 0 then r
              else r || coalesce((select jsonb_object_agg(c, '[redacted]') from unnest(secret_columns) c
                                   where r -> c is not null and r -> c <> 'null'::jsonb), '{}'::jsonb) end
$$;

-- the audit trigger: after insert, update or delete, once per statement, over the statement's
-- transition tables (audit_new, audit_old), so a bulk write costs one insert into the log,
-- not one per row. arguments (set by enable_audit):
--   tg_argv[0]  the primary-key columns, comma-separated (they make the row id)
--   tg_argv[1]  columns whose changes alone are not worth a row (comma-separated), e.g.
--               counters the dispatcher bumps; updated_at is always ignored, and ignored
--               columns are not recorded.
-- inserts and deletes record the row; updates record only the changed columns as
-- {"old": …, "new": …}, and an update that changed nothing else records nothing. the actor is
-- whoever the request scope says (auth.uid() and the app role); work done outside any
-- request (migrations, maintenance) is recorded as 'system'. credential columns are looked
-- up once per statement, so a column added later is redacted without re-attaching.
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
      from (select to_jsonb(t) as r, app_private.audit_row_id(to_jsonb(t), pk) as id from audit_new t) n
      left join (select to_jsonb(t) as r, app_private.audit_row_id(to_jsonb(t), pk) as id from audit_old t) o
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

comment on function app_private.audit_row_change() is
  'audit trigger (per statement): records actor, action, table, row id and changed fields (credentials redacted) in audit_logs.';

-- puts a table under the audit trail (three statement triggers: audit_insert, audit_update,
-- audit_delete), idempotently. later migrations of any domain add a table with one line:
--   select app_private.enable_audit('public.things');
create or replace function app_private.enable_audit(target regclass, ignored_columns text[] default '{}')
returns void
language plpgsql
set search_path = ''
as $$
declare
  pk text;
  args text;
begin
  select string_agg(a.attname, ',' order by array_position(i.indkey::int2[], a.attnum))
    into pk
    from pg_catalog.pg_index i
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
   where i.indrelid = target and i.indisprimary;
  if pk is null then
    raise exception 'enable_audit: % has no primary key to identify rows by', target;
  end if;
  args := format('%L, %L', pk, array_to_string(ignored_columns, ','));
  execute format('drop trigger if exists audit_insert on %s', target);
  execute format('drop trigger if exists audit_update on %s', target);
  execute format('drop trigger if exists audit_delete on %s', target);
  execute format(
    'create trigger audit_insert after insert on %s referencing new table as audit_new
       for each statement execute function app_private.audit_row_change(%s)', target, args);
  execute format(
    'create trigger audit_update after update on %s referencing old table as audit_old new table as audit_new
       for each statement execute function app_private.audit_row_change(%s)', target, args);
  execute format(
    'create trigger audit_delete after delete on %s referencing old table as audit_old
       for each statement execute function app_private.audit_row_change(%s)', target, args);
end
$$;

comment on function app_private.enable_audit(regclass, text[]) is
  'puts a table under the audit trail (insert, update, delete); ignored_columns are changes not worth a row.';

revoke all on function app_private.enable_audit(regclass, text[]) from public;
revoke all on function app_private.audit_row_change() from public;

-- the business tables: what people and their integrations create and change. left out,
-- on purpose: audit_logs itself; notifications (per-user inbox, system-written, high
-- volume); jobs (the queue churns on every attempt); sms_messages, email_messages and
-- message_events (one row per message and provider event: volume, and their history is
-- already the events); imported_data and analytics_data (bulk sync output, rewritten by
-- every import); sync_logs (a log itself).
select app_private.enable_audit('public.app_settings');
select app_private.enable_audit('public.secrets');
select app_private.enable_audit('public.notification_preferences');
select app_private.enable_audit('public.cron_schedules', array['next_run_at', 'last_run_at', 'last_job_id']);
select app_private.enable_audit('public.contacts');
select app_private.enable_audit('public.audiences');
select app_private.enable_audit('public.audience_contacts');
select app_private.enable_audit('public.contact_consents');
select app_private.enable_audit('public.suppressions');
select app_private.enable_audit('public.templates');
select app_private.enable_audit('public.campaigns', array['stats']);
select app_private.enable_audit('public.data_sources', array['last_synced_at']);
select app_private.enable_audit('public.import_tables');
select app_private.enable_audit('public.reports');
select app_private.enable_audit('public.dashboards');

-- the admin query filters by kind, action and time.
create index audit_logs_kind_occurred_at_idx on public.audit_logs (kind, occurred_at);

-- ---------------------------------------------------------------------------
-- audit retention: the log stays append-only for every api role; only this function
-- (run by the scheduled job, as service_role) removes entries older than the period.
-- ---------------------------------------------------------------------------
create or replace function app_private.purge_audit_logs(older_than_days integer) returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  deleted bigint;
begin
  if older_than_days is null or older_than_days < 1 then
    raise exception 'purge_audit_logs: older_than_days must be at least 1' using errcode = '22023';
  end if;
  -- no policy admits a delete, and the owner is subject to the table's forced rls; forcing
  -- is lifted for this transaction only (the exclusive lock it takes keeps every other
  -- session out until commit, when the table is forced again).
  alter table public.audit_logs no force row level security;
  delete from public.audit_logs where occurred_at < now() - make_interval(days => older_than_days);
  get diagnostics deleted = row_count;
  alter table public.audit_logs force row level security;
  return deleted;
end
$$;

revoke all on function app_private.purge_audit_logs(integer) from public, anon, authenticated;
grant execute on function app_private.purge_audit_logs(integer) to service_role;

-- ---------------------------------------------------------------------------
-- the last admin: nobody may demote, ban or delete the last active admin
-- ---------------------------------------------------------------------------
create or replace function app_private.is_active_admin(u auth.users) returns boolean
language sql stable
set search_path = ''
as $$
  select coalesce(u.raw_app_meta_data ->> 'role' = 'admin', false)
     and u.deleted_at is null
     and (u.banned_until is null or u.banned_until <= now())
$$;

-- called before any change that takes admin rights away from `target` (demotion, ban,
-- deletion). every such change takes the same transaction-level advisory lock first, so
-- two admins demoting each other are serialised: the second sees the first's committed
-- change and is refused. raises sqlstate P0001 with a message starting 'last admin'.
create or replace function app_private.guard_last_admin(target uuid) returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_advisory_xact_lock(hashtext('gimbal.last_admin'));
  if exists (select 1 from auth.users u where u.id = target and app_private.is_active_admin(u))
     and not exists (select 1 from auth.users u where u.id <> target and app_private.is_active_admin(u)) then
    raise exception 'last admin: % is the only active admin; make another user admin first', target
      using errcode = 'P0001';
  end if;
end
$$;

revoke all on function app_private.guard_last_admin(uuid) from public, anon;
grant execute on function app_private.guard_last_admin(uuid) to authenticated, service_role;

-- user management is for admins and the service role; anyone else gets 42501.
create or replace function app_private.require_admin() returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if coalesce(app_private.current_app_role() in ('admin', 'service_role'), false) is false then
    raise exception 'only admins may manage users' using errcode = '42501';
  end if;
end
$$;

grant execute on function app_private.require_admin() to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- local user management over auth.users (what `gimbal dev` uses instead of the auth
-- admin api). users come back in the shape gotrue's admin api answers with.
-- ---------------------------------------------------------------------------
create or replace function app_private.auth_user_json(u auth.users) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', u.id,
    'aud', u.aud,
    'role', u.role,
    'email', u.email,
    'phone', coalesce(u.phone, ''),
    'app_metadata', coalesce(u.raw_app_meta_data, '{}'::jsonb),
    'user_metadata', coalesce(u.raw_user_meta_data, '{}'::jsonb),
    'email_confirmed_at', u.email_confirmed_at,
    'invited_at', u.invited_at,
    'last_sign_in_at', u.last_sign_in_at,
    'banned_until', u.banned_until,
    'created_at', u.created_at,
    'updated_at', u.updated_at)
$$;

create or replace function app_private.admin_list_users(page_size integer, page_offset integer)
returns setof jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app_private.require_admin();
  return query
    select app_private.auth_user_json(u) from auth.users u
     where u.deleted_at is null
     order by u.created_at, u.id
     limit page_size offset page_offset;
end
$$;

create or replace function app_private.admin_get_user(target uuid) returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app_private.require_admin();
  return (select app_private.auth_user_json(u) from auth.users u where u.id = target and u.deleted_at is null);
end
$$;

-- invite: the user confirms later (invited_at set); create: confirmed at once.
create or replace function app_private.admin_create_user(email text, app_role text, invite boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  created auth.users;
begin
  perform app_private.require_admin();
  insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, invited_at,
                          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
  values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated', 'authenticated',
          lower(email), '', case when invite then null else now() end, case when invite then now() end,
          jsonb_build_object('provider', 'email', 'providers', jsonb_build_array('email'), 'role', app_role),
          '{}'::jsonb, now(), now())
  returning * into created;
  return app_private.auth_user_json(created);
end
$$;

-- sets the app role (merged into app_metadata, as gotrue merges it) and/or the ban.
-- banned: true bans until far in the future, false lifts a ban, null leaves it.
create or replace function app_private.admin_update_user(target uuid, app_role text, banned boolean)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  updated auth.users;
begin
  perform app_private.require_admin();
  if (app_role is not null and app_role <> 'admin') or banned then
    perform app_private.guard_last_admin(target);
  end if;
  update auth.users u
     set raw_app_meta_data = case when app_role is null then u.raw_app_meta_data
                                  else coalesce(u.raw_app_meta_data, '{}'::jsonb) || jsonb_build_object('role', app_role) end,
         banned_until = case when banned is null then u.banned_until
                             when banned then now() + interval '100 years'
                             else null end,
         updated_at = now()
   where u.id = target and u.deleted_at is null
  returning * into updated;
  if updated.id is null then
    return null;
  end if;
  return app_private.auth_user_json(updated);
end
$$;

create or replace function app_private.admin_delete_user(target uuid) returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform app_private.require_admin();
  perform app_private.guard_last_admin(target);
  delete from auth.users where id = target;
  return found;
end
$$;

revoke all on function
  app_private.admin_list_users(integer, integer),
  app_private.admin_get_user(uuid),
  app_private.admin_create_user(text, text, boolean),
  app_private.admin_update_user(uuid, text, boolean),
  app_private.admin_delete_user(uuid)
from public, anon;
grant execute on function
  app_private.admin_list_users(integer, integer),
  app_private.admin_get_user(uuid),
  app_private.admin_create_user(text, text, boolean),
  app_private.admin_update_user(uuid, text, boolean),
  app_private.admin_delete_user(uuid)
to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- integrations: what a client may know about a stored credential without reading it
-- ---------------------------------------------------------------------------
-- e.g. {"fields": {"account_sid": {"set": true, "hint": "…3f2a"}, "auth_token": {"set": true}}}.
-- never a secret value: hints are only kept for identifiers (account sids, client ids).
alter table public.secrets add column metadata jsonb not null default '{}';
grant select (metadata) on public.secrets to authenticated;

-- ---------------------------------------------------------------------------
-- notifications: where to reach a user (email and phone live in auth.users, which no api
-- role may read). service_role only: notification delivery is server-side work.
-- ---------------------------------------------------------------------------
create or replace function app_private.notification_recipient(target uuid)
returns table (email text, phone text)
language sql stable
security definer
set search_path = ''
as $$
  select u.email::text, nullif(u.phone, '') from auth.users u where u.id = target and u.deleted_at is null
$$;

revoke all on function app_private.notification_recipient(uuid) from public, anon, authenticated;
grant execute on function app_private.notification_recipient(uuid) to service_role;

-- ---------------------------------------------------------------------------
-- notification events raised by the data: a `notifications.event` job per event, handled
-- by the worker (gimbal-notifications), which applies the user's preferences.
-- ---------------------------------------------------------------------------
-- a campaign's owner hears when it completes, or stops on errors (paused or failed).
create or replace function app_private.notify_campaign_status() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.status is distinct from old.status
     and new.status in ('completed', 'paused', 'failed')
     and new.created_by is not null then
    insert into public.jobs (kind, payload)
    values ('notifications.event', jsonb_build_object(
      'event_type', case new.status when 'completed' then 'campaign.completed' else 'campaign.paused' end,
      'user_id', new.created_by,
      'subject', jsonb_build_object('campaign_id', new.id, 'name', new.name, 'status', new.status, 'stats', new.stats)));
  end if;
  return null;
end
$$;

create trigger campaigns_notify_status
  after update of status on public.campaigns
  for each row execute function app_private.notify_campaign_status();

-- a data source's owner hears when a sync fails, or finishes having rejected rows.
create or replace function app_private.notify_sync_outcome() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  source public.data_sources;
  event text;
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return null;
  end if;
  event := case
    when new.status = 'failed' then 'sync.failed'
    when new.status = 'succeeded' and new.rows_rejected > 0 then 'import.completed_with_rejects'
  end;
  if event is null then
    return null;
  end if;
  select * into source from public.data_sources where id = new.data_source_id;
  if source.created_by is null then
    return null;
  end if;
  insert into public.jobs (kind, payload)
  values ('notifications.event', jsonb_build_object(
    'event_type', event,
    'user_id', source.created_by,
    'subject', jsonb_build_object(
      'sync_log_id', new.id, 'data_source_id', source.id, 'data_source_name', source.name,
      'error', new.error, 'rows_read', new.rows_read, 'rows_rejected', new.rows_rejected)));
  return null;
end
$$;

create trigger sync_logs_notify_outcome
  after insert or update of status on public.sync_logs
  for each row execute function app_private.notify_sync_outcome();

revoke all on function app_private.notify_campaign_status(), app_private.notify_sync_outcome() from public;
