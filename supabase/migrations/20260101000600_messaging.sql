-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V6__messaging.sql

-- messaging: what provider webhooks and the campaign statistics need on top of V3.
--
-- * per-outcome timestamps on messages, each set once (the first time the outcome is seen),
--   so counting an outcome is counting a timestamp going from null to a value: a webhook
--   delivered twice, or events arriving out of order, never count twice;
-- * campaign_stats, one counter row per campaign kept by statement-level triggers on the
--   message tables (whoever writes them: the dispatcher or webhook processing);
-- * campaign_performance, the counters with their rates, a security_invoker view.

-- ---------------------------------------------------------------------------
-- outcome timestamps
-- ---------------------------------------------------------------------------
alter table public.email_messages
  add column bounced_at timestamptz,
  add column failed_at timestamptz,
  add column unsubscribed_at timestamptz,
  add column spam_reported_at timestamptz;

alter table public.sms_messages
  add column failed_at timestamptz;

-- events that carry only custom_args (campaign_id + email) are matched on these.
create index email_messages_campaign_to_email_idx on public.email_messages (campaign_id, lower(to_email));

-- how far along a message is; a status never moves backwards (a late 'delivered' after an
-- 'open' keeps 'opened'). terminal outcomes rank above engagement.
create or replace function app_private.email_status_rank(status text) returns integer
language sql immutable parallel safe set search_path = ''
as $$
  select case status
    when 'queued' then 0 when 'claimed' then 1 when 'sending' then 2 when 'unknown' then 2
    when 'sent' then 3 when 'deferred' then 4 when 'delivered' then 5 when 'opened' then 6
    when 'clicked' then 7 when 'failed' then 8 when 'dropped' then 8 when 'bounced' then 9
    when 'spam_report' then 10 when 'unsubscribed' then 10 else 0 end
$$;

create or replace function app_private.sms_status_rank(status text) returns integer
language sql immutable parallel safe set search_path = ''
as $$
  select case status
    when 'queued' then 0 when 'claimed' then 1 when 'sending' then 2 when 'unknown' then 2
    when 'sent' then 3 when 'delivered' then 5 when 'undelivered' then 6 when 'failed' then 6
    when 'received' then 0 else 0 end
$$;

-- a writer that only sets the status (the dispatcher marking 'sent' or 'failed') still gets
-- the matching timestamp, so the counters below see every outcome.
create or replace function app_private.email_messages_outcome_times() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.status in ('sent', 'deferred', 'delivered', 'opened', 'clicked', 'bounced', 'spam_report', 'unsubscribed')
     and new.sent_at is null then
    new.sent_at := now();
  end if;
  if new.status in ('delivered', 'opened', 'clicked') and new.delivered_at is null then
    new.delivered_at := now();
  end if;
  if new.status in ('opened', 'clicked') and new.opened_at is null then
    new.opened_at := coalesce(new.clicked_at, now());
  end if;
  if new.status = 'clicked' and new.clicked_at is null then
    new.clicked_at := now();
  end if;
  if new.status = 'bounced' and new.bounced_at is null then
    new.bounced_at := now();
  end if;
  if new.status in ('failed', 'dropped') and new.failed_at is null then
    new.failed_at := now();
  end if;
  if new.status = 'unsubscribed' and new.unsubscribed_at is null then
    new.unsubscribed_at := now();
  end if;
  if new.status = 'spam_report' and new.spam_reported_at is null then
    new.spam_reported_at := now();
  end if;
  return new;
end
$$;

create trigger email_messages_outcome_times
  before insert or update of status on public.email_messages
  for each row execute function app_private.email_messages_outcome_times();

create or replace function app_private.sms_messages_outcome_times() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if new.direction = 'outbound' then
    if new.status in ('sent', 'delivered', 'undelivered') and new.sent_at is null then
      new.sent_at := now();
    end if;
    if new.status = 'delivered' and new.delivered_at is null then
      new.delivered_at := now();
    end if;
    if new.status in ('failed', 'undelivered') and new.failed_at is null then
      new.failed_at := now();
    end if;
  end if;
  return new;
