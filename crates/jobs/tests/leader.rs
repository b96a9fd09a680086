//! Scheduler leader election by advisory lock.

use std::time::Duration;

use gimbal_jobs::leader::try_acquire;

use crate::support::{TestJobs, eventually};

#[tokio::test]
async fn only_one_session_leads_at_a_time() {
    let t = TestJobs::new().await;
    let other_pool = t.second_pool();

    let mut leader = try_acquire(&t.pool)
        .await
        .unwrap()
        .expect("first comer leads");
    let contender = try_acquire(&other_pool).await.unwrap();

    assert!(contender.is_none());
    assert!(leader.is_held().await);
}

#[tokio::test]
async fn leadership_passes_on_when_the_leader_connection_closes() {
    let t = TestJobs::new().await;
    let other_pool = t.second_pool();
    let leader = try_acquire(&t.pool)
        .await
        .unwrap()
        .expect("first comer leads");

    drop(leader);

    eventually(Duration::from_secs(5), "a new leader", || async {
        try_acquire(&other_pool).await.unwrap().is_some()
    })
    .await;
}

#[tokio::test]
async fn a_failed_attempt_leaves_the_pool_connection_reusable() {
    let t = TestJobs::new().await;
    let _leader = try_acquire(&t.second_pool()).await.unwrap().unwrap();

    for _ in 0..20 {
        assert!(try_acquire(&t.pool).await.unwrap().is_none());
    }

    assert_eq!(
        t.pool.status().size,
        1,
        "the refused connection went back to the pool"
    );
}
