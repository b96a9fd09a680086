-- bootstrap: what a supabase project provides and plain postgres 15 lacks.
--
-- run by the migrator, as a superuser, in one transaction, only when
-- to_regclass('auth.users') is null (that is: never on a real supabase project), and
-- before the migrations in sql/. it mirrors supabase/postgres' init scripts and the
-- gotrue/storage schemas closely enough for the migrations, policies and services to
-- behave exactly as they do on the hosted platform.

-- ---------------------------------------------------------------------------
-- roles
-- ---------------------------------------------------------------------------
-- roles are cluster-wide while this script runs once per database, so every role is
-- created only when missing. a concurrent bootstrap of a sibling database may win the
-- race between the check and the create; that is harmless, hence the handler.
do $$
begin
  if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
    begin
      create role anon nologin noinherit;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;

  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
    begin
      create role authenticated nologin noinherit;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;

  -- service_role is trusted server code: it bypasses rls, exactly as on supabase.
  if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
    begin
      create role service_role nologin noinherit bypassrls;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;

  -- the login role services connect as before switching to the caller's role.
  -- no password here: deployments set one (or use trust/peer auth locally).
  if not exists (select from pg_catalog.pg_roles where rolname = 'authenticator') then
    begin
      create role authenticator login noinherit;
    exception when duplicate_object or unique_violation then null;
    end;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- same per-role limits as supabase. note: they apply at login, not on `set role`, so a
-- service that switches role itself must also apply them (set local statement_timeout).
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';

-- ---------------------------------------------------------------------------
-- auth schema (gotrue)
-- ---------------------------------------------------------------------------
create schema if not exists auth;

-- the columns gotrue reads and writes; enough for the auth admin api stand-in and for
-- foreign keys from public tables (created_by, user_id).
create table if not exists auth.users (
  instance_id uuid,
  id uuid not null default gen_random_uuid() primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  -- app_metadata is the jwt's app_metadata (only the service can change it: it carries
  -- the application role); user_metadata is the jwt's user_metadata (user-editable).
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  deleted_at timestamptz,
  is_anonymous boolean not null default false,
  is_sso_user boolean not null default false
);

comment on table auth.users is 'auth: stores user login data within a secure schema (gotrue-compatible subset).';

-- gotrue: one non-sso account per email address.
create unique index if not exists users_email_partial_key on auth.users (email) where (is_sso_user = false);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower((email)::text));
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);

-- request helpers, exactly as supabase defines them: they read the legacy per-claim
-- settings (request.jwt.claim.*) and the json form (request.jwt.claims). after a
-- transaction the settings read as '' rather than null, hence nullif.
create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

comment on function auth.uid() is 'deprecated. use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'deprecated. use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'deprecated. use auth.jwt() -> ''email'' instead.';

-- api roles may call the helpers (policies run them as the caller) but may not read
-- auth.users: nothing is granted on the tables.
grant usage on schema auth to anon, authenticated, service_role;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- storage schema (minimal)
-- ---------------------------------------------------------------------------
-- only the two tables the storage api keeps; services go through the storage api
-- (or service-role code) and never expose these to clients directly.
create schema if not exists storage;

create table if not exists storage.buckets (
  id text primary key,
  name text not null unique,
  owner uuid,
  public boolean default false,
  file_size_limit bigint,
  allowed_mime_types text[],
  created_at timestamptz default now(),
  updated_at timestamptz default now()
);

create table if not exists storage.objects (
  id uuid primary key default gen_random_uuid(),
  bucket_id text references storage.buckets (id),
  name text,
  owner uuid,
  owner_id text,
  metadata jsonb,
  path_tokens text[] generated always as (string_to_array(name, '/')) stored,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  last_accessed_at timestamptz default now(),
  version text,
  user_metadata jsonb,
  unique (bucket_id, name)
);

create index if not exists objects_bucket_id_idx on storage.objects (bucket_id);

-- as on supabase: rls on, no policies, so only service_role (bypassrls) touches objects
-- until a project adds storage policies.
alter table storage.buckets enable row level security;
alter table storage.objects enable row level security;

grant usage on schema storage to anon, authenticated, service_role;
grant select, insert, update, delete on storage.buckets, storage.objects to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- public schema privileges
-- ---------------------------------------------------------------------------
-- supabase also gives anon default privileges on public; the access matrix gives anon
-- nothing, so here it gets none. the policies never rely on that: no policy names anon,
-- so rls denies anon even where it does hold table privileges.
grant usage on schema public to anon, authenticated, service_role;

alter default privileges in schema public
  grant select, insert, update, delete on tables to authenticated, service_role;
alter default privileges in schema public
  grant usage, select on sequences to authenticated, service_role;
