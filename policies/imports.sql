-- single-use oauth states and keyless import runs (V12).
--   oauth_states   service_role only (oauth-start records, oauth-callback consumes); nobody else
--   import_runs    members read (as import_tables); service_role writes (the load runs as it)

alter table public.oauth_states enable row level security;
alter table public.oauth_states force row level security;

revoke all on public.oauth_states from anon, authenticated;
grant select, insert, update, delete on public.oauth_states to service_role;

alter table public.import_runs enable row level security;
alter table public.import_runs force row level security;

revoke all on public.import_runs from anon, authenticated;
grant select on public.import_runs to authenticated;
grant select, insert, update, delete on public.import_runs to service_role;

drop policy if exists import_runs_select on public.import_runs;
create policy import_runs_select on public.import_runs
  for select to authenticated
  using ((select app_private.is_member()));
