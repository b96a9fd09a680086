-- schema-wide guarantees: every public table has row-level security enabled and forced,
-- policies only ever name authenticated or service_role and read the caller once per
-- statement, anon holds no privilege, foreign keys and policy columns are indexed,
-- updated_at is maintained, and the checks that keep data valid are in place.

begin;
select plan(36);

-- ---------------------------------------------------------------------------
-- the tables
-- ---------------------------------------------------------------------------
select tables_are(
  'public',
  array[
    'app_settings', 'secrets', 'audit_logs', 'notifications', 'notification_preferences',
    'cron_schedules', 'jobs',
    'contacts', 'audiences', 'audience_contacts', 'contact_consents', 'suppressions',
    'templates', 'campaigns', 'sms_messages', 'email_messages', 'message_events',
    'data_sources', 'import_tables', 'imported_data', 'analytics_data', 'sync_logs',
    'reports', 'dashboards',
    'campaign_stats',
    'message_stats_hourly', 'message_totals_hourly', 'analytics_daily', 'analytics_totals_daily',
    'report_runs',
    'local_outbox',
    'oauth_states', 'import_runs'
  ],
  'public holds exactly the application tables'
);

-- ---------------------------------------------------------------------------
-- row-level security
-- ---------------------------------------------------------------------------
select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relrowsecurity$$,
  'rls is enabled on every table in public'
);

select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not c.relforcerowsecurity$$,
  'rls is forced on every table in public'
);

select is_empty(
  $$select tablename, policyname from pg_catalog.pg_policies
    where schemaname = 'public' and roles && array['anon', 'public']::name[]$$,
  'no policy applies to anon (or to public, which would include anon)'
);

select is_empty(
  $$select tablename, policyname from pg_catalog.pg_policies
    where schemaname = 'public'
      and not roles <@ array['authenticated', 'service_role']::name[]$$,
  'every policy names its role: authenticated or service_role'
);

-- row-independent calls must run once per statement: every auth.uid() and every
-- app_private helper in a policy sits in a sub-select (an initplan), which postgres
-- deparses as "( SELECT auth.uid() AS uid)".
select is_empty(
  $$select tablename, policyname from pg_catalog.pg_policies,
      lateral (select coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr) e
    where schemaname = 'public'
      and (regexp_count(e.expr, 'auth\.uid\(\)') <> regexp_count(e.expr, 'SELECT auth\.uid\(\)')
        or regexp_count(e.expr, 'app_private\.\w+\(\)') <> regexp_count(e.expr, 'SELECT app_private\.\w+\(\)'))$$,
  'policies wrap auth.uid() and the role helpers in sub-selects'
);

-- ---------------------------------------------------------------------------
-- privileges
-- ---------------------------------------------------------------------------
select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
      -- objects of extensions (pgtap's own views when testing) are not ours
      and not exists (select 1 from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      and (has_table_privilege('anon', c.oid, 'select, insert, update, delete, truncate, references, trigger')
        or has_any_column_privilege('anon', c.oid, 'select, insert, update, references'))$$,
  'anon holds no privilege on any table in public'
);

select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind = 'S'
      -- (case: has_sequence_privilege raises on anything that is not a sequence)
      and case when c.relkind = 'S' then has_sequence_privilege('anon', c.oid, 'usage, select, update') end$$,
  'anon holds no privilege on any sequence in public'
);

-- truncate ignores rls, so no api role but service_role may ever hold it.
select is_empty(
  $$select c.relname from pg_catalog.pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and has_table_privilege('authenticated', c.oid, 'truncate, references, trigger')$$,
  'authenticated holds no truncate, references or trigger privilege'
);

select ok(
  not has_column_privilege('authenticated', 'public.secrets', 'ciphertext', 'select')
    and not has_column_privilege('authenticated', 'public.secrets', 'nonce', 'select'),
  'authenticated may not select secrets.ciphertext or secrets.nonce'
);

select ok(
  has_column_privilege('authenticated', 'public.secrets', 'id', 'select')
    and has_column_privilege('authenticated', 'public.secrets', 'name', 'select')
    and has_column_privilege('authenticated', 'public.secrets', 'key_id', 'select'),
  'authenticated may select the secrets metadata columns'
);

select ok(
  not has_table_privilege('service_role', 'public.audit_logs', 'update')
    and not has_table_privilege('service_role', 'public.audit_logs', 'delete')
    and not has_table_privilege('service_role', 'public.audit_logs', 'truncate')
    and not has_table_privilege('authenticated', 'public.audit_logs', 'insert'),
  'audit_logs is append-only: no update, delete or truncate for service_role, no insert for clients'
);

select ok(
  (select rolbypassrls from pg_catalog.pg_roles where rolname = 'service_role')
    and not (select rolbypassrls from pg_catalog.pg_roles where rolname = 'authenticated')
    and not (select rolbypassrls from pg_catalog.pg_roles where rolname = 'anon'),
  'only service_role bypasses rls'
);

-- ---------------------------------------------------------------------------
-- indexes
-- ---------------------------------------------------------------------------
-- an index whose leading columns are the foreign key's columns (in any order).
select is_empty(
  $$select con.conrelid::regclass as table_name, con.conname
    from pg_catalog.pg_constraint con
    where con.contype = 'f'
      and con.connamespace = 'public'::regnamespace
      and not exists (
        select 1 from pg_catalog.pg_index i
        where i.indrelid = con.conrelid
          and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)] @> con.conkey
          and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(con.conkey)] <@ con.conkey
      )$$,
  'every foreign key column has an index'
);

