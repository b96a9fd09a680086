-- demo data for the local stack: three people to sign in as, company settings, a small
-- contact list with consent, templates and campaigns, a ga4-style data source with ninety
-- days of metrics, a report, a dashboard and the nightly maintenance schedule.
--
-- runs as a superuser after the migrations and policies. every row has a fixed id or a
-- natural key and every insert is `on conflict do nothing`, so running it again is a
-- no-op. addresses are from reserved ranges (example.com, +1 555-01xx): nothing here can
-- reach a real person.

-- ---------------------------------------------------------------------------
-- people (the cli prints a ready-made token for each)
-- ---------------------------------------------------------------------------
-- the application role lives in app_metadata (users cannot change it); user_metadata only
-- carries profile data.
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at
) values
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000000a', 'authenticated', 'authenticated',
   'admin@gimbal.local', '', now(),
   '{"provider": "email", "providers": ["email"], "role": "admin"}', '{"full_name": "Ada Admin"}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000000b', 'authenticated', 'authenticated',
   'user@gimbal.local', '', now(),
   '{"provider": "email", "providers": ["email"], "role": "user"}', '{"full_name": "Uma User"}', now(), now()),
  ('00000000-0000-0000-0000-000000000000', '00000000-0000-4000-8000-00000000000c', 'authenticated', 'authenticated',
   'viewer@gimbal.local', '', now(),
   '{"provider": "email", "providers": ["email"], "role": "viewer"}', '{"full_name": "Vic Viewer"}', now(), now())
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- company settings
-- ---------------------------------------------------------------------------
-- the postal address goes into every marketing email footer (can-spam); quiet hours are
-- applied in each recipient's own time zone, the default zone when a contact has none.
insert into public.app_settings (key, value, description) values
  ('company_name', '"Gimbal Demo Co."', 'sender name shown in messages and footers'),
  ('company_postal_address', '"100 Example Street, Suite 5, Springfield, IL 62701, USA"',
   'physical postal address required in marketing email footers'),
  ('default_time_zone', '"America/Chicago"', 'zone used for contacts without one and for schedules'),
  ('quiet_hours', '{"start": "08:00", "end": "21:00"}',
   'messages are only sent between start and end, recipient local time'),
  ('rate_limit.sms', '{"per_second": 1, "burst": 5}', 'sms sends per second per sender'),
  ('rate_limit.email', '{"per_second": 10, "burst": 50}', 'email sends per second')
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- contacts, with consent captured on the signup form
-- ---------------------------------------------------------------------------
insert into public.contacts (
  id, email, phone, first_name, last_name, time_zone, locale, attributes,
  sms_consent, sms_consent_source, sms_consent_at,
  email_consent, email_consent_source, email_consent_at, created_by
)
select c.id::uuid, c.email, c.phone, c.first_name, c.last_name, c.time_zone, c.locale, c.attributes::jsonb,
       c.sms_consent, case when c.sms_consent <> 'unknown' then 'web_form' end,
       case when c.sms_consent <> 'unknown' then now() - interval '60 days' end,
       c.email_consent, case when c.email_consent <> 'unknown' then 'web_form' end,
       case when c.email_consent <> 'unknown' then now() - interval '60 days' end,
       '00000000-0000-4000-8000-00000000000a'
