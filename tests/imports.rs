//! `import-csv` over HTTP: who may import, what the imported tables let each role do, per-row
//! errors in the answer, the reject limit, and uploads over the size limit (declared or
//! streamed) — in every refused case nothing is left behind.

use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{Options, TestApp, token_for};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_postgres::error::SqlState;

const ROLES: [&str; 5] = ["anon", "viewer", "user", "admin", "service_role"];
const FILE: &str = "day,channel,clicks\n2024-01-01,email,10\n2024-01-02,sms,12\n";

async fn upload(app: &TestApp, role: &str, query: &str, file: &str) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.function_url(&format!("import-csv?{query}")))
        .bearer_auth(token_for(role))
        .header("apikey", token_for("anon"))
        .header("content-type", "text/csv")
        .body(file.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn spawn() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let client = app.db.superuser().await;
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn scope_for(app: &TestApp, role: &str) -> RequestScope {
    let caller = app.state.auth.verify_token(&token_for(role)).await.unwrap();
    RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "POST".into(),
        path: "/rest/v1/imports".into(),
        headers: serde_json::json!({}),
        statement_timeout: None,
    }
}

#[tokio::test]
async fn users_admins_and_the_service_role_import_while_viewers_and_anon_are_refused() {
    let app = spawn().await;
    for role in ROLES {
        let table = format!("clicks_{role}");
        let (status, body) = upload(&app, role, &format!("table={table}"), FILE).await;
        let allowed = matches!(role, "user" | "admin" | "service_role");
        if allowed {
            assert_eq!(status, StatusCode::CREATED, "{role}: {body}");
            assert_eq!(body["rows_loaded"], 2, "{role}");
            assert_eq!(body["table"], format!("imports.{table}"));
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
            assert_eq!(body["error"], "forbidden");
        }
        let exists = scalar(
            &app,
            &format!("select count(*) from pg_tables where schemaname = 'imports' and tablename = '{table}'"),
        )
        .await;
        let sources = scalar(
            &app,
            &format!("select count(*) from public.data_sources where name = '{table}'"),
        )
        .await;
        assert_eq!(
            (exists, sources),
            if allowed { (1, 1) } else { (0, 0) },
            "{role}"
        );
    }
    let owner = scalar(
        &app,
        "select count(*) from public.import_tables
         where table_name = 'clicks_user' and created_by = '00000000-0000-4000-8000-00000000000b'",
    )
    .await;
    assert_eq!(owner, 1, "the user's import is registered as theirs");
}

/// What a statement does as `role`: rows seen or changed, or denied.
async fn attempt(app: &TestApp, role: &str, sql: &str) -> Result<u64, ()> {
    let mut conn = app.state.pool.get().await.unwrap();
    let scope = scope_for(app, role).await;
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite)
        .await
        .unwrap();
    let outcome = match tx.execute(sql, &[]).await {
        Ok(n) => Ok(n),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Err(()),
        Err(e) => panic!("{role}: {sql}: {e:?}"),
    };
    tx.rollback().await.unwrap();
    outcome
}

#[tokio::test]
async fn imported_tables_follow_the_analytics_access_matrix() {
    let app = spawn().await;
    let (status, _) = upload(&app, "admin", "table=matrix", FILE).await;
    assert_eq!(status, StatusCode::CREATED);
    let select = "select * from imports.matrix";
    let insert = "insert into imports.matrix (day, channel, clicks) values ('2024-01-03', 'x', 1)";
    let update = "update imports.matrix set clicks = 0";
    let delete = "delete from imports.matrix";
    for role in ROLES {
        let expected = match role {
            "anon" => [Err(()), Err(()), Err(()), Err(())],
            "viewer" | "user" => [Ok(2), Err(()), Err(()), Ok(0)],
            "admin" => [Ok(2), Err(()), Err(()), Ok(2)],
            _ => [Ok(2), Ok(1), Ok(2), Ok(2)],
        };
        let mut actual = Vec::new();
        for sql in [select, insert, update, delete] {
            actual.push(attempt(&app, role, sql).await);
        }
        assert_eq!(actual, expected, "{role}: select, insert, update, delete");
    }
}

#[tokio::test]
async fn a_broken_row_is_reported_by_line_and_column_and_the_rest_is_imported() {
    let app = spawn().await;
    let file = "day,clicks\n2024-01-01,10\n2024-01-02,ten\n2024-01-03,12\n";
    let (status, body) = upload(&app, "user", "table=broken&sample_rows=1", file).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["rows_loaded"], 2);
    assert_eq!(body["rows_rejected"], 1);
    assert_eq!(body["errors"][0]["line"], 3);
    assert_eq!(body["errors"][0]["column"], "clicks");
    assert_eq!(
        scalar(&app, "select sum(clicks)::bigint from imports.broken").await,
        22
    );
}

