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

-- the row as json with credential-like columns redacted.
create or replace function app_private.audit_redact(r jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$
  select coalesce(jsonb_object_agg(
           key,
           case when app_private.audit_is_secret_column(key) and value <> 'null'::jsonb
                then '"[redacted]"'::jsonb else value end),
         '{}'::jsonb)
  from jsonb_each(r)
$$;

-- after insert/update/delete for each row. arguments (set by enable_audit):
--   tg_argv[0]  the primary-key columns, comma-separated (the row id is their values,
--               comma-joined)
--   tg_argv[1]  columns whose changes alone are not worth a row (comma-separated), e.g.
--               counters the dispatcher bumps; updated_at is always ignored.
-- the actor is whoever the request scope says (auth.uid() and the app role); work done
-- outside any request (migrations, maintenance) is recorded as 'system'.
create or replace function app_private.audit_row_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  pk_columns text[] := string_to_array(coalesce(tg_argv[0], 'id'), ',');
  ignored text[] := array['updated_at'] || string_to_array(coalesce(nullif(tg_argv[1], ''), ''), ',');
  old_row jsonb := case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end;
  new_row jsonb := case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end;
  subject jsonb := coalesce(new_row, old_row);
  changes jsonb;
  headers jsonb;
begin
  if tg_op = 'UPDATE' then
    select jsonb_object_agg(
             n.key,
             case when app_private.audit_is_secret_column(n.key)
                  then jsonb_build_object('old', '[redacted]', 'new', '[redacted]')
                  else jsonb_build_object('old', old_row -> n.key, 'new', n.value) end)
      into changes
      from jsonb_each(new_row) n
     where n.value is distinct from old_row -> n.key
       and n.key <> all (ignored);
    if changes is null then
      return null;
    end if;
  else
    changes := app_private.audit_redact(subject);
  end if;

  begin
    headers := nullif(current_setting('request.headers', true), '')::jsonb;
  exception when others then
    headers := null;
  end;

  insert into public.audit_logs (actor_id, actor_role, action, table_name, row_id, changed_fields, kind, request_id)
  values (
    auth.uid(),
    coalesce(app_private.current_app_role(), nullif(auth.role(), ''), 'system'),
    lower(tg_op),
    tg_table_name,
    (select string_agg(subject ->> c, ',') from unnest(pk_columns) c),
    changes,
    'data',
    headers ->> 'x-request-id'
  );
  return null;
end
$$;

comment on function app_private.audit_row_change() is
  'audit trigger: records actor, action, table, row id and changed fields (credentials redacted) in audit_logs.';

-- attaches the audit trigger to a table, idempotently. later migrations of any domain add
-- a table to the trail with one line: select app_private.enable_audit('public.things');
create or replace function app_private.enable_audit(target regclass, ignored_columns text[] default '{}')
returns void
language plpgsql
set search_path = ''
as $$
declare
  pk text;
begin
  select string_agg(a.attname, ',' order by array_position(i.indkey::int2[], a.attnum))
    into pk
    from pg_catalog.pg_index i
    join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
   where i.indrelid = target and i.indisprimary;
  if pk is null then
    raise exception 'enable_audit: % has no primary key to identify rows by', target;
  end if;
  execute format('drop trigger if exists audit_row_change on %s', target);
  execute format(
    'create trigger audit_row_change after insert or update or delete on %s
       for each row execute function app_private.audit_row_change(%L, %L)',
    target, pk, array_to_string(ignored_columns, ','));
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
