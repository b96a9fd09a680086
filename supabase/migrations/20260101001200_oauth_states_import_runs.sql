-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V12__oauth_states_import_runs.sql

-- single-use oauth states, and a record of each file imported into a table without a key.
--
-- oauth_states: `oauth-start` records the nonce of every state it signs; `oauth-callback`
-- consumes it with one conditional update, so a state (and the authorization code that came
-- back with it) is accepted once. the signature and expiry are still checked first: this table
-- only answers "was it already used". service_role alone reads and writes it.
--
-- import_runs: the sha-256 of every file loaded into an import table that has no natural key,
-- and the `_row_id` range its rows received. re-importing the same content into the same table
-- is refused unless the caller asks to replace (the earlier rows are deleted by range, in the
-- same transaction) or to append. loads into keyless tables hold a self-exclusive lock on the
-- table, so no other load interleaves identities within a run's range.

create table public.oauth_states (
  -- the state's nonce: 16 random bytes, base64url.
  nonce text primary key check (length(nonce) between 16 and 64),
  data_source_id uuid not null references public.data_sources (id) on delete cascade,
  provider text not null check (provider in ('ga4', 'meta')),
  created_by uuid references auth.users (id) on delete set null,
  expires_at timestamptz not null,
  consumed_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.oauth_states is
  'oauth states issued by oauth-start; consumed once by oauth-callback. service_role only.';

create index oauth_states_data_source_id_idx on public.oauth_states (data_source_id);
create index oauth_states_created_by_idx on public.oauth_states (created_by);
-- expired states are purged by oauth-start as it issues new ones.
create index oauth_states_expires_at_idx on public.oauth_states (expires_at);

alter table public.oauth_states enable row level security;
alter table public.oauth_states force row level security;

create table public.import_runs (
  id uuid primary key default gen_random_uuid(),
  import_table_id uuid not null references public.import_tables (id) on delete cascade,
  -- lower-case hex sha-256 of the file's bytes as uploaded (before any transcoding).
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  -- the `_row_id`s the run's rows received, inclusive; null when it loaded no row.
  first_row_id bigint,
  last_row_id bigint,
  rows_loaded bigint not null default 0 check (rows_loaded >= 0),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  check ((first_row_id is null) = (last_row_id is null)
         and (first_row_id is null or first_row_id <= last_row_id))
);

comment on table public.import_runs is
  'files loaded into keyless import tables (sha-256, row range). members read; service_role writes.';

create index import_runs_table_sha256_idx on public.import_runs (import_table_id, sha256);
create index import_runs_created_by_idx on public.import_runs (created_by);

alter table public.import_runs enable row level security;
alter table public.import_runs force row level security;