end
$$;

create trigger sms_messages_outcome_times
  before insert or update of status on public.sms_messages
  for each row execute function app_private.sms_messages_outcome_times();

-- ---------------------------------------------------------------------------
-- campaign_stats: counters per campaign
-- ---------------------------------------------------------------------------
-- counters rather than a view over the message tables: members (viewers included) read
-- campaigns but not messages, and aggregates over 100,000s of rows on every dashboard read
-- would cost more than one upsert per statement that changes messages.
create table public.campaign_stats (
  campaign_id uuid primary key references public.campaigns (id) on delete cascade,
  sent bigint not null default 0,
  delivered bigint not null default 0,
  failed bigint not null default 0,
  opened bigint not null default 0,
  clicked bigint not null default 0,
  bounced bigint not null default 0,
  unsubscribed bigint not null default 0,
  spam_reports bigint not null default 0,
  updated_at timestamptz not null default now()
);

create trigger campaign_stats_set_updated_at
  before update on public.campaign_stats
  for each row execute function public.set_updated_at();

comment on table public.campaign_stats is 'per-campaign message outcome counters, kept by triggers on sms_messages and email_messages. members read.';

alter table public.campaign_stats enable row level security;
alter table public.campaign_stats force row level security;

revoke all on public.campaign_stats from anon, authenticated;
grant select on public.campaign_stats to authenticated;
grant select, insert, update, delete on public.campaign_stats to service_role;

