-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V3__campaigns.sql

-- campaigns: contacts and their consent, audiences, suppressions, templates, campaigns,
-- and the sms/email messages they produce with the provider events that follow.
--
-- compliance lives in the data: per-channel consent on the contact (with source and
-- time), an append-style consent history, and a suppression list the dispatcher checks
-- before every send.

-- ---------------------------------------------------------------------------
-- contacts
-- ---------------------------------------------------------------------------
create table public.contacts (
  id uuid primary key default gen_random_uuid(),
  email text check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  -- e.164: '+', country code, subscriber number; at most 15 digits.
  phone text check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  first_name text,
  last_name text,
  -- the recipient's zone, for quiet hours; null falls back to the default_time_zone setting.
  time_zone text check (time_zone is null or app_private.is_valid_time_zone(time_zone)),
  locale text,
  attributes jsonb not null default '{}',
  sms_consent text not null default 'unknown' check (sms_consent in ('granted', 'denied', 'unknown')),
  sms_consent_source text,
  sms_consent_at timestamptz,
  email_consent text not null default 'unknown' check (email_consent in ('granted', 'denied', 'unknown')),
  email_consent_source text,
  email_consent_at timestamptz,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint contacts_email_or_phone check (email is not null or phone is not null)
);

comment on table public.contacts is 'people campaigns reach. users and admins read and write; only admins delete.';

-- one contact per address: imports upsert on these.
create unique index contacts_email_key on public.contacts (lower(email)) where email is not null;
create unique index contacts_phone_key on public.contacts (phone) where phone is not null;
create index contacts_created_by_idx on public.contacts (created_by);

create trigger contacts_set_updated_at
  before update on public.contacts
  for each row execute function public.set_updated_at();

alter table public.contacts enable row level security;
alter table public.contacts force row level security;