from (values
  ('c0000000-0000-4000-8000-000000000001', 'alice.nguyen@example.com',   '+15550100101', 'Alice',   'Nguyen',   'America/New_York',    'en-US', '{"plan": "pro"}',     'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000002', 'bruno.silva@example.com',    '+15550100102', 'Bruno',   'Silva',    'America/Sao_Paulo',   'pt-BR', '{"plan": "free"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000003', 'chloe.martin@example.com',   null,           'Chloé',   'Martin',   'Europe/Paris',        'fr-FR', '{"plan": "pro"}',     'unknown', 'granted'),
  ('c0000000-0000-4000-8000-000000000004', 'dev.patel@example.com',      '+15550100104', 'Dev',     'Patel',    'Asia/Kolkata',        'en-IN', '{"plan": "team"}',    'granted', 'denied'),
  ('c0000000-0000-4000-8000-000000000005', 'emma.jones@example.com',     '+15550100105', 'Emma',    'Jones',    'Europe/London',       'en-GB', '{"plan": "free"}',    'denied',  'granted'),
  ('c0000000-0000-4000-8000-000000000006', 'felix.wagner@example.com',   null,           'Felix',   'Wagner',   'Europe/Berlin',       'de-DE', '{"plan": "pro"}',     'unknown', 'granted'),
  ('c0000000-0000-4000-8000-000000000007', 'grace.kim@example.com',      '+15550100107', 'Grace',   'Kim',      'America/Los_Angeles', 'en-US', '{"plan": "team"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000008', 'hiro.tanaka@example.com',    '+15550100108', 'Hiro',    'Tanaka',   'Asia/Tokyo',          'ja-JP', '{"plan": "pro"}',     'granted', 'unknown'),
  ('c0000000-0000-4000-8000-000000000009', 'isla.brown@example.com',     '+15550100109', 'Isla',    'Brown',    'Australia/Sydney',    'en-AU', '{"plan": "free"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000010', 'jamal.carter@example.com',   '+15550100110', 'Jamal',   'Carter',   'America/Chicago',     'en-US', '{"plan": "pro"}',     'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000011', null,                         '+15550100111', 'Kai',     'Kahale',   'Pacific/Honolulu',    'en-US', '{}',                  'granted', 'unknown'),
  ('c0000000-0000-4000-8000-000000000012', 'lena.ivanova@example.com',   '+15550100112', 'Lena',    'Ivanova',  'America/Denver',      'en-US', '{"plan": "team"}',    'unknown', 'granted'),
  ('c0000000-0000-4000-8000-000000000013', 'mateo.garcia@example.com',   '+15550100113', 'Mateo',   'García',   'America/Phoenix',     'es-US', '{"plan": "free"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000014', 'nora.olsen@example.com',     '+15550100114', 'Nora',    'Olsen',    'America/Anchorage',   'en-US', '{"plan": "pro"}',     'denied',  'denied'),
  ('c0000000-0000-4000-8000-000000000015', 'omar.haddad@example.com',    '+15550100115', 'Omar',    'Haddad',   'America/Toronto',     'en-CA', '{"plan": "team"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000016', 'priya.shah@example.com',     null,           'Priya',   'Shah',     'America/New_York',    'en-US', '{"plan": "free"}',    'unknown', 'granted'),
  ('c0000000-0000-4000-8000-000000000017', 'quinn.reyes@example.com',    '+15550100117', 'Quinn',   'Reyes',    'America/Los_Angeles', 'en-US', '{"plan": "pro"}',     'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000018', 'rosa.ferreira@example.com',  '+15550100118', 'Rosa',    'Ferreira', 'Europe/Lisbon',       'pt-PT', '{"plan": "free"}',    'granted', 'unknown'),
  ('c0000000-0000-4000-8000-000000000019', 'sam.oconnor@example.com',    '+15550100119', 'Sam',     'O''Connor', 'Europe/Dublin',      'en-IE', '{"plan": "team"}',    'granted', 'granted'),
  ('c0000000-0000-4000-8000-000000000020', 'tara.lee@example.com',       '+15550100120', 'Tara',    'Lee',      null,                  'en-US', '{"plan": "pro"}',     'unknown', 'granted')
) as c (id, email, phone, first_name, last_name, time_zone, locale, attributes, sms_consent, email_consent)
on conflict do nothing;

-- the evidence behind each consent decision above (ids derived from contact and channel).
insert into public.contact_consents (id, contact_id, channel, status, source, captured_at, ip, evidence, created_by)
select md5('seed-consent-' || c.id || '-' || ch.channel)::uuid,
       c.id, ch.channel,
       case ch.consent when 'granted' then 'granted' else 'revoked' end,
       'web_form', now() - interval '60 days', '192.0.2.10',
       jsonb_build_object('form', 'newsletter_signup', 'checkbox', ch.channel || '_marketing'),
       '00000000-0000-4000-8000-00000000000a'
from public.contacts c
cross join lateral (values ('sms', c.sms_consent), ('email', c.email_consent)) as ch (channel, consent)
where c.id::text like 'c0000000-0000-4000-8000-0000000000%'
  and ch.consent <> 'unknown'
on conflict do nothing;

-- opted-out people stay suppressed even if re-imported.
insert into public.suppressions (id, channel, address, reason, source, created_by) values
  ('5e000000-0000-4000-8000-000000000001', 'sms', '+15550100105', 'stop_keyword', 'inbound sms STOP', null),
  ('5e000000-0000-4000-8000-000000000002', 'sms', '+15550100114', 'stop_keyword', 'inbound sms STOP', null),
  ('5e000000-0000-4000-8000-000000000003', 'email', 'nora.olsen@example.com', 'unsubscribe', 'one-click unsubscribe', null),
  ('5e000000-0000-4000-8000-000000000004', 'email', 'bounced.address@example.com', 'bounce', 'provider hard bounce', null)
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- audiences
-- ---------------------------------------------------------------------------
insert into public.audiences (id, name, description, created_by) values
  ('a0000000-0000-4000-8000-000000000001', 'All subscribers', 'every contact in the demo list',
   '00000000-0000-4000-8000-00000000000a'),
  ('a0000000-0000-4000-8000-000000000002', 'Pro plan, North America', 'pro-plan contacts in american time zones',
   '00000000-0000-4000-8000-00000000000b')
