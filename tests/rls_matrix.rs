//! The access matrix of DESIGN.md, cell by cell, through the real request path: each role's
//! token is verified by the host's authenticator and becomes the same caller-scoped
//! transaction a function runs in. The expected values in `fixtures/rls_matrix.json` are
//! written from the matrix, not from the policies, so a wrong policy fails here.

use std::collections::BTreeMap;

use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{ADMIN, TestApp, USER, VIEWER, fixture_path, token_for};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio_postgres::{Transaction, error::SqlState};

#[derive(Deserialize)]
struct Matrix {
    tables: Vec<Table>,
    column_denials: Vec<ColumnDenial>,
}

#[derive(Deserialize)]
struct Table {
    table: String,
    owner_column: Option<String>,
    seeded_rows: i64,
    insert: Map<String, Value>,
    update: Map<String, Value>,
    access: BTreeMap<String, Cell>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Visibility {
    All,
    Own,
    None,
}

#[derive(Deserialize, Debug)]
struct Cell {
    select: Visibility,
    insert: bool,
    update_own: bool,
    update_other: bool,
    delete_own: bool,
    delete_other: bool,
}

#[derive(Deserialize)]
struct ColumnDenial {
    table: String,
    column: String,
    roles_denied: Vec<String>,
}

const ROLES: [&str; 5] = ["anon", "viewer", "user", "admin", "service_role"];

fn actor_id(role: &str) -> &'static str {
    match role {
        "viewer" => VIEWER,
        "admin" => ADMIN,
        // anon and service_role have no id of their own: "own" means the user's rows.
        _ => USER,
    }
}

async fn scope_for(app: &TestApp, role: &str) -> RequestScope {
    let caller = app
        .state
        .auth
        .verify_token(&token_for(role))
        .await
        .expect("fixture token verifies");
    RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "POST".into(),
        path: "/functions/v1/rls-matrix".into(),
        headers: serde_json::json!({}),
        statement_timeout: None,
    }
}

/// Outcome of one statement: rows affected (or seen), or denied with 42501.
enum Outcome {
    Rows(u64),
    Denied,
}