-- policy columns: created_by and user_id lead an index wherever a policy compares them.
select is_empty(
  $$select p.tablename, col
    from pg_catalog.pg_policies p,
      lateral unnest(array['created_by', 'user_id']) col
    where p.schemaname = 'public'
      and (coalesce(p.qual, '') || coalesce(p.with_check, '')) ~ ('\m' || col || '\M')
      and not exists (
        select 1 from pg_catalog.pg_index i
          join pg_catalog.pg_attribute a
            on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
        where i.indrelid = ('public.' || p.tablename)::regclass and a.attname = col
      )$$,
  'every column a policy filters on leads an index'
);

select has_index('public', 'jobs', 'jobs_claim_idx', array['priority', 'run_at', 'id'], 'jobs has its claim index');
select has_index('public', 'jobs', 'jobs_lease_idx', 'locked_until', 'jobs has its lease index');
select index_is_unique('public', 'jobs', 'jobs_dedupe_idx', 'jobs_dedupe_idx is unique');

-- ---------------------------------------------------------------------------
-- updated_at
-- ---------------------------------------------------------------------------
select is_empty(
  $$select c.table_name from information_schema.columns c
    where c.table_schema = 'public' and c.column_name = 'updated_at'
      and not exists (
        select 1 from pg_catalog.pg_trigger t
        where t.tgrelid = ('public.' || c.table_name)::regclass
          and t.tgfoid = 'public.set_updated_at()'::regprocedure
          and not t.tgisinternal
      )$$,
  'every table with updated_at runs set_updated_at()'
);

insert into public.audiences (id, name, created_at, updated_at)
values ('f00000aa-0000-4000-8000-000000000001', 'schema test', now() - interval '1 day', now() - interval '1 day');
-- now() is the transaction's start, so compare against the value written a day back.
update public.audiences set name = 'schema test, renamed' where id = 'f00000aa-0000-4000-8000-000000000001';
select ok(
  (select updated_at > now() - interval '1 hour' from public.audiences where id = 'f00000aa-0000-4000-8000-000000000001'),
  'set_updated_at() stamps updated_at on update'
);

-- ---------------------------------------------------------------------------
-- checks that keep data valid
-- ---------------------------------------------------------------------------
select throws_ok(
  $$insert into public.contacts (phone) values ('5551234567')$$,
  '23514', null, 'contacts.phone must be e.164'
);

select throws_ok(
  $$insert into public.contacts (first_name) values ('nobody')$$,
  '23514', null, 'a contact needs an email or a phone'
);

select throws_ok(
  $$insert into public.contacts (email, time_zone) values ('tz.check@example.com', 'Mars/Olympus_Mons')$$,
  '23514', null, 'contacts.time_zone must be a known zone'
);

select lives_ok(
  $$insert into public.contacts (email, phone, time_zone)
    values ('schema.check@example.com', '+15550188001', 'Europe/Paris')$$,
  'a contact with an e.164 phone and a real zone is accepted'
);

select throws_ok(
  $$insert into public.contacts (email) values ('SCHEMA.CHECK@example.com')$$,
  '23505', null, 'contact emails are unique regardless of case'
);

select throws_ok(
  $$insert into public.cron_schedules (name, cron, time_zone, job_kind)
    values ('schema.check', '0 3 * * *', 'Nowhere/City', 'maintenance.noop')$$,
  '23514', null, 'cron_schedules.time_zone must be a known zone'
);

select throws_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('schema.check.fields', '0 3 * *', 'maintenance.noop')$$,
  '23514', null, 'a cron expression has five fields'
);

select lives_ok(
  $$insert into public.cron_schedules (name, cron, job_kind) values ('schema.check.alias', '@daily', 'maintenance.noop')$$,
  'a cron alias such as @daily is accepted'
);

select throws_ok(
  $$insert into public.app_settings (key, value) values ('default_time_zone', '"Not/AZone"')
    on conflict (key) do update set value = excluded.value$$,
  '23514', null, 'the default_time_zone setting must be a known zone'
);

select throws_ok(
  $$insert into public.app_settings (key, value) values ('Bad Key', '1')$$,
  '23514', null, 'setting keys are lower-case dotted identifiers'
);

select throws_ok(
  $$insert into public.suppressions (channel, address, reason) values ('email', 'Someone@Example.com', 'manual')$$,
  '23514', null, 'suppressed email addresses are stored lower-case'
);

select throws_ok(
  $$insert into public.import_tables (table_name, columns) values ('Robert"); drop table x; --', '[]')$$,
  '23514', null, 'import table names are plain identifiers'
);

insert into public.jobs (kind, dedupe_key) values ('schema.check', 'schema-check-dedupe');
select throws_ok(
  $$insert into public.jobs (kind, dedupe_key) values ('schema.check', 'schema-check-dedupe')$$,
  '23505', null, 'one live job per dedupe key'
);

update public.jobs set status = 'succeeded' where dedupe_key = 'schema-check-dedupe';
select lives_ok(
  $$insert into public.jobs (kind, dedupe_key) values ('schema.check', 'schema-check-dedupe')$$,
  'a finished job frees its dedupe key'
);

select throws_ok(
  $$insert into public.jobs (kind, status) values ('schema.check', 'sleeping')$$,
  '23514', null, 'jobs.status is one of the queue states'
);

select throws_ok(
  $$insert into public.message_events (channel, provider, provider_event_id, event_type)
    values ('sms', 'schema', 'evt-1', 'delivered'), ('sms', 'schema', 'evt-1', 'delivered')$$,
  '23505', null, 'a provider event is stored once'
);

select * from finish();
rollback;
