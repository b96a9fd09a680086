-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V9__dispatch.sql

-- dispatch: what the sending engine needs on top of the campaign tables.
--
-- exactly once. a message row is the unit of work: the worker claims it (status 'sending',
-- lease_owner, lease_until) in the database before it calls a provider, and records the
-- outcome after. a row still 'sending' when its lease has run out belongs to a worker that
-- died between the two: nobody knows whether the provider took it, so it becomes 'unknown'
-- and is counted, never sent again.
--
-- quiet hours. sms rows carry the recipient's resolved zone and a not_before instant; a
-- recipient outside the 8:00-21:00 window waits for the next window instead of being dropped.
--
-- rate limits. one row per bucket (a provider, or a sender) holds the theoretical arrival
-- time of the next message (gcra), so every worker draws from the same budget.

-- ---------------------------------------------------------------------------
-- message rows: leases, deferral, and the job that sent a transactional message
-- ---------------------------------------------------------------------------
alter table public.sms_messages
  add column lease_owner text,
  add column lease_until timestamptz,
  add column not_before timestamptz,
  add column recipient_time_zone text,
  add column category text,
  add column reference text,
  -- the `sms.send` job that owns a transactional message: a retried job finds its row.
  add column job_id bigint;

alter table public.email_messages
  add column lease_owner text,
  add column lease_until timestamptz,
  add column not_before timestamptz,
  add column category text,
  add column reference text,
  add column job_id bigint;

-- one message per contact per campaign: materialising recipients twice (a retried job,
-- two workers) inserts nothing the second time.
create unique index sms_messages_campaign_contact_key
  on public.sms_messages (campaign_id, contact_id)
  where campaign_id is not null and contact_id is not null;
create unique index email_messages_campaign_contact_key
  on public.email_messages (campaign_id, contact_id)
  where campaign_id is not null and contact_id is not null;

create unique index sms_messages_job_id_key on public.sms_messages (job_id) where job_id is not null;
create unique index email_messages_job_id_key on public.email_messages (job_id) where job_id is not null;

-- the dispatcher finds a campaign's queued rows (claims) and sending rows (the sweep for
-- expired leases) through the (campaign_id, status) index of V3. the partial "queued" indexes
-- V3 added for a global work list are not how the dispatcher works (it goes campaign by
-- campaign), and every extra index is written again on each of a message's three writes
-- (materialise, claim, record), so they go.
drop index public.sms_messages_queued_idx;
drop index public.email_messages_queued_idx;

-- ---------------------------------------------------------------------------
-- send_rate_buckets: shared rate limits (generic cell rate algorithm)
-- ---------------------------------------------------------------------------
create table app_private.send_rate_buckets (
  -- 'provider:twilio', 'sender:sms:+15550100199', ...
  bucket text primary key,
  -- when the bucket will next be empty: each message moves it 1/rate seconds later.
  tat timestamptz not null default now()
);

comment on table app_private.send_rate_buckets is 'rate-limit state shared by every worker: one row per provider or sender.';

revoke all on app_private.send_rate_buckets from public, anon, authenticated;
grant select, insert, update, delete on app_private.send_rate_buckets to service_role;

-- reserves `wanted` messages from `bucket` (rate per second, burst messages) and answers how
-- long the caller must wait before sending them (0 when it may send at once). the reservation
-- always succeeds: a caller that waits the answer stays within the limit, and concurrent
-- callers queue behind each other because the row is updated under its lock.
create or replace function app_private.reserve_send_rate(
  bucket text, rate double precision, burst double precision, wanted integer
) returns double precision
language plpgsql volatile security invoker
set search_path = ''
as $$
declare
  now_ts timestamptz := clock_timestamp();
  new_tat timestamptz;
begin
  if rate is null or rate <= 0 then
    return 0;
  end if;
  insert into app_private.send_rate_buckets as b (bucket, tat)
  values (reserve_send_rate.bucket, now_ts + make_interval(secs => wanted / rate))
  on conflict on constraint send_rate_buckets_pkey do update
    set tat = greatest(b.tat, now_ts) + make_interval(secs => wanted / rate)
  returning tat into new_tat;
  -- up to `burst` messages may be outstanding ahead of the clock.
  return greatest(0, extract(epoch from (new_tat - now_ts)) - greatest(burst, 1) / rate);
end
$$;

revoke all on function app_private.reserve_send_rate(text, double precision, double precision, integer) from public;
grant execute on function app_private.reserve_send_rate(text, double precision, double precision, integer) to service_role;

-- ---------------------------------------------------------------------------
-- local_outbox: what the local providers "sent" (gimbal dev, no provider accounts)
-- ---------------------------------------------------------------------------
create table public.local_outbox (
  id bigint generated always as identity primary key,
  channel text not null check (channel in ('sms', 'email')),
  provider_message_id text not null unique,
  to_address text not null,
  from_address text,
  subject text,
  body text,
  html_body text,
  -- email headers as they would go out (List-Unsubscribe, ...), attachment names and types.
  headers jsonb not null default '{}',
  attachments jsonb not null default '[]',
  -- custom_args / the message row this came from.
  metadata jsonb not null default '{}',
  created_at timestamptz not null default now()
);

comment on table public.local_outbox is 'messages the local providers accepted instead of twilio/sendgrid. users and admins read; only service_role writes.';

create index local_outbox_created_at_idx on public.local_outbox (created_at);

alter table public.local_outbox enable row level security;
alter table public.local_outbox force row level security;

revoke all on public.local_outbox from anon, authenticated;
grant select on public.local_outbox to authenticated;
grant select, insert, update, delete on public.local_outbox to service_role;
revoke all on sequence public.local_outbox_id_seq from anon, authenticated;
grant usage, select on sequence public.local_outbox_id_seq to service_role;

-- ---------------------------------------------------------------------------
-- campaign progress counters
-- ---------------------------------------------------------------------------
-- adds each numeric member of `delta` to the same member of campaigns.stats (absent = 0), in
-- one statement, so concurrent workers never lose an increment.
create or replace function app_private.add_campaign_stats(campaign_id uuid, delta jsonb)
returns jsonb
language sql volatile security invoker
set search_path = ''
as $$
  update public.campaigns c
  set stats = c.stats || coalesce((
    select jsonb_object_agg(d.key, coalesce((c.stats ->> d.key)::numeric, 0) + d.value::numeric)
    from jsonb_each_text(delta) d
  ), '{}')
  where c.id = add_campaign_stats.campaign_id
  returning c.stats
$$;

revoke all on function app_private.add_campaign_stats(uuid, jsonb) from public;
grant execute on function app_private.add_campaign_stats(uuid, jsonb) to service_role;
