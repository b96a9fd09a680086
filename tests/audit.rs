//! The audit trail: every business table records insert, update and delete with the actor;
//! updates keep only the changed columns; credentials never reach it; admins (only) query
//! and export it; old entries are purged on schedule.

use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{ADMIN, TestApp, USER, fixture_path, token_for};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

/// The tables under the audit trail and the columns that identify their rows.
const AUDITED: [(&str, &[&str]); 15] = [
    ("app_settings", &["key"]),
    ("secrets", &["id"]),
    ("notification_preferences", &["user_id", "event_type"]),
    ("cron_schedules", &["id"]),
    ("contacts", &["id"]),
    ("audiences", &["id"]),
    ("audience_contacts", &["audience_id", "contact_id"]),
    ("contact_consents", &["id"]),
    ("suppressions", &["id"]),
    ("templates", &["id"]),
    ("campaigns", &["id"]),
    ("data_sources", &["id"]),
    ("import_tables", &["id"]),
    ("reports", &["id"]),
    ("dashboards", &["id"]),
];

async fn scope_for(app: &TestApp, role: &str) -> RequestScope {
    let caller = app.state.auth.verify_token(&token_for(role)).await.unwrap();
    RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "POST".into(),
        path: "/functions/v1/audit-test".into(),
        headers: json!({}),
        statement_timeout: None,
    }
}

