//! `admin-users`: the same behaviour over Supabase Auth's admin API (a local server speaking
//! its wire format, keeping its users in the test database's `auth.users` as GoTrue does) and
//! over the local `auth.users`; admins only; never the last admin.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode as AxumStatus},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use gimbal_auth::{AppRole, DbRole, mint};
use gimbal_e2e::{ADMIN, JWT_SECRET, Options, TestApp, USER, VIEWER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio_postgres::Client;

/// One request the fake Auth server received.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    body: Value,
}

#[derive(Clone)]
struct Gotrue {
    db: Arc<Client>,
    service_key: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

fn gotrue_error(status: u16, code: &str, msg: &str) -> Response {
    let status = AxumStatus::from_u16(status).unwrap();
    (
        status,
        Json(json!({"code": status.as_u16(), "error_code": code, "msg": msg})),
    )
        .into_response()
}

impl Gotrue {
    /// GoTrue checks the service key in both headers.
    fn check(
        &self,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        body: &Value,
    ) -> Option<Response> {
        let apikey = headers.get("apikey").and_then(|v| v.to_str().ok());
        let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
        if apikey != Some(self.service_key.as_str())
            || bearer != Some(&format!("Bearer {}", self.service_key))
        {
            return Some(gotrue_error(
                401,
                "no_authorization",
                "This endpoint requires a valid service role key",
            ));
        }
        self.seen.lock().unwrap().push(Seen {
            method: method.into(),
            path: path.into(),
            body: body.clone(),
        });
        None
    }

