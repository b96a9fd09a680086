//! Private PostgreSQL clusters built from the machine's own binaries: the data directory of
//! `gimbal dev` and the shared cluster of a test run. The server refuses to run as root, so a
//! root caller runs every server command as the `postgres` user.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
};

use serde::{Deserialize, Serialize};
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked in GIMBAL_PG_BIN, `pg_config --bindir` and /usr/lib/postgresql/*/bin); install postgresql"
    )]
    NoBinaries,
    #[error("running as root needs a `postgres` system user to own the cluster")]
    NoPostgresUser,
    #[error(
        "the postgres user cannot reach {0}; choose a data directory it can traverse (for example under /var/tmp)"
    )]
    Unreachable(String),
    #[error("{step} failed: {detail}")]
    Command { step: &'static str, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// Port to listen on when the cluster is first created; a free one is chosen when `None`.
    pub port: Option<u16>,
    /// Trade durability for speed (tests): fsync and synchronous commit off.
    pub ephemeral: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct ClusterFile {
    port: u16,
    password: String,
}

/// A cluster in `dir`: `data/` (PGDATA), `run/` (socket and log), `cluster.json` (port, password).
#[derive(Clone, Debug)]
pub struct LocalCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    password: String,
}

impl LocalCluster {
    /// Creates the cluster if `dir` holds none, and starts it unless it is already running.
    pub async fn ensure(dir: &Path, options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin = bin_dir().ok_or(ClusterError::NoBinaries)?;
        std::fs::create_dir_all(dir.join("run")).map_err(|e| io(dir, e))?;
        let dir = dir.canonicalize().map_err(|e| io(dir, e))?;
        check_reachable(&dir).await?;
        let file = dir.join("cluster.json");
        let state = match std::fs::read(&file) {
            Ok(bytes) if dir.join("data/PG_VERSION").exists() => {
                serde_json::from_slice(&bytes).map_err(|e| io(&file, std::io::Error::other(e)))?
            }
            _ => init(&bin, &dir, options.port).await?,
        };
        let cluster = LocalCluster {
            dir,
            bin,
            port: state.port,
            password: state.password,
        };
        if !cluster.is_running().await {
            cluster.start(options.ephemeral).await?;
        }
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A URL for the `postgres` superuser on database `db`.
    pub fn superuser_url(&self, db: &str) -> String {
        self.url("postgres", &self.password, db)
    }

    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    pub async fn is_running(&self) -> bool {
        let data = self.dir.join("data");
        let mut cmd = self.command("pg_ctl");
        cmd.arg("status")
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        matches!(cmd.status().await, Ok(s) if s.success())
    }

    async fn start(&self, ephemeral: bool) -> Result<(), ClusterError> {
        let run = self.dir.join("run");
        let mut opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            self.port,
            run.display()
        );
        if ephemeral {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut cmd = self.command("pg_ctl");
        cmd.args(["start", "-w", "-t", "120", "-D"])
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(run.join("postgres.log"))
            .arg("-o")
            .arg(opts);
        run_step("pg_ctl start", cmd).await
    }

    pub async fn stop(&self) -> Result<(), ClusterError> {
        let mut cmd = self.command("pg_ctl");
        cmd.args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.dir.join("data"));
        run_step("pg_ctl stop", cmd).await
    }

    fn command(&self, program: &str) -> Command {
        server_command(&self.bin, program)
    }
}

async fn init(bin: &Path, dir: &Path, port: Option<u16>) -> Result<ClusterFile, ClusterError> {
    let state = ClusterFile {
        port: port.unwrap_or_else(free_port),
        password: uuid::Uuid::new_v4().simple().to_string(),
    };
    let data = dir.join("data");
    let run = dir.join("run");
    let pwfile = run.join("pwfile");
    std::fs::write(&pwfile, &state.password).map_err(|e| io(&pwfile, e))?;
    hand_to_server_user(&[&run])?;
    std::fs::create_dir_all(&data).map_err(|e| io(&data, e))?;
    hand_to_server_user(&[&data])?;
    let mut cmd = server_command(bin, "initdb");
    cmd.arg("-D")
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "-A",
            "scram-sha-256",
            "--no-locale",
            "-E",
            "UTF8",
            "--pwfile",
        ])
        .arg(&pwfile);
    let result = run_step("initdb", cmd).await;
    let _ = std::fs::remove_file(&pwfile);
    result?;
    let file = dir.join("cluster.json");
    let json = serde_json::to_vec_pretty(
        &serde_json::json!({"port": state.port, "password": state.password}),
    )
    .expect("cluster file serialises");
    std::fs::write(&file, json).map_err(|e| io(&file, e))?;
    restrict(&file);
    Ok(state)
}

/// Server binaries: `GIMBAL_PG_BIN`, then `pg_config --bindir`, then the newest Debian layout.
pub fn bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("GIMBAL_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| d.join("initdb").exists()) {
        return Some(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        let version = p
            .parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str());
        version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
    });
    versions.pop()
}

/// As root the server runs as `postgres`, which needs to traverse every ancestor of `dir`.
async fn check_reachable(dir: &Path) -> Result<(), ClusterError> {
    if !is_root() {
        return Ok(());
    }
    let status = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(dir)
        .status()
        .await
        .map_err(|e| ClusterError::Command {
            step: "runuser",
            detail: e.to_string(),
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(ClusterError::Unreachable(dir.display().to_string()))
    }
}

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

fn server_command(bin: &Path, program: &str) -> Command {
    let path = bin.join(program);
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(path);
        cmd
    } else {
        Command::new(path)
    }
}

fn hand_to_server_user(paths: &[&Path]) -> Result<(), ClusterError> {
    if !is_root() {
        return Ok(());
    }
    let user = nix::unistd::User::from_name("postgres")
        .ok()
        .flatten()
        .ok_or(ClusterError::NoPostgresUser)?;
    for path in paths {
        nix::unistd::chown(*path, Some(user.uid), Some(user.gid))
            .map_err(|e| io(path, std::io::Error::from(e)))?;
        if path.is_file() {
            continue;
        }
        for entry in std::fs::read_dir(path).map_err(|e| io(path, e))?.flatten() {
            nix::unistd::chown(&entry.path(), Some(user.uid), Some(user.gid))
                .map_err(|e| io(&entry.path(), std::io::Error::from(e)))?;
        }
    }
    Ok(())
}

async fn run_step(step: &'static str, mut cmd: Command) -> Result<(), ClusterError> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| ClusterError::Command {
            step,
            detail: e.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let detail = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Err(ClusterError::Command {
        step,
        detail: detail.trim().to_string(),
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

fn io(path: &Path, source: std::io::Error) -> ClusterError {
    ClusterError::Io {
        path: path.display().to_string(),
        source,
    }
}