#[tokio::test]
async fn too_many_rejected_rows_answer_422_and_keep_nothing() {
    let app = spawn().await;
    let file = "n\n1\nx\ny\n";
    let query = "table=strict&sample_rows=1&max_rejected_rows=1";
    let (status, body) = upload(&app, "admin", query, file).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "max_rejected_rows");
    assert!(
        body["message"].as_str().unwrap().contains("line 3"),
        "{body}"
    );
    assert_eq!(
        scalar(
            &app,
            "select count(*) from public.import_tables where table_name = 'strict'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &app,
            "select count(*) from pg_tables where schemaname = 'imports'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn options_are_validated_by_name() {
    let app = spawn().await;
    for (query, field) in [
        ("", "table"),
        ("table=Bad-Name", "table"),
        ("table=t&mode=replace", "mode"),
        ("table=t&reimport=twice", "reimport"),
        ("table=t&delimiter=ab", "delimiter"),
        ("table=t&encoding=klingon", "encoding"),
        ("table=t&max_rejected_rows=-1", "max_rejected_rows"),
        ("table=t&columns=nope", "columns"),
        (
            "table=t&columns=%5B%7B%22source%22%3A%22zz%22%7D%5D",
            "columns",
        ),
    ] {
        let (status, body) = upload(&app, "admin", query, FILE).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}");
    }
}

#[tokio::test]
async fn overrides_and_append_share_the_tables_types() {
    let app = spawn().await;
    let columns = urlencode(r#"[{"source":"clicks","type":"numeric","name":"click_count"}]"#);
    let (status, body) = upload(&app, "user", &format!("table=ov&columns={columns}"), FILE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["columns"][2]["name"], "click_count");
    assert_eq!(body["columns"][2]["type"], "numeric");
    let again = "day,channel,click_count\n2024-01-03,push,1.5\n";
    let (status, body) = upload(&app, "user", "table=ov&mode=append", again).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_loaded"], 1);
    assert_eq!(scalar(&app, "select count(*) from imports.ov").await, 3);
    // Another user may read the table but not append to it.
    let (status, _) = upload(&app, "other_user", "table=ov&mode=append", again).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = upload(&app, "user", "table=nosuch&mode=append", again).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_keyed_import_run_twice_does_not_duplicate() {
    let app = spawn().await;
    let (status, body) = upload(&app, "user", "table=keyed&key=day,channel", FILE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let changed = "day,channel,clicks\n2024-01-01,email,99\n2024-01-03,push,1\n";
    let (status, body) = upload(&app, "user", "table=keyed&mode=append", changed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scalar(&app, "select count(*) from imports.keyed").await, 3);
    assert_eq!(
        scalar(
            &app,
            "select clicks from imports.keyed where channel = 'email'"
        )
        .await,
        99
    );
    let (status, body) = upload(&app, "user", "table=keyed2&key=nope", FILE).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "key");
}

#[tokio::test]
async fn the_same_file_into_a_keyless_table_is_refused_unless_replace_or_append_is_asked() {
    let app = spawn().await;
    let (status, body) = upload(&app, "user", "table=plain", FILE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sha256 = body["sha256"].as_str().unwrap().to_string();
    let rows = body["rows_loaded"].as_i64().unwrap();

    let (status, body) = upload(&app, "user", "table=plain&mode=append", FILE).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(&sha256) && message.contains("reimport=replace"),
        "{message}"
    );
    assert_eq!(
        scalar(&app, "select count(*) from imports.plain").await,
        rows
    );

    let (status, body) = upload(
        &app,
        "user",
        "table=plain&mode=append&reimport=replace",
        FILE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows_replaced"], rows);
    assert_eq!(
        scalar(&app, "select count(*) from imports.plain").await,
        rows
    );

    let (status, _) = upload(
        &app,
        "user",
        "table=plain&mode=append&reimport=append",
        FILE,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        scalar(&app, "select count(*) from imports.plain").await,
        2 * rows
    );
    // Members see the record of what was imported; the file's digest identifies it.
    let scope = scope_for(&app, "viewer").await;
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &scope, gimbal_db::Access::ReadOnly)
        .await
        .unwrap();
    let seen: i64 = tx
        .query_one(
            "select count(*) from public.import_runs where sha256 = $1",
            &[&sha256],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 2);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_declared_upload_over_the_limit_is_refused_before_reading() {
    let app = TestApp::spawn_with(Options {
        import_max_bytes: Some(1000),
        ..Options::default()
    })
    .await;
    let file = format!("n\n{}", "1\n".repeat(1000));
    let (status, body) = upload(&app, "service_role", "table=big", &file).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"], "payload_too_large");
}

#[tokio::test]
async fn a_chunked_upload_over_the_limit_is_stopped_while_streaming_and_keeps_nothing() {
    let app = TestApp::spawn_with(Options {
        import_max_bytes: Some(100_000),
        ..Options::default()
    })
    .await;
    // No Content-Length: the limit can only be enforced by counting the stream.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /functions/v1/import-csv?table=chunked HTTP/1.1\r\nhost: localhost\r\n\
         authorization: Bearer {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        token_for("service_role")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = "1234567890\n".repeat(1000);
    let mut body = b"2\r\nn\n\r\n".to_vec();
    for _ in 0..20 {
        body.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    body.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before taking the whole body.
    let _ = stream.write_all(&body).await;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert_eq!(
        scalar(
            &app,
            "select count(*) from pg_tables where schemaname = 'imports'"
        )
        .await,
        0
    );
}