    async fn user(&self, id: &str) -> Option<Value> {
        let id: uuid::Uuid = id.parse().ok()?;
        self.db
            .query_opt(
                "select app_private.auth_user_json(u) from auth.users u where id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .map(|r| r.get(0))
    }

    async fn insert(&self, email: &str, invited: bool, app_metadata: Value) -> Response {
        let taken = self
            .db
            .query_opt("select 1 from auth.users where email = $1", &[&email])
            .await
            .unwrap();
        if taken.is_some() {
            return gotrue_error(
                422,
                "email_exists",
                "A user with this email address has already been registered",
            );
        }
        let mut meta = json!({"provider": "email", "providers": ["email"]});
        meta.as_object_mut()
            .unwrap()
            .extend(app_metadata.as_object().cloned().unwrap_or_default());
        let row = self
            .db
            .query_one(
                "insert into auth.users (id, aud, role, email, email_confirmed_at, invited_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
                 values (gen_random_uuid(), 'authenticated', 'authenticated', $1,
                         case when $2 then null else now() end, case when $2 then now() end, $3, '{}', now(), now())
                 returning app_private.auth_user_json(users)",
                &[&email, &invited, &meta],
            )
            .await
            .unwrap();
        Json(row.get::<_, Value>(0)).into_response()
    }
}

#[derive(serde::Deserialize)]
struct Paging {
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list_users(
    State(g): State<Gotrue>,
    headers: HeaderMap,
    Query(p): Query<Paging>,
) -> Response {
    if let Some(r) = g.check(&headers, "GET", "/admin/users", &Value::Null) {
        return r;
    }
    let per_page = p.per_page.unwrap_or(50);
    let offset = (p.page.unwrap_or(1) - 1) * per_page;
    let users: Vec<Value> = g
        .db
        .query(
            "select app_private.auth_user_json(u) from auth.users u order by created_at, id limit $1 offset $2",
            &[&per_page, &offset],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    Json(json!({"users": users, "aud": "authenticated"})).into_response()
}

async fn create_user(
    State(g): State<Gotrue>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = g.check(&headers, "POST", "/admin/users", &body) {
        return r;
    }
    let email = body["email"].as_str().unwrap_or_default().to_string();
    let confirmed = body["email_confirm"].as_bool().unwrap_or(false);
    g.insert(&email, !confirmed, body["app_metadata"].clone())
        .await
}

async fn invite(State(g): State<Gotrue>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if let Some(r) = g.check(&headers, "POST", "/invite", &body) {
        return r;
    }
    let email = body["email"].as_str().unwrap_or_default().to_string();
    g.insert(&email, true, json!({})).await
}

async fn get_user(State(g): State<Gotrue>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Some(r) = g.check(&headers, "GET", &format!("/admin/users/{id}"), &Value::Null) {
        return r;
    }
    match g.user(&id).await {
        Some(u) => Json(u).into_response(),
        None => gotrue_error(404, "user_not_found", "User not found"),
    }
}

async fn update_user(
    State(g): State<Gotrue>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = g.check(&headers, "PUT", &format!("/admin/users/{id}"), &body) {
        return r;
    }
    if g.user(&id).await.is_none() {
        return gotrue_error(404, "user_not_found", "User not found");
    }
    let uid: uuid::Uuid = id.parse().unwrap();
    if let Some(meta) = body.get("app_metadata") {
        g.db.execute(
            "update auth.users set raw_app_meta_data = coalesce(raw_app_meta_data, '{}') || $2, updated_at = now() where id = $1",
            &[&uid, meta],
        )
        .await
        .unwrap();
    }
    match body.get("ban_duration").and_then(Value::as_str) {
        Some("none") => {
            g.db.execute(
                "update auth.users set banned_until = null where id = $1",
                &[&uid],
            )
            .await
            .unwrap();
        }
        Some(duration) => {
            let hours: f64 = duration.trim_end_matches('h').parse().unwrap();
            g.db.execute(
                "update auth.users set banned_until = now() + make_interval(hours => $2::float8::int) where id = $1",
                &[&uid, &hours],
            )
            .await
            .unwrap();
        }
        None => {}
    }
    Json(g.user(&id).await.unwrap()).into_response()
}

async fn delete_user(
    State(g): State<Gotrue>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = g.check(
        &headers,
        "DELETE",
        &format!("/admin/users/{id}"),
        &Value::Null,
    ) {
        return r;
    }
    let uid: uuid::Uuid = match id.parse() {
        Ok(u) => u,
        Err(_) => return gotrue_error(404, "user_not_found", "User not found"),
    };
    let n =
        g.db.execute("delete from auth.users where id = $1", &[&uid])
            .await
            .unwrap();
    if n == 0 {
        return gotrue_error(404, "user_not_found", "User not found");
    }
    Json(json!({})).into_response()
}

/// The admin endpoints of Supabase Auth that user management calls.
fn gotrue_router(state: Gotrue) -> Router {
    Router::new()
        .route("/auth/v1/admin/users", get(list_users).post(create_user))
        .route(
            "/auth/v1/admin/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/auth/v1/invite", post(invite))
        .with_state(state)
}

/// Starts the fake Auth server on the test's database and returns its base URL.
async fn start_gotrue(app: &TestApp, service_key: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Gotrue {
        db: Arc::new(app.db.superuser().await),
        service_key,
        seen: seen.clone(),
    };
    let router = gotrue_router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// A host whose user management goes through the fake Supabase Auth server.
async fn remote_app() -> (TestApp, Arc<Mutex<Vec<Seen>>>) {
    // the host needs the fake server's URL and the fake server needs the host's database:
    // reserve a port, start the host with it, then serve the fake on that port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = TestApp::spawn_with(Options {
        supabase_url: Some(format!("http://{addr}")),
        ..Options::default()
    })
    .await;
    app.load_fixtures().await;
    drop(listener);
    let key = app
        .state
        .config
        .service_role_key
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = Gotrue {
        db: Arc::new(app.db.superuser().await),
        service_key: key,
        seen: seen.clone(),
    };
    let router = gotrue_router(state);
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (app, seen)
}

async fn local_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app
}

async fn call(
    app: &TestApp,
    role_token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app
        .invoke(
            method,
            &format!("admin-users{path}"),
            Some(role_token),
            body,
        )
        .await;
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// An access token for `sub` carrying the admin role (a second admin).
fn admin_token_for(sub: &str) -> String {
    let spec = mint::TokenSpec {
        role: DbRole::Authenticated,
        sub: Some(sub.parse().unwrap()),
        email: Some("second.admin@gimbal.local".into()),
        app_role: Some(AppRole::Admin),
        ttl: std::time::Duration::from_secs(3600),
        issuer: "http://127.0.0.1/auth/v1".into(),
    };
    mint::access_token(&SecretString::from(JWT_SECRET), &spec).unwrap()
}

async fn active_admins(app: &TestApp) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(
            "select count(*) from auth.users u where app_private.is_active_admin(u)",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Invite, duplicate, list, promote, ban, unban, delete: the behaviour both implementations share.
async fn manage_a_user(app: &TestApp) {
    let admin = app.token("admin");
    let (status, invited) = call(
        app,
        &admin,
        Method::POST,
        "",
        Some(json!({"email": "New.Person@Example.com", "role": "user"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["email"], "new.person@example.com");
    assert_eq!(invited["role"], "user");
    assert!(invited["invited_at"].is_string(), "{invited}");
    let id = invited["id"].as_str().unwrap().to_string();

    let (status, created) = call(
        app,
        &admin,
        Method::POST,
        "",
        Some(json!({"email": "confirmed@example.com", "invite": false})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["role"], "viewer");
    assert!(created["email_confirmed_at"].is_string(), "{created}");

    let (status, body) = call(
        app,
        &admin,
        Method::POST,
        "",
        Some(json!({"email": "new.person@example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let (status, list) = call(app, &admin, Method::GET, "?per_page=100", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == id.as_str())
    );
    assert!(
        list["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == ADMIN && u["role"] == "admin")
    );

    let (status, promoted) = call(
        app,
        &admin,
        Method::PATCH,
        &format!("/{id}"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (status, promoted["role"].as_str()),
        (StatusCode::OK, Some("admin"))
    );
    let (status, banned) = call(
        app,
        &admin,
        Method::PATCH,
        &format!("/{id}"),
        Some(json!({"banned": true})),
    )
    .await;
    assert_eq!(
        (status, banned["banned"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let (_, unbanned) = call(
        app,
        &admin,
        Method::PATCH,
        &format!("/{id}"),
        Some(json!({"banned": false})),
    )
    .await;
    assert_eq!(unbanned["banned"], false);
    assert!(unbanned["banned_until"].is_null());

    let (status, body) = call(
        app,
        &admin,
        Method::PATCH,
        &format!("/{id}"),
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
    );
    let (status, body) = call(
        app,
        &admin,
        Method::POST,
        "",
        Some(json!({"email": "not-an-address"})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("email"))
    );

    let (status, _) = call(app, &admin, Method::DELETE, &format!("/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(app, &admin, Method::GET, &format!("/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // every change is in the audit log, with the admin as actor.
    let actions: Vec<String> = app
        .db
        .superuser()
        .await
        .query(
            "select action from public.audit_logs where kind = 'security' and action like 'user.%' and actor_id = $1 order by id",
            &[&ADMIN.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        actions,
        [
            "user.invited",
            "user.created",
            "user.role_changed",
            "user.banned",
            "user.unbanned",
            "user.deleted"
        ]
    );
}

#[tokio::test]
async fn local_directory_manages_users() {
    let app = local_app().await;
    manage_a_user(&app).await;
}

#[tokio::test]
async fn supabase_auth_admin_api_manages_users_with_the_service_key() {
    let (app, seen) = remote_app().await;
    manage_a_user(&app).await;

    let seen = seen.lock().unwrap().clone();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    assert!(calls.contains(&"POST /invite".to_string()), "{calls:?}");
    assert!(
        calls.contains(&"POST /admin/users".to_string()),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|c| c.starts_with("DELETE /admin/users/")),
        "{calls:?}"
    );
    let create = seen
        .iter()
        .find(|s| s.path == "/admin/users" && s.method == "POST")
        .unwrap();
    assert_eq!(create.body["email_confirm"], true);
    assert_eq!(create.body["app_metadata"]["role"], "viewer");
    let role_change = seen
        .iter()
        .find(|s| s.method == "PUT" && s.body["app_metadata"]["role"] == "admin")
        .expect("the role is written to app_metadata");
    assert!(role_change.body.get("ban_duration").is_none());
    assert!(
        seen.iter()
            .any(|s| s.method == "PUT" && s.body["ban_duration"] == "876000h")
    );
    assert!(
        seen.iter()
            .any(|s| s.method == "PUT" && s.body["ban_duration"] == "none")
    );
}

#[tokio::test]
async fn the_auth_server_refusing_the_service_key_is_a_503_not_a_leak() {
    let app = local_app().await;
    let (url, _) = start_gotrue(&app, "some-other-key".into()).await;
    let remote = TestApp::spawn_with(Options {
        supabase_url: Some(url),
        ..Options::default()
    })
    .await;
    let (status, body) = call(&remote, &remote.token("admin"), Method::GET, "", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(!body.to_string().contains(&remote.token("service_role")));
}

#[tokio::test]
async fn only_admins_and_the_service_role_manage_users() {
    let app = local_app().await;
    for role in ["anon", "viewer", "user"] {
        let token = app.token(role);
        for (method, path, body) in [
            (Method::GET, String::new(), None),
            (
                Method::POST,
                String::new(),
                Some(json!({"email": "x@example.com"})),
            ),
            (Method::GET, format!("/{VIEWER}"), None),
            (
                Method::PATCH,
                format!("/{VIEWER}"),
                Some(json!({"role": "admin"})),
            ),
            (Method::DELETE, format!("/{VIEWER}"), None),
        ] {
            let (status, _) = call(&app, &token, method.clone(), &path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
        }
    }
    for role in ["admin", "service_role"] {
        let (status, body) = call(&app, &app.token(role), Method::GET, "", None).await;
        assert_eq!(status, StatusCode::OK, "{role}");
        assert_eq!(body["users"].as_array().unwrap().len(), 4);
    }
    let (status, _) = call(
        &app,
        &app.token("service_role"),
        Method::PATCH,
        &format!("/{VIEWER}"),
        Some(json!({"role": "user"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // nothing changed for the refused callers: the viewer is a user only by the service's hand.
    let role: String = app
        .db
        .superuser()
        .await
        .query_one(
            "select raw_app_meta_data ->> 'role' from auth.users where id = $1",
            &[&VIEWER.parse::<uuid::Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "user");
}

async fn last_admin_is_kept(app: &TestApp) {
    let admin = app.token("admin");
    for (method, body) in [
        (Method::PATCH, Some(json!({"role": "user"}))),
        (Method::PATCH, Some(json!({"banned": true}))),
        (Method::DELETE, None),
    ] {
        let (status, response) =
            call(app, &admin, method.clone(), &format!("/{ADMIN}"), body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{method}: {response}");
        assert!(
            response["message"]
                .as_str()
                .unwrap()
                .contains("last active admin")
        );
    }
    assert_eq!(active_admins(app).await, 1);

    // two admins demoting each other at the same moment: one wins, one is refused.
    for round in 0..5 {
        let (status, _) = call(
            app,
            &admin,
            Method::PATCH,
            &format!("/{USER}"),
            Some(json!({"role": "admin"})),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        // whoever lost the previous round is admin again, so both tokens are admins' tokens.
        app.as_superuser(&format!(
            "update auth.users set raw_app_meta_data = raw_app_meta_data || '{{\"role\": \"admin\"}}' where id in ('{ADMIN}', '{USER}')"
        ))
        .await;
        let second = admin_token_for(USER);
        let (user_path, admin_path) = (format!("/{USER}"), format!("/{ADMIN}"));
        let (a, b) = tokio::join!(
            call(
                app,
                &admin,
                Method::PATCH,
                &user_path,
                Some(json!({"role": "user"}))
            ),
            call(
                app,
                &second,
                Method::PATCH,
                &admin_path,
                Some(json!({"role": "user"}))
            ),
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {a:?} {b:?}"
        );
        assert_eq!(active_admins(app).await, 1, "round {round}");
    }
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_banned_or_deleted_locally() {
    let app = local_app().await;
    last_admin_is_kept(&app).await;
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_banned_or_deleted_through_supabase_auth() {
    let (app, _) = remote_app().await;
    last_admin_is_kept(&app).await;
}
