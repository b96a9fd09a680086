//! `audit-overhead`: what the audit trigger costs a write. Campaign inserts are timed with the
//! `audit_insert` trigger on and, as the baseline, with it disabled, alternately, on the
//! same table of a private database: one row per caller-scoped transaction (how the API
//! writes) and one set-based insert (how a bulk job writes). Medians of three rounds each.

use std::time::{Duration, Instant};

use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use serde_json::json;

const ADMIN: &str = "0b000000-0000-4000-8000-00000000000a";
const ROUNDS: usize = 3;

pub async fn run(quick: bool) -> anyhow::Result<()> {
    let (per_request, bulk) = if quick { (200, 2_000) } else { (2_000, 50_000) };
    let db = TestDatabase::new().await;
    let admin = db.superuser().await;
    admin
        .batch_execute(&format!(
            "insert into auth.users (id, aud, role, email, raw_app_meta_data, created_at, updated_at)
             values ('{ADMIN}', 'authenticated', 'authenticated', 'bench@example.com', '{{\"role\": \"admin\"}}', now(), now())"
        ))
        .await?;
    let pool = db.app_pool(2);
    let scope = RequestScope {
        role: "authenticated",
        claims: json!({"sub": ADMIN, "role": "authenticated", "app_metadata": {"role": "admin"}}),
        method: "POST".into(),
        path: "/bench".into(),
        headers: json!({"x-request-id": "bench"}),
        statement_timeout: None,
    };

    let mut timings: [Vec<Duration>; 4] = Default::default();
    for _ in 0..ROUNDS {
        for audited in [false, true] {
            let toggle = if audited { "enable" } else { "disable" };
            admin
                .batch_execute(&format!(
                    "alter table public.campaigns {toggle} trigger audit_insert;
                     truncate public.campaigns cascade;"
                ))
                .await?;
            let mut conn = pool.get().await?;
            let started = Instant::now();
            for i in 0..per_request {
                let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite).await?;
                tx.execute(
                    "insert into public.campaigns (name, channel) values ($1, 'sms')",
                    &[&format!("bench {i}")],
                )
                .await?;
                tx.commit().await?;
            }
            timings[usize::from(audited)].push(started.elapsed());
            let started = Instant::now();
            let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite).await?;
            tx.execute(
                "insert into public.campaigns (name, channel)
                 select 'bulk ' || n, 'email' from generate_series(1, $1::int) n",
                &[&(bulk as i32)],
            )
            .await?;
            tx.commit().await?;
            timings[2 + usize::from(audited)].push(started.elapsed());
        }
    }
    admin
        .batch_execute("alter table public.campaigns enable trigger audit_insert")
        .await?;

    let rate = |rows: usize, t: &mut Vec<Duration>| {
        t.sort();
        rows as f64 / t[t.len() / 2].as_secs_f64()
    };
    let request_base = rate(per_request, &mut timings[0]);
    let request_audited = rate(per_request, &mut timings[1]);
    let bulk_base = rate(bulk, &mut timings[2]);
    let bulk_audited = rate(bulk, &mut timings[3]);
    println!(
        "scenario=audit-overhead rounds={ROUNDS} request_rows={per_request} request_baseline_rows_per_s={request_base:.0} \
         request_audited_rows_per_s={request_audited:.0} request_ratio={:.3} bulk_rows={bulk} \
         bulk_baseline_rows_per_s={bulk_base:.0} bulk_audited_rows_per_s={bulk_audited:.0} bulk_ratio={:.3} peak_rss_mb={:.1}",
        request_audited / request_base,
        bulk_audited / bulk_base,
        crate::memory::peak_rss_bytes() as f64 / (1024.0 * 1024.0),
    );
    Ok(())
}
