-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V2__jobs.sql

-- jobs: the postgres-backed work queue and the cron schedules that feed it.
--
-- workers claim queued jobs with `for update skip locked` in (priority desc, run_at, id)
-- order and hold a lease (locked_by, locked_until) while running; an expired lease makes
-- the job claimable again. only service-role code enqueues or changes jobs; signed-in
-- users read them to follow progress.

-- ---------------------------------------------------------------------------
-- cron_schedules: recurring jobs (created first: jobs point at them)
-- ---------------------------------------------------------------------------
create table public.cron_schedules (
  id bigint generated always as identity primary key,
  name text not null unique check (length(name) between 1 and 200),
  -- standard five-field cron, or an alias such as @daily; the scheduler parses it fully.
  cron text not null
    check (cron ~ '^\s*(@(yearly|annually|monthly|weekly|daily|hourly)|\S+(\s+\S+){4})\s*$'),
  -- evaluated in this zone, so "every day at 03:15" follows daylight saving.
  time_zone text not null default 'UTC' check (app_private.is_valid_time_zone(time_zone)),
  job_kind text not null check (job_kind ~ '^[a-z][a-z0-9_.-]*$'),
  payload jsonb not null default '{}',
  enabled boolean not null default true,
  next_run_at timestamptz,
  last_run_at timestamptz,
  -- the job most recently enqueued; no foreign key, because finished jobs are purged.
  last_job_id bigint,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.cron_schedules is 'recurring jobs. members read; admins and service_role manage.';

create index cron_schedules_created_by_idx on public.cron_schedules (created_by);
-- the scheduler's scan: enabled schedules that are due.
create index cron_schedules_due_idx on public.cron_schedules (next_run_at) where enabled;

create trigger cron_schedules_set_updated_at
  before update on public.cron_schedules
  for each row execute function public.set_updated_at();

alter table public.cron_schedules enable row level security;
alter table public.cron_schedules force row level security;

revoke all on public.cron_schedules from anon;
grant select, insert, update, delete on public.cron_schedules to authenticated, service_role;
grant usage, select on sequence public.cron_schedules_id_seq to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- jobs
-- ---------------------------------------------------------------------------
create table public.jobs (
  id bigint generated always as identity primary key,
  kind text not null check (kind ~ '^[a-z][a-z0-9_.-]*$'),
  payload jsonb not null default '{}',
  -- queued -> running -> succeeded | queued (retry with backoff) | dead (attempts used up);
  -- cancelled at any point before it finishes.
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'dead', 'cancelled')),
  priority smallint not null default 0,
  run_at timestamptz not null default now(),
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts between 1 and 100),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  -- at most one live (queued or running) job per dedupe key: enqueueing twice is a no-op.
  dedupe_key text,
  schedule_id bigint references public.cron_schedules (id) on delete set null,
  result jsonb,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);

comment on table public.jobs is 'work queue. members read job status; only service_role enqueues, claims and updates.';

-- the claim query's order, restricted to what can be claimed.
create index jobs_claim_idx on public.jobs (priority desc, run_at, id) where status = 'queued';
-- finding running jobs whose lease expired (crashed workers).
create index jobs_lease_idx on public.jobs (locked_until) where status = 'running';
create unique index jobs_dedupe_idx on public.jobs (dedupe_key)
  where dedupe_key is not null and status in ('queued', 'running');
-- the retention purge (maintenance.purge_jobs) deletes old finished jobs.
create index jobs_finished_idx on public.jobs (finished_at)
  where status in ('succeeded', 'dead', 'cancelled');
create index jobs_schedule_id_idx on public.jobs (schedule_id);
create index jobs_created_by_idx on public.jobs (created_by);

create trigger jobs_set_updated_at
  before update on public.jobs
  for each row execute function public.set_updated_at();

alter table public.jobs enable row level security;
alter table public.jobs force row level security;

revoke all on public.jobs from anon;
grant select, insert, update, delete on public.jobs to authenticated, service_role;
grant usage, select on sequence public.jobs_id_seq to authenticated, service_role;
