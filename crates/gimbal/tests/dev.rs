//! `gimbal dev` end to end, as a newcomer runs it: the binary brings up its own cluster, schema,
//! demo data, host and worker, writes dev.json, answers `me` for the printed viewer token,
//! rejects a forged one in Supabase's shape, answers CORS preflights, and stops everything on
//! SIGTERM.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

struct Stack {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_file(path: &Path, child: &mut Child, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(path)
            && let Ok(value) = serde_json::from_slice(&bytes)
        {
            return value;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("gimbal dev exited early: {status}");
        }
        assert!(
            started.elapsed() < limit,
            "dev.json did not appear within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test]
async fn dev_stack_serves_me_for_the_printed_viewer_token_and_stops_on_sigterm() {
    let dir =
        std::env::temp_dir().join(format!("gimbal-dev-test-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gimbal"))
        .args(["dev", "--port", &port.to_string(), "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start gimbal dev");
    let mut stack = Stack {
        child,
        dir: dir.clone(),
    };
    let info = wait_for_file(
        &dir.join("dev.json"),
        &mut stack.child,
        Duration::from_secs(120),
    );
    let functions = info["functions_url"].as_str().unwrap().to_string();
    let http = reqwest::Client::new();

    // The viewer token printed by the stack identifies the demo viewer in the database.
    let viewer = info["tokens"]["viewer"].as_str().unwrap();
    let me: Value = http
        .get(format!("{functions}/me"))
        .bearer_auth(viewer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], "00000000-0000-4000-8000-00000000000c");
    assert_eq!(me["role"], "viewer");

    // A forged token gets Supabase's 401.
    let forged = format!("{}x", viewer);
    let response = http
        .get(format!("{functions}/me"))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": 401, "message": "Invalid JWT"})
    );

    // CORS preflight without credentials.
    let preflight = http
        .request(reqwest::Method::OPTIONS, format!("{functions}/me"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");

    // Demo data is there for the user role, read under RLS.
    let user = info["tokens"]["user"].as_str().unwrap();
    let created = http
        .post(format!("{functions}/campaigns"))
        .bearer_auth(user)
        .json(&serde_json::json!({"name": "From the dev test", "channel": "sms"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    // SIGTERM stops the host, the worker and the cluster.
    let pid = nix::unistd::Pid::from_raw(stack.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = stack.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "gimbal dev did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "clean exit: {status}");
    assert!(
        !dir.join("postgres/data/postmaster.pid").exists(),
        "cluster stopped"
    );
}