async fn attempt(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Outcome {
    let sp = tx.savepoint("cell").await.expect("savepoint");
    let result = sp.query(sql, params).await;
    let outcome = match result {
        Ok(rows) => Outcome::Rows(rows.first().map(|r| r.get::<_, i64>(0) as u64).unwrap_or(0)),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Outcome::Denied,
        Err(e) => panic!("{sql}: {e:?}"),
    };
    sp.rollback().await.expect("rollback savepoint");
    outcome
}

fn substitute(values: &Map<String, Value>, actor: &str) -> Value {
    let replaced = values
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if v == "$actor" {
                    Value::String(actor.into())
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    Value::Object(replaced)
}

fn allowed(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Rows(n) if *n > 0)
}

async fn check_table(app: &TestApp, t: &Table, role: &str, failures: &mut Vec<String>) {
    let cell = &t.access[role];
    let actor = actor_id(role);
    let table = format!("public.{}", t.table);
    let mut conn = app.state.pool.get().await.unwrap();
    let scope = scope_for(app, role).await;
    let mut tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite)
        .await
        .unwrap();
    let check = |failures: &mut Vec<String>, what: &str, expected: bool, got: bool| {
        if expected != got {
            failures.push(format!(
                "{}: {role} {what}: expected {expected}, got {got}",
                t.table
            ));
        }
    };

    // Visibility.
    let owned_filter = match &t.owner_column {
        Some(col) => format!("{col} = '{actor}'"),
        None => "true".into(),
    };
    let seen = attempt(&mut tx, &format!("select count(*) from {table}"), &[]).await;
    let seen_own = attempt(
        &mut tx,
        &format!("select count(*) from {table} where {owned_filter}"),
        &[],
    )
    .await;
    let seen = match seen {
        Outcome::Rows(n) => n as i64,
        Outcome::Denied => 0,
    };
    let seen_own = match seen_own {
        Outcome::Rows(n) => n as i64,
        Outcome::Denied => 0,
    };
    let visibility_ok = match cell.select {
        Visibility::All => seen == t.seeded_rows,
        Visibility::Own => seen > 0 && seen == seen_own && seen < t.seeded_rows,
        Visibility::None => seen == 0,
    };
    if !visibility_ok {
        failures.push(format!(
            "{}: {role} select: expected {:?}, saw {seen} of {} (own {seen_own})",
            t.table, cell.select, t.seeded_rows
        ));
    }

    // Insert, through json_populate_record so any column types work.
    let insert = substitute(&t.insert, actor);
    let columns: Vec<&String> = t.insert.keys().collect();
    let list = columns
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "with ins as (insert into {table} ({list}) select {list} from json_populate_record(null::{table}, $1::json) returning 1)
         select count(*) from ins"
    );
    let outcome = attempt(&mut tx, &sql, &[&insert]).await;
    check(failures, "insert", cell.insert, allowed(&outcome));

    // Update and delete, of the actor's own rows and of others'.
    let update = substitute(&t.update, actor);
    let set = t
        .update
        .keys()
        .map(|c| format!("{c} = r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let (own, other) = match &t.owner_column {
        Some(col) => (
            format!("t.{col} = '{actor}'"),
            format!("t.{col} is distinct from '{actor}'"),
        ),
        None => ("true".into(), "true".into()),
    };
    for (what, filter, expected) in [
        ("update_own", &own, cell.update_own),
        ("update_other", &other, cell.update_other),
    ] {
        let sql = format!(
            "with upd as (update {table} t set {set} from json_populate_record(null::{table}, $1::json) r where {filter} returning 1)
             select count(*) from upd"
        );
        let outcome = attempt(&mut tx, &sql, &[&update]).await;
        check(failures, what, expected, allowed(&outcome));
    }
    for (what, filter, expected) in [
        ("delete_own", &own, cell.delete_own),
        ("delete_other", &other, cell.delete_other),
    ] {
        let sql = format!(
            "with del as (delete from {table} t where {filter} returning 1) select count(*) from del"
        );
        let outcome = attempt(&mut tx, &sql, &[]).await;
        check(failures, what, expected, allowed(&outcome));
    }
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn every_cell_of_the_access_matrix_holds() {
    let matrix: Matrix =
        serde_json::from_str(&std::fs::read_to_string(fixture_path("rls_matrix.json")).unwrap())
            .unwrap();
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let public_tables: Vec<String> = app
        .db
        .superuser()
        .await
        .query(
            "select tablename::text from pg_tables where schemaname = 'public' order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let covered: Vec<&String> = matrix.tables.iter().map(|t| &t.table).collect();
    let missing: Vec<&String> = public_tables
        .iter()
        .filter(|t| !covered.contains(t))
        .collect();
    assert!(
        missing.is_empty(),
        "tables without matrix rows: {missing:?}"
    );

    let mut failures = Vec::new();
    for table in &matrix.tables {
        for role in ROLES {
            check_table(&app, table, role, &mut failures).await;
        }
    }
    assert!(
        failures.is_empty(),
        "{} matrix cells violated:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn secret_values_are_never_readable_by_clients() {
    let matrix: Matrix =
        serde_json::from_str(&std::fs::read_to_string(fixture_path("rls_matrix.json")).unwrap())
            .unwrap();
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    assert!(!matrix.column_denials.is_empty());
    for denial in &matrix.column_denials {
        for role in ROLES {
            let mut conn = app.state.pool.get().await.unwrap();
            let scope = scope_for(&app, role).await;
            let mut tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
                .await
                .unwrap();
            let sql = format!(
                "select count({}) from public.{}",
                denial.column, denial.table
            );
            let outcome = attempt(&mut tx, &sql, &[]).await;
            let denied = matches!(outcome, Outcome::Denied);
            assert_eq!(
                denied,
                denial.roles_denied.iter().any(|r| r == role),
                "{role} reading {}.{}",
                denial.table,
                denial.column
            );
        }
    }
}
