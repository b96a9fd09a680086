-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V11__campaign_counts.sql

-- campaign counts: sms segments per message, summed per campaign.
--
-- an sms is billed per segment (160 gsm-7 characters, or 70 ucs-2 ones, fewer when
-- concatenated), so what a campaign costs is the sum of its messages' segments, not the count
-- of its messages. the dispatcher now counts each message's segments when it renders it (the
-- templates crate's counter, the same one render-template reports) and stores them on the row;
-- the outcome trigger adds the segments of every message that becomes sent to campaign_stats.
--
-- the queued / deferred progress counters live in campaigns.stats (jsonb, kept by the
-- dispatcher through app_private.add_campaign_stats) and need no schema.

-- sms_messages.segments exists since V3 but was never filled.
comment on column public.sms_messages.segments is
  'segments the body takes (gsm-7 or ucs-2), counted when the message was rendered; null for inbound messages and rows from before it was counted.';

alter table public.campaign_stats
  add column segments bigint not null default 0;

comment on column public.campaign_stats.segments is 'sms segments of the campaign''s sent messages.';

-- the sms outcome triggers of V6, now also adding the segments of newly sent messages.
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
  insert into public.campaign_stats as s (campaign_id, sent, delivered, failed, segments)
  select n.campaign_id,
         count(*) filter (where n.sent_at is not null and o.sent_at is null),
         count(*) filter (where n.delivered_at is not null and o.delivered_at is null),
         count(*) filter (where n.failed_at is not null and o.failed_at is null),
         coalesce(sum(n.segments) filter (where n.sent_at is not null and o.sent_at is null), 0)
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
    segments = s.segments + excluded.segments,
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
  insert into public.campaign_stats as s (campaign_id, sent, delivered, failed, segments)
  select n.campaign_id, count(n.sent_at), count(n.delivered_at), count(n.failed_at),
         coalesce(sum(n.segments) filter (where n.sent_at is not null), 0)
  from new_rows n
  where n.campaign_id is not null and n.direction = 'outbound'
    and coalesce(n.sent_at, n.delivered_at, n.failed_at) is not null
  group by n.campaign_id
  on conflict (campaign_id) do update set
    sent = s.sent + excluded.sent,
    delivered = s.delivered + excluded.delivered,
    failed = s.failed + excluded.failed,
    segments = s.segments + excluded.segments,
    updated_at = now();
  return null;
end
$$;

revoke all on function app_private.count_sms_outcomes() from public;
revoke all on function app_private.count_sms_outcomes_inserted() from public;

-- campaign_performance gains the segments (a new last column: the view is replaced in place).
create or replace view public.campaign_performance with (security_invoker = true) as
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
       round(s.delivered::numeric / nullif(s.sent, 0), 4) as delivery_rate,
       round(s.failed::numeric / nullif(s.sent, 0), 4) as failure_rate,
       round(s.opened::numeric / nullif(s.delivered, 0), 4) as open_rate,
       round(s.clicked::numeric / nullif(s.delivered, 0), 4) as click_rate,
       round(s.bounced::numeric / nullif(s.sent, 0), 4) as bounce_rate,
       round(s.unsubscribed::numeric / nullif(s.sent, 0), 4) as unsubscribe_rate,
       s.updated_at as counted_at,
       coalesce(s.segments, 0) as segments
from public.campaigns c
left join public.campaign_stats s on s.campaign_id = c.id;

revoke all on public.campaign_performance from anon, authenticated;
grant select on public.campaign_performance to authenticated, service_role;
