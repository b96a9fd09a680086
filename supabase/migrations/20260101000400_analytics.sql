-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V4__analytics.sql

-- analytics: data sources and the tables imports write into, normalised daily metrics,
-- sync run logs, and saved reports and dashboards.
--
-- every import is idempotent: rows carry a natural key and syncs upsert on it, so
-- re-running a sync never duplicates data. credentials for a source live in secrets
-- (scope 'data_source', owner_ref 'data_source:<id>'), never in data_sources.config.

-- ---------------------------------------------------------------------------
-- data_sources
-- ---------------------------------------------------------------------------
create table public.data_sources (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  kind text not null check (kind in ('csv', 'ga4', 'meta', 'postgres', 'mysql', 'rest')),
  -- non-secret connection metadata only (property id, table name, column mapping...).
  config jsonb not null default '{}',
  status text not null default 'active' check (status in ('active', 'paused', 'syncing', 'error', 'disabled')),
  last_synced_at timestamptz,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.data_sources is 'where analytics data comes from (metadata only). members read; users write their own; admins all.';

create index data_sources_created_by_idx on public.data_sources (created_by);

create trigger data_sources_set_updated_at
  before update on public.data_sources
  for each row execute function public.set_updated_at();

alter table public.data_sources enable row level security;
alter table public.data_sources force row level security;

revoke all on public.data_sources from anon;
grant select, insert, update, delete on public.data_sources to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- import_tables: registry of tables created for imported files
-- ---------------------------------------------------------------------------
create table public.import_tables (
  id uuid primary key default gen_random_uuid(),
  data_source_id uuid references public.data_sources (id) on delete cascade,
  -- becomes an identifier: a strict pattern keeps it a plain, unquoted postgres name.
  table_name text not null unique check (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
  -- [{"name": ..., "type": ...}] as inferred or mapped at import time.
  columns jsonb not null,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now()
);

comment on table public.import_tables is 'registry of dynamically created import tables and their columns.';

create index import_tables_data_source_id_idx on public.import_tables (data_source_id);
create index import_tables_created_by_idx on public.import_tables (created_by);

alter table public.import_tables enable row level security;
alter table public.import_tables force row level security;

revoke all on public.import_tables from anon;
grant select, insert, update, delete on public.import_tables to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- imported_data: raw records from connectors, one row per natural key and stream
-- ---------------------------------------------------------------------------
create table public.imported_data (
  id bigint generated always as identity primary key,
  data_source_id uuid not null references public.data_sources (id) on delete cascade,
  -- the connector's stream (a ga4 report, a meta insights level, a source table...).
  stream text not null,
  record_date date,
  natural_key text not null,
  dimensions jsonb not null default '{}',
  metrics jsonb not null default '{}',
  imported_at timestamptz not null default now(),
  -- the upsert target; it also indexes the data_source_id foreign key.
  unique (data_source_id, stream, natural_key)
);

comment on table public.imported_data is 'records imported by syncs, upserted on (data_source_id, stream, natural_key).';

create index imported_data_record_date_idx on public.imported_data (data_source_id, stream, record_date);

alter table public.imported_data enable row level security;
alter table public.imported_data force row level security;

revoke all on public.imported_data from anon;
grant select, insert, update, delete on public.imported_data to authenticated, service_role;
grant usage, select on sequence public.imported_data_id_seq to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- analytics_data: normalised daily metrics that dashboards read
-- ---------------------------------------------------------------------------
create table public.analytics_data (
  id bigint generated always as identity primary key,
  -- set null, not cascade: metrics stay when a source is removed.
  data_source_id uuid references public.data_sources (id) on delete set null,
  source text not null,
  metric_date date not null,
  channel text,
  campaign_id uuid references public.campaigns (id) on delete set null,
  dimensions jsonb not null default '{}',
  sessions bigint,
  users bigint,
  conversions numeric,
  revenue numeric(14, 2),
  impressions bigint,
  clicks bigint,
  spend numeric(14, 2),
  natural_key text not null,
  created_at timestamptz not null default now(),
  unique (source, natural_key)
);

comment on table public.analytics_data is 'daily metrics per source/channel/campaign. members read; admins may delete; service_role writes.';

create index analytics_data_metric_date_idx on public.analytics_data (metric_date, source);
create index analytics_data_data_source_id_idx on public.analytics_data (data_source_id);
create index analytics_data_campaign_id_idx on public.analytics_data (campaign_id);

alter table public.analytics_data enable row level security;
alter table public.analytics_data force row level security;

revoke all on public.analytics_data from anon;
grant select, insert, update, delete on public.analytics_data to authenticated, service_role;
grant usage, select on sequence public.analytics_data_id_seq to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- sync_logs: one row per sync run
-- ---------------------------------------------------------------------------
create table public.sync_logs (
  id uuid primary key default gen_random_uuid(),
  data_source_id uuid not null references public.data_sources (id) on delete cascade,
  job_id bigint references public.jobs (id) on delete set null,
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  rows_read bigint not null default 0,
  rows_inserted bigint not null default 0,
  rows_updated bigint not null default 0,
  rows_rejected bigint not null default 0,
  -- incremental position before and after the run (re-read with a lookback window).
  cursor_before jsonb,
  cursor_after jsonb,
  error text,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now()
);

comment on table public.sync_logs is 'sync runs: status, counts, cursors and errors. members read; service_role writes.';

create index sync_logs_data_source_id_idx on public.sync_logs (data_source_id, created_at desc);
create index sync_logs_job_id_idx on public.sync_logs (job_id);

alter table public.sync_logs enable row level security;
alter table public.sync_logs force row level security;

revoke all on public.sync_logs from anon;
grant select, insert, update, delete on public.sync_logs to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- reports and dashboards
-- ---------------------------------------------------------------------------
create table public.reports (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  description text,
  -- metrics, dimensions, filters, date range and output format.
  definition jsonb not null default '{}',
  is_template boolean not null default false,
  -- cron expression for scheduled delivery, evaluated in time_zone.
  schedule text,
  time_zone text check (time_zone is null or app_private.is_valid_time_zone(time_zone)),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.reports is 'saved report definitions. members read; users write their own; admins all.';

create index reports_created_by_idx on public.reports (created_by);

create trigger reports_set_updated_at
  before update on public.reports
  for each row execute function public.set_updated_at();

alter table public.reports enable row level security;
alter table public.reports force row level security;

revoke all on public.reports from anon;
grant select, insert, update, delete on public.reports to authenticated, service_role;

create table public.dashboards (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  description text,
  -- widgets and their grid positions.
  layout jsonb not null default '{}',
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.dashboards is 'dashboard layouts. members read; users write their own; admins all.';

create index dashboards_created_by_idx on public.dashboards (created_by);

create trigger dashboards_set_updated_at
  before update on public.dashboards
  for each row execute function public.set_updated_at();

alter table public.dashboards enable row level security;
alter table public.dashboards force row level security;

revoke all on public.dashboards from anon;
grant select, insert, update, delete on public.dashboards to authenticated, service_role;
