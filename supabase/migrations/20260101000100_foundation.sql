-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V1__foundation.sql

-- foundation: the private helper schema, the application-role helpers every policy uses,
-- the shared updated_at trigger, and the cross-cutting tables: app settings, encrypted
-- secrets, the audit log and in-app notifications.
--
-- row-level security is enabled and forced here, as each table is created, so no table is
-- ever open between this migration and the policies (policies/*.sql) that grant access.

-- ---------------------------------------------------------------------------
-- app_private: helpers the api does not expose (postgrest serves public only)
-- ---------------------------------------------------------------------------
-- `if not exists`: the migrator creates the schema up front, before any migration runs.
create schema if not exists app_private;
grant usage on schema app_private to anon, authenticated, service_role;

-- the caller's application role, read once per statement by the policies as
-- `(select app_private.current_app_role())`.
--   'service_role'            trusted server code (service key, worker, webhooks)
--   null                      anon, or no claims at all
--   'admin' | 'user' | 'viewer'  signed-in users (role claim 'authenticated'): taken from
--                             app_metadata.role only; a missing or unknown role is the
--                             least privileged, 'viewer'.
-- user_metadata is deliberately never read: any signed-in user can rewrite it, so a role
-- placed there must grant nothing.
create or replace function app_private.current_app_role() returns text
language sql stable security invoker
set search_path = ''
as $$
  select case
    when auth.role() = 'service_role' or current_user = 'service_role' then 'service_role'
    when auth.role() is distinct from 'authenticated' then null
    when auth.jwt() -> 'app_metadata' ->> 'role' in ('admin', 'user', 'viewer')
      then auth.jwt() -> 'app_metadata' ->> 'role'
    else 'viewer'
  end
$$;

comment on function app_private.current_app_role() is
  'application role of the caller: service_role, admin, user, viewer, or null for anon. reads app_metadata only.';

create or replace function app_private.is_admin() returns boolean
language sql stable security invoker
set search_path = ''
as $$
  select coalesce(app_private.current_app_role() = 'admin', false)
$$;

-- users and admins may create and change business data; viewers only read.
create or replace function app_private.can_write() returns boolean
language sql stable security invoker
set search_path = ''
as $$
  select coalesce(app_private.current_app_role() in ('user', 'admin'), false)
$$;

-- any signed-in user (viewer, user or admin).
create or replace function app_private.is_member() returns boolean
language sql stable security invoker
set search_path = ''
as $$
  select coalesce(app_private.current_app_role() in ('viewer', 'user', 'admin'), false)
$$;

-- an iana zone name postgres knows ('Europe/Paris', 'UTC'). abbreviations and posix
-- offsets are rejected: quiet hours and schedules need real zone rules (dst).
create or replace function app_private.is_valid_time_zone(tz text) returns boolean
language sql stable security invoker
set search_path = ''
as $$
  select tz is not null
     and exists (select 1 from pg_catalog.pg_timezone_names where name = tz)
$$;

grant execute on function
  app_private.current_app_role(),
  app_private.is_admin(),
  app_private.can_write(),
  app_private.is_member(),
  app_private.is_valid_time_zone(text)
to anon, authenticated, service_role;

-- shared trigger: every table with an updated_at column keeps it current.
create or replace function public.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

comment on function public.set_updated_at() is 'before update trigger: stamps updated_at.';

-- ---------------------------------------------------------------------------
-- app_settings: company-wide configuration (name, postal address, quiet hours, limits)
-- ---------------------------------------------------------------------------
create table public.app_settings (
  key text primary key check (key ~ '^[a-z][a-z0-9_.]*$'),
  value jsonb not null,
  description text,
  updated_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- the default zone feeds quiet-hours and schedule maths: it must be a real zone.
  constraint app_settings_default_time_zone_valid check (
    key <> 'default_time_zone' or app_private.is_valid_time_zone(value #>> '{}')
  )
);

comment on table public.app_settings is 'company-wide settings, one json value per key. members read, admins write.';

create index app_settings_updated_by_idx on public.app_settings (updated_by);

-- who changed a setting last: the caller (null for service-role and maintenance writes).
create or replace function app_private.set_updated_by() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_by := auth.uid();
  return new;
end
$$;

create trigger app_settings_set_updated_at
  before update on public.app_settings
  for each row execute function public.set_updated_at();

create trigger app_settings_set_updated_by
  before update on public.app_settings
  for each row execute function app_private.set_updated_by();

alter table public.app_settings enable row level security;
alter table public.app_settings force row level security;

revoke all on public.app_settings from anon;
grant select, insert, update, delete on public.app_settings to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- secrets: provider api keys, data-source credentials, ai keys (aes-256-gcm at rest)
-- ---------------------------------------------------------------------------
-- the database never sees clear text: the service encrypts with a key from its
-- environment (key_id names it, for rotation) and stores ciphertext + nonce.
create table public.secrets (
  id uuid primary key default gen_random_uuid(),
  scope text not null check (scope in ('provider', 'data_source', 'ai')),
  name text not null check (length(name) between 1 and 200),
  -- what the secret belongs to, e.g. 'twilio' or 'data_source:<uuid>'; kept generic so
  -- a secret outlives no foreign key and any scope can use it.
  owner_ref text,
  ciphertext bytea not null,
  -- aes-gcm uses a 96-bit nonce, unique per encryption.
  nonce bytea not null check (octet_length(nonce) = 12),
  key_id text not null,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (scope, name)
);

comment on table public.secrets is
  'encrypted credentials. admins write them and read metadata only; ciphertext is readable by service_role alone.';

create index secrets_created_by_idx on public.secrets (created_by);
create index secrets_owner_ref_idx on public.secrets (owner_ref) where owner_ref is not null;

create trigger secrets_set_updated_at
  before update on public.secrets
  for each row execute function public.set_updated_at();

alter table public.secrets enable row level security;
alter table public.secrets force row level security;

-- write-only for clients: column privileges hide ciphertext, nonce and key material
-- from every api role but service_role (rls alone cannot hide a column).
revoke all on public.secrets from anon;
grant select, insert, update, delete on public.secrets to authenticated, service_role;
revoke select on public.secrets from authenticated;
grant select (id, scope, name, owner_ref, key_id, created_by, created_at, updated_at)
  on public.secrets to authenticated;

-- ---------------------------------------------------------------------------
-- audit_logs: append-only record of data and security events
-- ---------------------------------------------------------------------------
-- actor_id is deliberately not a foreign key: the record must survive the user.
create table public.audit_logs (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default now(),
  actor_id uuid,
  actor_role text,
  action text not null,
  table_name text,
  row_id text,
  changed_fields jsonb,
  kind text not null default 'data' check (kind in ('data', 'security')),
  details jsonb,
  request_id text
);

comment on table public.audit_logs is 'append-only audit trail. admins read; service_role (and triggers) insert; nobody edits.';

create index audit_logs_occurred_at_idx on public.audit_logs (occurred_at);
create index audit_logs_actor_id_idx on public.audit_logs (actor_id);
create index audit_logs_table_row_idx on public.audit_logs (table_name, row_id);

alter table public.audit_logs enable row level security;
alter table public.audit_logs force row level security;

-- append-only, enforced by privileges: even service_role (which bypasses rls) can only
-- read and insert.
revoke all on public.audit_logs from anon, authenticated, service_role;
grant select on public.audit_logs to authenticated;
grant select, insert on public.audit_logs to service_role;
grant usage, select on sequence public.audit_logs_id_seq to service_role;

-- ---------------------------------------------------------------------------
-- notifications and notification_preferences: per-user, in-app first
-- ---------------------------------------------------------------------------
create table public.notifications (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text,
  title text not null,
  body text,
  data jsonb,
  read_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.notifications is 'in-app notifications. each user sees and manages only their own.';

-- serves the foreign key, the policy (user_id = auth.uid()) and the inbox listing.
create index notifications_user_id_created_at_idx on public.notifications (user_id, created_at desc);
create index notifications_unread_idx on public.notifications (user_id) where read_at is null;

alter table public.notifications enable row level security;
alter table public.notifications force row level security;

revoke all on public.notifications from anon;
grant select, insert, update, delete on public.notifications to authenticated, service_role;

create table public.notification_preferences (
  user_id uuid not null references auth.users (id) on delete cascade,
  event_type text not null check (event_type ~ '^[a-z][a-z0-9_.-]*$'),
  in_app boolean not null default true,
  email boolean not null default false,
  sms boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- the primary key leads with user_id: it indexes the foreign key and the policy column.
  primary key (user_id, event_type)
);

comment on table public.notification_preferences is 'per-user, per-event delivery channels for notifications.';

create trigger notification_preferences_set_updated_at
  before update on public.notification_preferences
  for each row execute function public.set_updated_at();

alter table public.notification_preferences enable row level security;
alter table public.notification_preferences force row level security;

revoke all on public.notification_preferences from anon;
grant select, insert, update, delete on public.notification_preferences to authenticated, service_role;