-- transition tables carry no statistics, and the planner would join old and new rows with a
-- nested loop (quadratic in the rows one statement changes); the update triggers turn nested
-- loops off for their own queries, which makes the join a hash join.
--
-- adds the outcomes that appeared in one statement. not security definer: only service_role
-- may change outcomes (it alone writes the message tables), and it may write campaign_stats;
-- the cascades other roles cause (a contact's deletion nulling contact_id) change no
-- outcome and leave before the insert.
create or replace function app_private.count_email_outcomes() returns trigger
language plpgsql set search_path = '' set enable_nestloop = off
as $$
begin
  -- most updates change no outcome (e.g. a contact's deletion nulling contact_id): leave
  -- before touching campaign_stats, which only service_role may write.
  if not exists (
    select 1 from new_rows n join old_rows o on o.id = n.id
    where n.campaign_id is not null
      and (   (n.sent_at is not null and o.sent_at is null)
           or (n.delivered_at is not null and o.delivered_at is null)
           or (n.failed_at is not null and o.failed_at is null)
           or (n.opened_at is not null and o.opened_at is null)
           or (n.clicked_at is not null and o.clicked_at is null)
           or (n.bounced_at is not null and o.bounced_at is null)
           or (n.unsubscribed_at is not null and o.unsubscribed_at is null)
           or (n.spam_reported_at is not null and o.spam_reported_at is null))
  ) then
    return null;
  end if;
  insert into public.campaign_stats as s
    (campaign_id, sent, delivered, failed, opened, clicked, bounced, unsubscribed, spam_reports)
  select n.campaign_id,
         count(*) filter (where n.sent_at is not null and o.sent_at is null),
         count(*) filter (where n.delivered_at is not null and o.delivered_at is null),
         count(*) filter (where n.failed_at is not null and o.failed_at is null),
         count(*) filter (where n.opened_at is not null and o.opened_at is null),
         count(*) filter (where n.clicked_at is not null and o.clicked_at is null),
         count(*) filter (where n.bounced_at is not null and o.bounced_at is null),
         count(*) filter (where n.unsubscribed_at is not null and o.unsubscribed_at is null),
         count(*) filter (where n.spam_reported_at is not null and o.spam_reported_at is null)
  from new_rows n
  left join old_rows o on o.id = n.id
  where n.campaign_id is not null
    and (   (n.sent_at is not null and o.sent_at is null)
         or (n.delivered_at is not null and o.delivered_at is null)
         or (n.failed_at is not null and o.failed_at is null)
         or (n.opened_at is not null and o.opened_at is null)
         or (n.clicked_at is not null and o.clicked_at is null)
         or (n.bounced_at is not null and o.bounced_at is null)
         or (n.unsubscribed_at is not null and o.unsubscribed_at is null)
         or (n.spam_reported_at is not null and o.spam_reported_at is null))
    and exists (select 1 from public.campaigns c where c.id = n.campaign_id)
  group by n.campaign_id
  on conflict (campaign_id) do update set
    sent = s.sent + excluded.sent,
    delivered = s.delivered + excluded.delivered,
    failed = s.failed + excluded.failed,
    opened = s.opened + excluded.opened,
    clicked = s.clicked + excluded.clicked,
    bounced = s.bounced + excluded.bounced,
    unsubscribed = s.unsubscribed + excluded.unsubscribed,
    spam_reports = s.spam_reports + excluded.spam_reports,
    updated_at = now();
  return null;
end
$$;

-- inserts have no old rows: an empty table of the same shape stands in for them.
create or replace function app_private.count_email_outcomes_inserted() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if not exists (
    select 1 from new_rows n
    where n.campaign_id is not null
      and coalesce(n.sent_at, n.delivered_at, n.failed_at, n.opened_at, n.clicked_at,
                   n.bounced_at, n.unsubscribed_at, n.spam_reported_at) is not null
  ) then
    return null;
  end if;
  insert into public.campaign_stats as s
    (campaign_id, sent, delivered, failed, opened, clicked, bounced, unsubscribed, spam_reports)
  select n.campaign_id,
         count(n.sent_at), count(n.delivered_at), count(n.failed_at), count(n.opened_at),
         count(n.clicked_at), count(n.bounced_at), count(n.unsubscribed_at), count(n.spam_reported_at)
  from new_rows n
  where n.campaign_id is not null
    and coalesce(n.sent_at, n.delivered_at, n.failed_at, n.opened_at, n.clicked_at,
                 n.bounced_at, n.unsubscribed_at, n.spam_reported_at) is not null
  group by n.campaign_id
  on conflict (campaign_id) do update set
    sent = s.sent + excluded.sent,
    delivered = s.delivered + excluded.delivered,
    failed = s.failed + excluded.failed,
    opened = s.opened + excluded.opened,
    clicked = s.clicked + excluded.clicked,
    bounced = s.bounced + excluded.bounced,
    unsubscribed = s.unsubscribed + excluded.unsubscribed,
    spam_reports = s.spam_reports + excluded.spam_reports,
    updated_at = now();
  return null;
end
$$;

create trigger email_messages_count_outcomes
  after update on public.email_messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.count_email_outcomes();

create trigger email_messages_count_inserted_outcomes
  after insert on public.email_messages
  referencing new table as new_rows
  for each statement execute function app_private.count_email_outcomes_inserted();

create or replace function app_private.count_sms_outcomes() returns trigger
language plpgsql set search_path = '' set enable_nestloop = off
as $$
begin
  if not exists (
    select 1 from new_rows n join old_rows o on o.id = n.id
    where n.campaign_id is not null and n.direction = 'outbound'
      and (   (n.sent_at is not null and o.sent_at is null)
           or (n.delivered_at is not null and o.delivered_at is null)
           or (n.failed_at is not null and o.failed_at is null))
  ) then
    return null;
  end if;
  insert into public.campaign_stats as s (campaign_id, sent, delivered, failed)
  select n.campaign_id,
         count(*) filter (where n.sent_at is not null and o.sent_at is null),
         count(*) filter (where n.delivered_at is not null and o.delivered_at is null),
         count(*) filter (where n.failed_at is not null and o.failed_at is null)
  from new_rows n
  left join old_rows o on o.id = n.id
  where n.campaign_id is not null and n.direction = 'outbound'
    and (   (n.sent_at is not null and o.sent_at is null)
         or (n.delivered_at is not null and o.delivered_at is null)
         or (n.failed_at is not null and o.failed_at is null))
    and exists (select 1 from public.campaigns c where c.id = n.campaign_id)
  group by n.campaign_id
  on conflict (campaign_id) do update set
    sent = s.sent + excluded.sent,
    delivered = s.delivered + excluded.delivered,
    failed = s.failed + excluded.failed,
    updated_at = now();
  return null;
end
$$;

create or replace function app_private.count_sms_outcomes_inserted() returns trigger
language plpgsql set search_path = ''
as $$
begin
  if not exists (
    select 1 from new_rows n
    where n.campaign_id is not null and n.direction = 'outbound'
      and coalesce(n.sent_at, n.delivered_at, n.failed_at) is not null
  ) then
    return null;
  end if;
  insert into public.campaign_stats as s (campaign_id, sent, delivered, failed)
  select n.campaign_id, count(n.sent_at), count(n.delivered_at), count(n.failed_at)
  from new_rows n
  where n.campaign_id is not null and n.direction = 'outbound'
    and coalesce(n.sent_at, n.delivered_at, n.failed_at) is not null
  group by n.campaign_id
  on conflict (campaign_id) do update set
    sent = s.sent + excluded.sent,
    delivered = s.delivered + excluded.delivered,
    failed = s.failed + excluded.failed,
    updated_at = now();
  return null;
end
$$;

create trigger sms_messages_count_outcomes
  after update on public.sms_messages
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.count_sms_outcomes();

create trigger sms_messages_count_inserted_outcomes
  after insert on public.sms_messages
  referencing new table as new_rows
  for each statement execute function app_private.count_sms_outcomes_inserted();

revoke all on function app_private.count_email_outcomes() from public;
revoke all on function app_private.count_email_outcomes_inserted() from public;
revoke all on function app_private.count_sms_outcomes() from public;
revoke all on function app_private.count_sms_outcomes_inserted() from public;

-- ---------------------------------------------------------------------------
-- campaign_performance: counters and rates, under the caller's rls
-- ---------------------------------------------------------------------------
-- security_invoker: the view reads campaigns and campaign_stats as the caller, so it shows
-- exactly the campaigns the caller may read (and nothing to anon).
create view public.campaign_performance with (security_invoker = true) as
select c.id as campaign_id,
       c.name,
       c.channel,
       c.status,
       coalesce(s.sent, 0) as sent,
       coalesce(s.delivered, 0) as delivered,
       coalesce(s.failed, 0) as failed,
       coalesce(s.opened, 0) as opened,
       coalesce(s.clicked, 0) as clicked,
       coalesce(s.bounced, 0) as bounced,
       coalesce(s.unsubscribed, 0) as unsubscribed,
       coalesce(s.spam_reports, 0) as spam_reports,
       -- rates over messages sent; null until something is sent.
       round(s.delivered::numeric / nullif(s.sent, 0), 4) as delivery_rate,
       round(s.failed::numeric / nullif(s.sent, 0), 4) as failure_rate,
       round(s.opened::numeric / nullif(s.delivered, 0), 4) as open_rate,
       round(s.clicked::numeric / nullif(s.delivered, 0), 4) as click_rate,
       round(s.bounced::numeric / nullif(s.sent, 0), 4) as bounce_rate,
       round(s.unsubscribed::numeric / nullif(s.sent, 0), 4) as unsubscribe_rate,
       s.updated_at as counted_at
from public.campaigns c
left join public.campaign_stats s on s.campaign_id = c.id;

comment on view public.campaign_performance is 'campaign counters and rates; rows follow the caller''s access to campaigns.';

revoke all on public.campaign_performance from anon, authenticated;
grant select on public.campaign_performance to authenticated, service_role;
