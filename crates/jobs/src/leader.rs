//! Leader election for the scheduler: the leader is whoever holds a session-level advisory lock
//! on a connection of its own. The lock lives exactly as long as that connection, so a crashed or
//! partitioned leader loses leadership when its session ends and another worker takes over.
//! Leadership only saves work: firing schedules is safe without it (see `schedule::fire_due`).

use std::time::Duration;

use deadpool_postgres::{ClientWrapper, Object};
use gimbal_db::Pool;

use crate::{JobError, service};

/// Advisory lock key held by the scheduler leader ("jobsld"). Advisory locks are per database,
/// so each database has its own leader.
const LEADER_LOCK: i64 = 0x6a6f_6273_6c64;

/// How long a liveness check may take before the leader assumes its connection is gone.
const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Proof of leadership: the connection holding the lock. Dropping it closes the connection and
/// so releases the lock.
pub struct LeaderGuard {
    client: ClientWrapper,
}

impl std::fmt::Debug for LeaderGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderGuard").finish_non_exhaustive()
    }
}

/// Becomes the leader if nobody else is. `None` when another session holds the lock.
pub async fn try_acquire(pool: &Pool) -> Result<Option<LeaderGuard>, JobError> {
    let mut object = pool.get().await?;
    match lock(&mut object).await {
        // The lock belongs to this session for good: take the connection out of the pool so no
        // one else is handed a session that holds it.
        Ok(true) => Ok(Some(LeaderGuard {
            client: Object::take(object),
        })),
        Ok(false) => Ok(None),
        Err(err) => {
            // Whether the lock was taken is unknown; closing the connection settles it.
            drop(Object::take(object));
            Err(err)
        }
    }
}

async fn lock(object: &mut Object) -> Result<bool, JobError> {
    let tx = service::begin(object).await?;
    let held = tx
        .query_one("select pg_try_advisory_lock($1)", &[&LEADER_LOCK])
        .await?
        .get(0);
    tx.commit().await?;
    Ok(held)
}

impl LeaderGuard {
    /// Whether this process still leads: its lock connection is open and answering.
    pub async fn is_held(&mut self) -> bool {
        if self.client.is_closed() {
            return false;
        }
        let ping = async {
            let tx = service::begin(&mut self.client).await?;
            tx.query_one("select 1", &[]).await?;
            tx.commit().await?;
            Ok::<_, JobError>(())
        };
        matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(())))
    }
}