on conflict do nothing;

insert into public.audience_contacts (audience_id, contact_id)
select 'a0000000-0000-4000-8000-000000000001'::uuid, c.id
from public.contacts c
where c.id::text like 'c0000000-0000-4000-8000-0000000000%'
on conflict do nothing;

insert into public.audience_contacts (audience_id, contact_id)
select 'a0000000-0000-4000-8000-000000000002'::uuid, c.id
from public.contacts c
where c.id::text like 'c0000000-0000-4000-8000-0000000000%'
  and c.attributes ->> 'plan' = 'pro'
  and c.time_zone like 'America/%'
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- templates and campaigns
-- ---------------------------------------------------------------------------
insert into public.templates (id, name, channel, subject, body, html_body, variables, created_by) values
  ('7e000000-0000-4000-8000-000000000001', 'Spring sale (sms)', 'sms', null,
   'Hi {{first_name}}, our spring sale starts today: 20% off with code SPRING. Reply STOP to opt out.',
   null, array['first_name'], '00000000-0000-4000-8000-00000000000b'),
  ('7e000000-0000-4000-8000-000000000002', 'Monthly newsletter', 'email', '{{first_name}}, here is what is new this month',
   E'Hi {{first_name}},\n\nHere is what changed at {{company_name}} this month.\n\nThanks for reading!',
   '<p>Hi {{first_name}},</p><p>Here is what changed at {{company_name}} this month.</p><p>Thanks for reading!</p>',
   array['first_name', 'company_name'], '00000000-0000-4000-8000-00000000000a')
on conflict do nothing;

insert into public.campaigns (
  id, name, channel, status, template_id, audience_id, send_at, from_address, settings, stats,
  created_by, started_at, completed_at
) values
  ('ca000000-0000-4000-8000-000000000001', 'Spring sale', 'sms', 'completed',
   '7e000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001',
   now() - interval '20 days', '+15550100199', '{"respect_quiet_hours": true}',
   '{"queued": 0, "sent": 13, "delivered": 12, "failed": 1, "suppressed": 2}',
   '00000000-0000-4000-8000-00000000000b', now() - interval '20 days', now() - interval '20 days' + interval '2 hours'),
  ('ca000000-0000-4000-8000-000000000002', 'May newsletter', 'email', 'scheduled',
   '7e000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001',
   now() + interval '3 days', 'news@example.com', '{"respect_quiet_hours": true}', '{}',
   '00000000-0000-4000-8000-00000000000a', null, null),
  ('ca000000-0000-4000-8000-000000000003', 'Summer teaser', 'sms', 'draft',
   '7e000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000002',
   null, null, '{}', '{}',
   '00000000-0000-4000-8000-00000000000b', null, null)
on conflict do nothing;

-- what the completed campaign sent: one message per consenting, unsuppressed contact.
insert into public.sms_messages (
  id, campaign_id, contact_id, to_phone, from_phone, body, status, provider, provider_message_id,
  segments, created_at, sent_at, delivered_at
)
select md5('seed-sms-' || c.id)::uuid,
       'ca000000-0000-4000-8000-000000000001', c.id, c.phone, '+15550100199',
       'Hi ' || c.first_name || ', our spring sale starts today: 20% off with code SPRING. Reply STOP to opt out.',
       case when c.id = 'c0000000-0000-4000-8000-000000000009' then 'failed' else 'delivered' end,
       'local', 'SMseed' || substr(md5('seed-sms-' || c.id), 1, 26),
       1, now() - interval '20 days', now() - interval '20 days',
       case when c.id = 'c0000000-0000-4000-8000-000000000009' then null else now() - interval '20 days' + interval '1 minute' end
from public.contacts c
where c.id::text like 'c0000000-0000-4000-8000-0000000000%'
  and c.sms_consent = 'granted'
  and c.phone is not null
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- analytics: a ga4-style source and ninety days of daily metrics
-- ---------------------------------------------------------------------------
insert into public.data_sources (id, name, kind, config, status, last_synced_at, created_by) values
  ('da000000-0000-4000-8000-000000000001', 'Website (GA4 demo)', 'ga4',
   '{"property_id": "demo-123456", "streams": ["daily_channel"]}', 'active', now() - interval '6 hours',
   '00000000-0000-4000-8000-00000000000a')
on conflict do nothing;