/// The insert and update of each table in the access-matrix oracle: rows an admin may write.
fn matrix_rows() -> Map<String, Value> {
    let matrix: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_path("rls_matrix.json")).unwrap())
            .unwrap();
    matrix["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

fn with_actor(values: &Value, actor: &str) -> Value {
    let map: Map<String, Value> = values
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if v == "$actor" {
                    json!(actor)
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    Value::Object(map)
}

async fn audit_rows(app: &TestApp, sql_filter: &str) -> Vec<Value> {
    app.db
        .superuser()
        .await
        .query(
            &format!("select to_jsonb(a) from public.audit_logs a where {sql_filter} order by id"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn every_audited_table_records_insert_update_and_delete_with_the_actor() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let specs = matrix_rows();
    for (table, pk) in AUDITED {
        let mut spec = specs[table].clone();
        if table == "notification_preferences" {
            // the oracle's update repeats the inserted value; an update that changes nothing
            // is rightly not recorded.
            spec["update"] = json!({"email": true});
        }
        let key = pk
            .iter()
            .map(|c| format!("{c}::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let row_id = format!("concat_ws(',', {key})");
        let columns = spec["insert"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let set = spec["update"]
            .as_object()
            .unwrap()
            .keys()
            .map(|c| format!("{c} = r.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut conn = app.state.pool.get().await.unwrap();
        let scope = scope_for(&app, "admin").await;
        let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite)
            .await
            .unwrap();
        let id: String = tx
            .query_one(
                &format!(
                    "insert into public.{table} ({columns})
                     select {columns} from json_populate_record(null::public.{table}, $1::json)
                     returning {row_id}"
                ),
                &[&with_actor(&spec["insert"], ADMIN)],
            )
            .await
            .unwrap_or_else(|e| panic!("{table} insert: {e:?}"))
            .get(0);
        let updated = tx
            .execute(
                &format!(
                    "update public.{table} t set {set}
                     from json_populate_record(null::public.{table}, $1::json) r
                     where concat_ws(',', {}) = $2",
                    pk.iter()
                        .map(|c| format!("t.{c}::text"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &[&with_actor(&spec["update"], ADMIN), &id],
            )
            .await
            .unwrap_or_else(|e| panic!("{table} update: {e:?}"));
        assert_eq!(updated, 1, "{table}");
        tx.execute(
            &format!("delete from public.{table} where {row_id} = $1"),
            &[&id],
        )
        .await
        .unwrap_or_else(|e| panic!("{table} delete: {e:?}"));
        tx.commit().await.unwrap();

        let rows = audit_rows(&app, &format!("table_name = '{table}' and row_id = '{id}'")).await;
        let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["insert", "update", "delete"], "{table}");
        for row in &rows {
            assert_eq!(row["actor_id"], ADMIN, "{table}");
            assert_eq!(row["actor_role"], "admin", "{table}");
            assert_eq!(row["kind"], "data", "{table}");
        }
        let update_key = spec["update"].as_object().unwrap().keys().next().unwrap();
        assert!(
            rows[1]["changed_fields"].get(update_key).is_some(),
            "{table}: the update names {update_key}: {}",
            rows[1]["changed_fields"]
        );
    }
}

#[tokio::test]
async fn updates_record_only_the_changed_columns_and_ignore_counters() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let campaign = "0000000d-0000-4000-8000-00000000000a";
    app.as_superuser(&format!(
        "update public.campaigns set name = 'Renamed', stats = '{{\"sent\": 5}}' where id = '{campaign}';
         update public.campaigns set stats = '{{\"sent\": 6}}' where id = '{campaign}';"
    ))
    .await;

    let rows = audit_rows(
        &app,
        &format!("table_name = 'campaigns' and row_id = '{campaign}'"),
    )
    .await;

    assert_eq!(
        rows.len(),
        1,
        "a counter-only update is not worth a row: {rows:?}"
    );
    let changed = rows[0]["changed_fields"].as_object().unwrap();
    let mut keys: Vec<&String> = changed.keys().collect();
    keys.sort();
    assert_eq!(keys, ["name"], "ignored columns are not recorded");
    assert_eq!(changed["name"]["new"], "Renamed");
    assert_eq!(
        rows[0]["actor_role"], "system",
        "no request scope: maintenance"
    );
    assert!(rows[0]["actor_id"].is_null());
}

#[tokio::test]
async fn changes_through_a_function_carry_the_caller_and_the_request_id() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let response = app
        .invoke(
            Method::POST,
            "campaigns",
            Some(&app.token("user")),
            Some(json!({"name": "Audited", "channel": "sms"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();

    let rows = audit_rows(
        &app,
        &format!(
            "table_name = 'campaigns' and row_id = '{}'",
            body["id"].as_str().unwrap()
        ),
    )
    .await;

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["action"], "insert");
    assert_eq!(rows[0]["actor_id"], USER);
    assert_eq!(rows[0]["actor_role"], "user");
    assert_eq!(rows[0]["request_id"], request_id.as_str());
    assert_eq!(rows[0]["changed_fields"]["name"], "Audited");
}

#[tokio::test]
async fn service_role_changes_are_attributed_to_the_service_role() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &scope_for(&app, "service_role").await,
        Access::ReadWrite,
    )
    .await
    .unwrap();
    tx.execute(
        "insert into public.audiences (name) values ('by the service')",
        &[],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let rows = audit_rows(
        &app,
        "table_name = 'audiences' and changed_fields ->> 'name' = 'by the service'",
    )
    .await;

    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["actor_role"], "service_role");
    assert!(rows[0]["actor_id"].is_null());
}

#[tokio::test]
async fn credential_columns_are_redacted_everywhere_in_the_trail() {
    let app = TestApp::spawn().await;
    // a table of another domain may have credential-like columns: enable_audit covers it.
    app.as_superuser(
        "create table public.audit_probe (id int primary key, api_key text, password_hash text, note text);
         select app_private.enable_audit('public.audit_probe');
         insert into public.audit_probe values (1, 'sk-live-PLAINTEXT', 'hash-PLAINTEXT', 'visible');
         update public.audit_probe set api_key = 'sk-live-PLAINTEXT-2', note = 'changed' where id = 1;
         delete from public.audit_probe;",
    )
    .await;

    let rows = audit_rows(&app, "table_name = 'audit_probe'").await;

    assert_eq!(rows.len(), 3);
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains("PLAINTEXT"), "{text}");
    assert_eq!(rows[0]["changed_fields"]["api_key"], "[redacted]");
    assert_eq!(rows[0]["changed_fields"]["note"], "visible");
    assert_eq!(rows[1]["changed_fields"]["api_key"]["new"], "[redacted]");
    assert_eq!(rows[1]["changed_fields"]["note"]["new"], "changed");
}

async fn get_logs(app: &TestApp, role: &str, query: &str) -> reqwest::Response {
    app.invoke(
        Method::GET,
        &format!("audit-logs{query}"),
        Some(&app.token(role)),
        None,
    )
    .await
}

#[tokio::test]
async fn only_admins_and_the_service_role_read_the_audit_log() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for (role, expected) in [
        ("viewer", StatusCode::FORBIDDEN),
        ("user", StatusCode::FORBIDDEN),
        ("admin", StatusCode::OK),
        ("service_role", StatusCode::OK),
    ] {
        let response = get_logs(&app, role, "").await;
        assert_eq!(response.status(), expected, "{role}");
    }
    let anon = app
        .invoke(Method::GET, "audit-logs", Some(&app.token("anon")), None)
        .await;
    assert_eq!(anon.status(), StatusCode::FORBIDDEN);
    let nobody = app.invoke(Method::GET, "audit-logs", None, None).await;
    assert_eq!(nobody.status(), StatusCode::UNAUTHORIZED);

    // each refusal is itself a security event, with the actor.
    let denied = audit_rows(&app, "kind = 'security' and action = 'access.denied'").await;
    let mut roles: Vec<&str> = denied
        .iter()
        .map(|r| r["actor_role"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(roles, ["anon", "user", "viewer"]);
    let user_row = denied.iter().find(|r| r["actor_role"] == "user").unwrap();
    assert_eq!(user_row["actor_id"], USER);
    assert_eq!(user_row["details"]["function"], "audit-logs");
}

#[tokio::test]
async fn admins_filter_and_page_the_audit_log() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for name in ["one", "two", "three"] {
        let r = app
            .invoke(
                Method::POST,
                "campaigns",
                Some(&app.token("user")),
                Some(json!({"name": name, "channel": "sms"})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    let page: Value = get_logs(
        &app,
        "admin",
        &format!("?table=campaigns&actor={USER}&action=insert&limit=2"),
    )
    .await
    .json()
    .await
    .unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0]["changed_fields"]["name"], "three",
        "newest first"
    );
    let before = page["next_before"].as_i64().unwrap();
    let next: Value = get_logs(
        &app,
        "admin",
        &format!("?table=campaigns&actor={USER}&before={before}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(next["entries"].as_array().unwrap().len(), 1);
    assert!(next["next_before"].is_null());

    let bad = get_logs(&app, "admin", "?kind=everything").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["field"], "kind");
}

#[tokio::test]
async fn admins_export_the_audit_log_as_csv() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.invoke(
        Method::POST,
        "campaigns",
        Some(&app.token("user")),
        Some(json!({"name": "Quoted, \"really\"", "channel": "sms"})),
    )
    .await;

    let response = get_logs(&app, "admin", "?table=campaigns&action=insert&format=csv").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[4], "action");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1, "{}", String::from_utf8_lossy(&body));
    assert_eq!(&records[0][3], "user");
    let changed: Value = serde_json::from_str(&records[0][7]).unwrap();
    assert_eq!(changed["name"], "Quoted, \"really\"");

    let viewer = get_logs(&app, "viewer", "?format=csv").await;
    assert_eq!(viewer.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_purge_job_removes_entries_older_than_the_configured_retention() {
    let app = TestApp::spawn().await;
    app.as_superuser(
        "insert into public.audit_logs (occurred_at, action, kind) values
           (now() - interval '40 days', 'old.entry', 'security'),
           (now() - interval '20 days', 'recent.entry', 'security'),
           (now() - interval '1 day', 'fresh.entry', 'security');",
    )
    .await;

    // default retention: 30 days.
    let (days, deleted) = gimbal_audit::purge(&app.state.pool, None).await.unwrap();
    assert_eq!((days, deleted), (30, 1));

    // a shorter period from the settings, applied through the scheduled job.
    app.as_superuser(
        "insert into public.app_settings (key, value) values ('retention.audit_logs_days', '10')",
    )
    .await;
    gimbal_audit::ensure_schedule(&app.state.pool)
        .await
        .unwrap();
    app.as_superuser(
        "update public.cron_schedules set next_run_at = now() - interval '1 minute' where name = 'audit.purge-logs'",
    )
    .await;
    let report = app.state.jobs.tick(10).await.unwrap();
    assert_eq!(
        (report.schedules_fired, report.jobs_run, report.jobs_failed),
        (1, 1, 0)
    );

    let left: Vec<String> = audit_rows(&app, "action like '%.entry'")
        .await
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["fresh.entry"]);
    // and the log is still forced under rls, append-only for every api role.
    let forced: bool = app
        .db
        .superuser()
        .await
        .query_one(
            "select relforcerowsecurity from pg_class where oid = 'public.audit_logs'::regclass",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(forced);
}

#[tokio::test]
async fn security_events_are_recorded_with_their_actor() {
    let app = TestApp::spawn().await;
    let mut event = gimbal_audit::SecurityEvent::new(
        "webhook.bad_signature",
        json!({"provider": "twilio", "path": "/functions/v1/twilio-status"}),
    );
    event.actor_role = Some("anon".into());
    event.request_id = Some("req-1".into());

    let id = gimbal_audit::record_security_event(&app.state.pool, &event)
        .await
        .unwrap();

    let rows = audit_rows(&app, &format!("id = {id}")).await;
    assert_eq!(rows[0]["kind"], "security");
    assert_eq!(rows[0]["action"], "webhook.bad_signature");
    assert_eq!(rows[0]["details"]["provider"], "twilio");
    assert_eq!(rows[0]["request_id"], "req-1");
}

#[tokio::test]
async fn a_large_export_streams_page_after_page_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    app.as_superuser(
        "insert into public.audit_logs (action, kind, details)
         select 'bulk.entry', 'security', jsonb_build_object('n', n) from generate_series(1, 2500) n",
    )
    .await;

    let response = get_logs(&app, "service_role", "?action=bulk.entry&format=csv").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_ref());
    let ids: Vec<i64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2500,
        "more than two pages of {}",
        gimbal_audit::CSV_EXPORT_PAGE
    );
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, each entry once"
    );
}
