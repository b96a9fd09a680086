//! `contacts-import`: a CSV corpus with bad rows — each reported with its line and field,
//! every good row kept, E.164 numbers, consent evidence, audience membership, no duplicates
//! on re-import — and every role.

use gimbal_e2e::{TestApp, fixture_path};
use reqwest::StatusCode;
use serde_json::Value;

const AUDIENCE: &str = "00000008-0000-4000-8000-00000000000b";

async fn import(app: &TestApp, role: &str, query: &str, csv: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(format!("{}{query}", app.function_url("contacts-import")))
        .bearer_auth(app.token(role))
        .header("apikey", app.token("anon"))
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn corpus() -> String {
    std::fs::read_to_string(fixture_path("imports/contacts_with_bad_rows.csv")).unwrap()
}

/// The import answered 200 with `key` (`created` or `updated`) equal to `n`.
fn expect_ok(status: StatusCode, report: &Value, key: &str, n: u64) {
    assert_eq!(
        (status, report[key].as_u64()),
        (StatusCode::OK, Some(n)),
        "{report}"
    );
}

/// Each contact's row version (`xmin`), by id: it changes when a row is written.
async fn row_versions(app: &TestApp) -> Vec<(String, String)> {
    app.db
        .superuser()
        .await
        .query(
            "select id::text, xmin::text from public.contacts order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_good_rows_kept() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, report) =
        import(&app, "user", &format!("?audience_id={AUDIENCE}"), &corpus()).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 8, "{report}");
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["failed"], 5, "{report}");
    let errors: Vec<(u64, &str)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [
            (3, "email"),
            (4, "phone"),
            (5, "time_zone"),
            (7, "sms_consent"),
            (8, "consent_at")
        ]
    );
    assert_eq!(report["added_to_audience"], 3);

    let db = app.db.superuser().await;
    let ada = db
        .query_one(
            "select phone, time_zone, sms_consent, sms_consent_source, sms_consent_at::date::text,
                    attributes ->> 'plan', email_consent
             from contacts where email = 'ada@example.com'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(ada.get::<_, String>(0), "+14155552671");
    assert_eq!(ada.get::<_, String>(1), "Europe/London");
    assert_eq!(ada.get::<_, String>(2), "granted");
    assert_eq!(ada.get::<_, String>(3), "signup form");
    assert_eq!(ada.get::<_, String>(4), "2024-05-01");
    assert_eq!(ada.get::<_, String>(5), "pro");
    assert_eq!(ada.get::<_, String>(6), "granted");
    let eve: String = db
        .query_one("select phone || ' ' || sms_consent || ' ' || first_name from contacts where email = 'eve@example.com'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(eve, "+33612345678 denied Eve, the second");
    assert_eq!(
        count(
            &app,
            "select count(*) from contacts where email = 'hal@example.com'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "select count(*) from contact_consents c join contacts k on k.id = c.contact_id where k.email = 'ada@example.com'").await,
        2,
        "one consent record per channel"
    );
}

#[tokio::test]
async fn reimporting_upserts_without_duplicates() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (_, first) = import(&app, "user", &format!("?audience_id={AUDIENCE}"), &corpus()).await;
    let contacts = count(&app, "select count(*) from contacts").await;
    let consents = count(&app, "select count(*) from contact_consents").await;
    let versions = row_versions(&app).await;
    let (status, second) = import(
        &app,
        "admin",
        &format!("?audience_id={AUDIENCE}"),
        &corpus(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (first["created"].as_u64(), second["created"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(second["updated"], 3, "{second}");
    assert_eq!(second["added_to_audience"], 0);
    assert_eq!(count(&app, "select count(*) from contacts").await, contacts);
    assert_eq!(
        count(&app, "select count(*) from contact_consents").await,
        consents,
        "unchanged consent is not re-recorded"
    );
    assert_eq!(
        row_versions(&app).await,
        versions,
        "contacts the file does not change are not written again"
    );
    // matched on phone when the email is new: the fixture contact gains the address.
    app.as_superuser(
        "insert into contacts (phone, first_name) values ('+14155552999', 'Phone only')",
    )
    .await;
    let csv = "email,phone,first_name\nnew.address@example.com,(415) 555-2999,Renamed\n";
    let (_, report) = import(&app, "user", "", csv).await;
    assert_eq!(report["updated"], 1, "{report}");
    assert_eq!(count(&app, "select count(*) from contacts where phone = '+14155552999' and email = 'new.address@example.com'").await, 1);
}

#[tokio::test]
async fn a_consent_change_on_reimport_takes_the_new_source_and_time_and_is_recorded_once() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let first = "email,sms_consent,email_consent,consent_source,consent_at,time_zone\n\
                 kim@example.com,yes,yes,signup form,2024-05-01,America/Chicago\n";
    let (status, report) = import(&app, "user", "", first).await;
    expect_ok(status, &report, "created", 1);
    // the email grant is repeated (no change), the sms grant withdrawn
    let second = "email,sms_consent,email_consent,consent_source,consent_at\n\
                  KIM@example.com,no,yes,support call,2024-06-02\n";
    let (status, report) = import(&app, "user", "", second).await;
    expect_ok(status, &report, "updated", 1);
    let row = app
        .db
        .superuser()
        .await
        .query_one(
            "select sms_consent, sms_consent_source, sms_consent_at::date::text,
                    email_consent, email_consent_source, email_consent_at::date::text, time_zone
             from public.contacts where email = 'kim@example.com'",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<String> = (0..7).map(|i| row.get(i)).collect();
    assert_eq!(
        got,
        [
            "denied",
            "support call",
            "2024-06-02",
            "granted",
            "signup form",
            "2024-05-01",
            "America/Chicago"
        ]
    );
    let history: Vec<(String, String, String)> = app
        .db
        .superuser()
        .await
        .query(
            "select c.channel, c.status, c.source from public.contact_consents c
             join public.contacts k on k.id = c.contact_id
             where k.email = 'kim@example.com' order by c.captured_at, c.channel",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expected = [
        ("email", "granted", "signup form"),
        ("sms", "granted", "signup form"),
        ("sms", "revoked", "support call"),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(history, expected);
}

#[tokio::test]
async fn a_consent_changed_by_another_writer_meanwhile_is_compared_with_its_latest_value() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let first = "email,sms_consent,consent_source\nlee@example.com,yes,signup form\n";
    let (status, report) = import(&app, "user", "", first).await;
    expect_ok(status, &report, "created", 1);

    // another writer withdraws the consent and holds the row until the import waits for it
    let mut other = app.db.superuser().await;
    let other = other.transaction().await.unwrap();
    other
        .execute(
            "update public.contacts set sms_consent = 'denied', sms_consent_source = 'phone call'
             where email = 'lee@example.com'",
            &[],
        )
        .await
        .unwrap();
    let observer = app.db.superuser().await;
    let release = async {
        for _ in 0..500 {
            let waiting: i64 = observer
                .query_one(
                    "select count(*) from pg_stat_activity
                     where datname = current_database() and wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            if waiting > 0 {
                other.commit().await.unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the import never waited for the row");
    };
    // the file grants it again: a change from the withdrawal that committed meanwhile
    let second = "email,sms_consent,consent_source\nlee@example.com,yes,survey\n";
    let ((status, report), ()) = tokio::join!(import(&app, "user", "", second), release);
    expect_ok(status, &report, "updated", 1);
    let row = app
        .db
        .superuser()
        .await
        .query_one(
            "select sms_consent, sms_consent_source from public.contacts where email = 'lee@example.com'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1)),
        ("granted".to_string(), "survey".to_string())
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from public.contact_consents c join public.contacts k on k.id = c.contact_id
             where k.email = 'lee@example.com' and c.status = 'granted' and c.source = 'survey'"
        )
        .await,
        1,
        "the grant is recorded: it changed the state the other writer left"
    );
}

#[tokio::test]
async fn a_row_whose_addresses_belong_to_two_contacts_is_reported_and_the_rest_kept() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let csv = "email,phone\nfixture.a.0@example.com,+15550100002\nzed@example.com,\n";
    let (status, report) = import(&app, "user", "", csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );
    assert_eq!(report["errors"][0]["line"], 2);
    assert_eq!(report["errors"][0]["field"], "phone");
}

#[tokio::test]
async fn the_default_region_reads_national_numbers() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let csv = "phone,first_name\n020 7946 0958,Gail\n";
    let (_, report) = import(&app, "user", "?region=GB", csv).await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(
        count(
            &app,
            "select count(*) from contacts where phone = '+442079460958'"
        )
        .await,
        1
    );
    app.as_superuser(
        "insert into app_settings (key, value) values ('default_phone_region', '\"FR\"')",
    )
    .await;
    let (_, report) = import(&app, "user", "", "phone\n06 12 34 56 79\n").await;
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(
        count(
            &app,
            "select count(*) from contacts where phone = '+33612345679'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn unusable_files_and_parameters_are_422_naming_them() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, body) = import(&app, "user", "", "name,plan\nAda,pro\n").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("file"))
    );
    let (status, body) = import(&app, "user", "?region=XYZ", "email\na@example.com\n").await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("region"))
    );
    let (status, body) = import(
        &app,
        "user",
        "?audience_id=00000000-0000-4000-8000-0000000000ff",
        "email\na@example.com\n",
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("audience_id"))
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from contacts where email = 'a@example.com'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn import_by_role() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let mut got = Vec::new();
    for (i, role) in ["anon", "viewer", "user", "admin", "service_role"]
        .iter()
        .enumerate()
    {
        let csv = format!("email\nrole{i}@example.com\n");
        let (status, _) = import(&app, role, "", &csv).await;
        got.push((*role, status.as_u16()));
    }
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 200),
            ("admin", 200),
            ("service_role", 200)
        ]
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from contacts where email like 'role%@example.com'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_large_file_streams_through() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let mut csv = String::from("email,first_name\n");
    for i in 0..3000 {
        csv.push_str(&format!("bulk{i}@example.com,Bulk {i}\n"));
    }
    let (status, report) = import(&app, "admin", "", &csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["created"], 3000, "{report}");
}

#[tokio::test]
async fn repeated_addresses_in_one_batch_apply_in_file_order() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let csv = "email,phone,first_name,plan,email_consent\n\
               dup@example.com,,First,basic,yes\n\
               other@example.com,(415) 555-2100,Other,,\n\
               DUP@example.com,(415) 555-2101,Second,,\n\
               ,(415) 555-2101,,pro,no\n\
               third@example.com,,Third,,\n";
    let (status, report) = import(&app, "user", &format!("?audience_id={AUDIENCE}"), csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (
            report["created"].as_u64(),
            report["updated"].as_u64(),
            report["failed"].as_u64()
        ),
        (Some(3), Some(2), Some(0)),
        "{report}"
    );
    // one contact for dup@: named by the later row, given the phone, then the plan, and the
    // consent granted on line 2 denied on line 5
    let row = app
        .db
        .superuser()
        .await
        .query_one(
            "select first_name, phone, attributes->>'plan', email_consent from public.contacts
             where lower(email) = 'dup@example.com'",
            &[],
        )
        .await
        .unwrap();
    let got: (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        got,
        (
            "Second".into(),
            "+14155552101".into(),
            "pro".into(),
            "denied".into()
        )
    );
    assert_eq!(
        count(&app, "select count(*) from public.contact_consents c join public.contacts k on k.id = c.contact_id
                      where lower(k.email) = 'dup@example.com' and c.channel = 'email'").await,
        2,
        "the grant and the revocation are both recorded"
    );
    assert_eq!(report["added_to_audience"], 3, "{report}");
}

#[tokio::test]
async fn a_refused_row_in_a_full_batch_is_reported_and_the_batch_kept() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let mut csv = String::from("email,phone,first_name\n");
    for i in 0..1500 {
        if i == 700 {
            // the email is one fixture contact's, the phone another's
            csv.push_str("fixture.a.0@example.com,+15550100002,Clash\n");
        } else {
            csv.push_str(&format!("batch{i}@example.com,,Batch {i}\n"));
        }
    }
    let (status, report) = import(&app, "user", "", &csv).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["created"].as_u64(), report["failed"].as_u64()),
        (Some(1499), Some(1)),
        "{report}"
    );
    assert_eq!(report["errors"][0]["line"], 702);
    assert_eq!(report["errors"][0]["field"], "phone");
    assert_eq!(
        count(
            &app,
            "select count(*) from public.contacts where email like 'batch%@example.com'"
        )
        .await,
        1499
    );
}