-- deterministic numbers (no random()): a weekly rhythm, a slow trend and per-channel scale.
insert into public.analytics_data (
  data_source_id, source, metric_date, channel, campaign_id, dimensions,
  sessions, users, conversions, revenue, impressions, clicks, spend, natural_key
)
select 'da000000-0000-4000-8000-000000000001', 'ga4', m.day, ch.channel,
       case when ch.channel = 'sms' and m.day = current_date - 20 then 'ca000000-0000-4000-8000-000000000001'::uuid end,
       jsonb_build_object('channel_group', ch.channel),
       m.sessions, (m.sessions * 0.82)::bigint, round(m.sessions * ch.conversion_rate, 0),
       round(m.sessions * ch.conversion_rate * 48.5, 2),
       case when ch.paid then m.sessions * 30 end,
       case when ch.paid then (m.sessions * 1.1)::bigint end,
       case when ch.paid then round(m.sessions * 0.35, 2) end,
       'ga4:' || m.day || ':' || ch.channel
from (values
  ('organic',     1.00, 0.020, false),
  ('paid_social', 0.60, 0.015, true),
  ('email',       0.35, 0.045, false),
  ('sms',         0.15, 0.060, false)
) as ch (channel, scale, conversion_rate, paid)
cross join lateral (
  select d::date as day,
         greatest(1, round(ch.scale * (
           400
           + 3 * (d::date - (current_date - 89))                        -- growth
           + 60 * sin(extract(doy from d) / 3.0)                        -- wobble
           - case when extract(isodow from d) in (6, 7) then 120 else 0 end  -- weekends
         )))::bigint as sessions
  from generate_series(current_date - 89, current_date, interval '1 day') as d
) as m
on conflict do nothing;

insert into public.sync_logs (
  id, data_source_id, status, rows_read, rows_inserted, rows_updated, rows_rejected,
  cursor_before, cursor_after, started_at, finished_at
) values
  ('5c000000-0000-4000-8000-000000000001', 'da000000-0000-4000-8000-000000000001', 'succeeded',
   360, 360, 0, 0, null, '{"last_date": "today"}', now() - interval '6 hours 2 minutes', now() - interval '6 hours')
on conflict do nothing;

insert into public.reports (id, name, description, definition, is_template, schedule, time_zone, created_by) values
  ('be000000-0000-4000-8000-000000000001', 'Weekly channel performance',
   'sessions, conversions and revenue by channel for the last seven days',
   '{"metrics": ["sessions", "conversions", "revenue"], "dimensions": ["channel"], "range": "last_7_days", "format": "pdf"}',
   false, '0 8 * * 1', 'America/Chicago', '00000000-0000-4000-8000-00000000000a')
on conflict do nothing;

insert into public.dashboards (id, name, description, layout, created_by) values
  ('db000000-0000-4000-8000-000000000001', 'Marketing overview', 'traffic, conversions and campaign results',
   '{"widgets": [
      {"id": "sessions", "type": "metric", "metric": "sessions", "range": "last_30_days", "x": 0, "y": 0, "w": 3, "h": 2},
      {"id": "revenue", "type": "metric", "metric": "revenue", "range": "last_30_days", "x": 3, "y": 0, "w": 3, "h": 2},
      {"id": "by_channel", "type": "chart", "chart": "line", "metric": "sessions", "dimension": "channel", "range": "last_90_days", "x": 0, "y": 2, "w": 6, "h": 4}
    ]}',
   '00000000-0000-4000-8000-00000000000a')
on conflict do nothing;

-- ---------------------------------------------------------------------------
-- schedules and a welcome notification
-- ---------------------------------------------------------------------------
insert into public.cron_schedules (name, cron, time_zone, job_kind, payload, enabled, created_by) values
  ('maintenance.purge-jobs', '15 3 * * *', 'UTC', 'maintenance.purge_jobs', '{"older_than_days": 14}', true,
   '00000000-0000-4000-8000-00000000000a')
on conflict do nothing;

insert into public.notification_preferences (user_id, event_type, in_app, email, sms) values
  ('00000000-0000-4000-8000-00000000000a', 'campaign.completed', true, true, false),
  ('00000000-0000-4000-8000-00000000000a', 'sync.failed', true, true, false),
  ('00000000-0000-4000-8000-00000000000b', 'campaign.completed', true, false, false)
on conflict do nothing;

insert into public.notifications (id, user_id, kind, title, body, data) values
  ('0f000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000a', 'welcome',
   'Welcome to Gimbal', 'Demo data is loaded: explore the Marketing overview dashboard.', '{"link": "/dashboards"}'),
  ('0f000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-00000000000b', 'campaign.completed',
   'Spring sale finished', '12 of 13 messages were delivered.', '{"campaign_id": "ca000000-0000-4000-8000-000000000001"}')
on conflict do nothing;