revoke all on public.contacts from anon;
grant select, insert, update, delete on public.contacts to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- audiences and their members
-- ---------------------------------------------------------------------------
create table public.audiences (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  description text,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.audiences is 'named lists of contacts a campaign is sent to.';

create index audiences_created_by_idx on public.audiences (created_by);

create trigger audiences_set_updated_at
  before update on public.audiences
  for each row execute function public.set_updated_at();

alter table public.audiences enable row level security;
alter table public.audiences force row level security;

revoke all on public.audiences from anon;
grant select, insert, update, delete on public.audiences to authenticated, service_role;

create table public.audience_contacts (
  audience_id uuid not null references public.audiences (id) on delete cascade,
  contact_id uuid not null references public.contacts (id) on delete cascade,
  added_at timestamptz not null default now(),
  primary key (audience_id, contact_id)
);

comment on table public.audience_contacts is 'membership of contacts in audiences.';

-- the primary key covers audience_id; this covers contact_id (cascades, "which audiences").
create index audience_contacts_contact_id_idx on public.audience_contacts (contact_id);

alter table public.audience_contacts enable row level security;
alter table public.audience_contacts force row level security;

revoke all on public.audience_contacts from anon;
grant select, insert, update, delete on public.audience_contacts to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- contact_consents: consent history (evidence for every grant and revocation)
-- ---------------------------------------------------------------------------
-- the current state is denormalised onto contacts (sms_consent, email_consent); this
-- table keeps how and when each change was captured. new facts are new rows.
create table public.contact_consents (
  id uuid primary key default gen_random_uuid(),
  contact_id uuid not null references public.contacts (id) on delete cascade,
  channel text not null check (channel in ('sms', 'email')),
  status text not null check (status in ('granted', 'revoked')),
  source text not null,
  captured_at timestamptz not null default now(),
  ip text,
  evidence jsonb,
  created_by uuid default auth.uid() references auth.users (id) on delete set null
);

comment on table public.contact_consents is 'consent records: who agreed (or withdrew) to what channel, when, where and how.';

create index contact_consents_contact_id_idx on public.contact_consents (contact_id, channel, captured_at desc);
create index contact_consents_created_by_idx on public.contact_consents (created_by);

alter table public.contact_consents enable row level security;
alter table public.contact_consents force row level security;

revoke all on public.contact_consents from anon;
grant select, insert, update, delete on public.contact_consents to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- suppressions: addresses that must never be messaged on a channel
-- ---------------------------------------------------------------------------
create table public.suppressions (
  id uuid primary key default gen_random_uuid(),
  channel text not null check (channel in ('sms', 'email')),
  -- normalised so lookups are exact: e.164 for sms, lower-case for email.
  address text not null,
  reason text not null check (
    reason in ('unsubscribe', 'stop_keyword', 'bounce', 'spam_report', 'invalid', 'manual', 'provider_opt_out')
  ),
  source text,
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  unique (channel, address),
  constraint suppressions_address_normalised check (
    (channel = 'sms' and address ~ '^\+[1-9][0-9]{6,14}$')
    or (channel = 'email' and address = lower(address) and address ~ '^[^@[:space:]]+@[^@[:space:]]+$')
  )
);

comment on table public.suppressions is 'do-not-contact list per channel (opt-outs, bounces, complaints, manual blocks).';

create index suppressions_created_by_idx on public.suppressions (created_by);

alter table public.suppressions enable row level security;
alter table public.suppressions force row level security;

revoke all on public.suppressions from anon;
grant select, insert, update, delete on public.suppressions to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- templates
-- ---------------------------------------------------------------------------
create table public.templates (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  channel text not null check (channel in ('sms', 'email')),
  subject text,
  -- text with {{variables}}; for email the plain-text part.
  body text not null,
  html_body text,
  -- the variables the body uses, as extracted when saved.
  variables text[],
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.templates is 'message templates with {{variables}}. members read; users write their own; admins all.';

create index templates_created_by_idx on public.templates (created_by);

create trigger templates_set_updated_at
  before update on public.templates
  for each row execute function public.set_updated_at();

alter table public.templates enable row level security;
alter table public.templates force row level security;

revoke all on public.templates from anon;
grant select, insert, update, delete on public.templates to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- campaigns
-- ---------------------------------------------------------------------------
create table public.campaigns (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(name) between 1 and 200),
  channel text not null check (channel in ('sms', 'email')),
  status text not null default 'draft'
    check (status in ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
  template_id uuid references public.templates (id) on delete set null,
  audience_id uuid references public.audiences (id) on delete set null,
  send_at timestamptz,
  from_address text,
  settings jsonb not null default '{}',
  -- counters maintained by the dispatcher and webhook processing.
  stats jsonb not null default '{}',
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz
);

comment on table public.campaigns is 'sms and email campaigns. members read; users write their own; admins all.';

create index campaigns_template_id_idx on public.campaigns (template_id);
create index campaigns_audience_id_idx on public.campaigns (audience_id);
create index campaigns_created_by_idx on public.campaigns (created_by);
-- the scheduler's scan for campaigns that are due.
create index campaigns_due_idx on public.campaigns (send_at) where status = 'scheduled';

create trigger campaigns_set_updated_at
  before update on public.campaigns
  for each row execute function public.set_updated_at();

alter table public.campaigns enable row level security;
alter table public.campaigns force row level security;

revoke all on public.campaigns from anon;
grant select, insert, update, delete on public.campaigns to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- sms_messages and email_messages: one row per message, claimed before it is sent
-- ---------------------------------------------------------------------------
-- a message is never sent twice: the dispatcher moves a row queued -> claimed -> sending
-- before calling the provider; a row found in 'sending' after a crash becomes 'unknown'
-- rather than being re-sent. inbound sms are stored with status 'received'.
create table public.sms_messages (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid references public.campaigns (id) on delete set null,
  contact_id uuid references public.contacts (id) on delete set null,
  direction text not null default 'outbound' check (direction in ('outbound', 'inbound')),
  to_phone text not null,
  from_phone text,
  body text not null,
  status text not null default 'queued' check (
    status in ('queued', 'claimed', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'unknown', 'received')
  ),
  provider text,
  provider_message_id text unique,
  error_code text,
  error_message text,
  segments integer check (segments is null or segments > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz
);

comment on table public.sms_messages is 'outbound and inbound sms. users and admins read; only service_role writes.';

create index sms_messages_campaign_id_idx on public.sms_messages (campaign_id, status);
create index sms_messages_contact_id_idx on public.sms_messages (contact_id);
-- the dispatcher's work list.
create index sms_messages_queued_idx on public.sms_messages (created_at) where status = 'queued';

create trigger sms_messages_set_updated_at
  before update on public.sms_messages
  for each row execute function public.set_updated_at();

alter table public.sms_messages enable row level security;
alter table public.sms_messages force row level security;

revoke all on public.sms_messages from anon;
grant select, insert, update, delete on public.sms_messages to authenticated, service_role;

create table public.email_messages (
  id uuid primary key default gen_random_uuid(),
  campaign_id uuid references public.campaigns (id) on delete set null,
  contact_id uuid references public.contacts (id) on delete set null,
  to_email text not null,
  from_email text,
  subject text,
  -- plain-text and html parts as rendered for this recipient.
  body text,
  html_body text,
  status text not null default 'queued' check (
    status in ('queued', 'claimed', 'sending', 'sent', 'delivered', 'opened', 'clicked', 'bounced',
               'dropped', 'deferred', 'failed', 'unknown', 'spam_report', 'unsubscribed')
  ),
  provider text,
  provider_message_id text unique,
  error_code text,
  error_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  delivered_at timestamptz,
  opened_at timestamptz,
  clicked_at timestamptz,
  constraint email_messages_has_body check (body is not null or html_body is not null)
);

comment on table public.email_messages is 'outbound email. users and admins read; only service_role writes.';

create index email_messages_campaign_id_idx on public.email_messages (campaign_id, status);
create index email_messages_contact_id_idx on public.email_messages (contact_id);
create index email_messages_queued_idx on public.email_messages (created_at) where status = 'queued';

create trigger email_messages_set_updated_at
  before update on public.email_messages
  for each row execute function public.set_updated_at();

alter table public.email_messages enable row level security;
alter table public.email_messages force row level security;

revoke all on public.email_messages from anon;
grant select, insert, update, delete on public.email_messages to authenticated, service_role;

-- ---------------------------------------------------------------------------
-- message_events: provider webhooks, deduplicated on the provider's event id
-- ---------------------------------------------------------------------------
create table public.message_events (
  id bigint generated always as identity primary key,
  channel text not null check (channel in ('sms', 'email')),
  provider text not null,
  provider_event_id text not null,
  -- sms_messages.id or email_messages.id (by channel); null when the message is unknown
  -- to us (e.g. sent outside gimbal). no foreign key: it spans two tables.
  message_id uuid,
  event_type text not null,
  payload jsonb,
  occurred_at timestamptz,
  received_at timestamptz not null default now(),
  -- a webhook delivered twice is stored once.
  unique (provider, provider_event_id)
);

comment on table public.message_events is 'delivery, engagement and opt-out events from providers. users and admins read.';

create index message_events_message_id_idx on public.message_events (message_id) where message_id is not null;

alter table public.message_events enable row level security;
alter table public.message_events force row level security;

revoke all on public.message_events from anon;
grant select, insert, update, delete on public.message_events to authenticated, service_role;
grant usage, select on sequence public.message_events_id_seq to authenticated, service_role;
