//! `gimbal rotate-keys`: every secret sealed under an older key is re-sealed under the current
//! one; the older key opens them until then, and is not needed afterwards.

use std::process::Command;

use gimbal_admin::integrations::secret_aad;
use gimbal_db::harness::TestDatabase;
use gimbal_secrets::{Keyring, Sealed};
use secrecy::SecretString;

fn rotate(db: &TestDatabase, key: &str, key_id: &str, old: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_gimbal"))
        .arg("rotate-keys")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.app_url())
        .env(
            "SUPABASE_JWT_SECRET",
            "rotate-keys-test-secret-of-32-characters",
        )
        .env("GIMBAL_ENCRYPTION_KEY", key)
        .env("GIMBAL_ENCRYPTION_KEY_ID", key_id)
        .env("GIMBAL_ENCRYPTION_OLD_KEYS", old)
        .env("GIMBAL_LOG_FORMAT", "pretty")
        .output()
        .expect("run gimbal rotate-keys");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn store(db: &TestDatabase, keyring: &Keyring, name: &str, value: &[u8]) {
    let sealed = keyring.seal(value, &secret_aad("provider", name));
    db.superuser()
        .await
        .execute(
            "insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('provider', $1, $2, $3, $4)",
            &[&name, &sealed.ciphertext, &sealed.nonce, &sealed.key_id],
        )
        .await
        .unwrap();
}

async fn stored(db: &TestDatabase, name: &str) -> Sealed {
    let row = db
        .superuser()
        .await
        .query_one(
            "select ciphertext, nonce, key_id from public.secrets where name = $1",
            &[&name],
        )
        .await
        .unwrap();
    Sealed {
        ciphertext: row.get(0),
        nonce: row.get(1),
        key_id: row.get(2),
    }
}

fn ring(id: &str, key: &str, old: &str) -> Keyring {
    Keyring::from_parts(id, &SecretString::from(key.to_string()), old).unwrap()
}

#[tokio::test]
async fn rotate_keys_reseals_every_secret_under_the_current_key() {
    let db = TestDatabase::new().await;
    let (k1, k2) = (Keyring::generate_key_b64(), Keyring::generate_key_b64());
    let old = ring("k1", &k1, "");
    store(&db, &old, "twilio", br#"{"auth_token":"tok"}"#).await;
    store(&db, &old, "sendgrid", br#"{"api_key":"SG.x"}"#).await;

    let (ok, out) = rotate(&db, &k2, "k2", &format!("k1:{k1}"));

    assert!(ok, "{out}");
    assert!(
        out.contains("2 secrets, 2 re-encrypted under key `k2`"),
        "{out}"
    );
    let new_only = ring("k2", &k2, "");
    for name in ["twilio", "sendgrid"] {
        let sealed = stored(&db, name).await;
        assert_eq!(sealed.key_id, "k2");
        assert!(
            new_only
                .open(&sealed, &secret_aad("provider", name))
                .is_ok()
        );
        assert!(old.open(&sealed, &secret_aad("provider", name)).is_err());
    }
    assert!(
        !out.contains(&k1) && !out.contains(&k2),
        "keys never printed"
    );

    // once rotated, the old key is no longer needed.
    let (ok, out) = rotate(&db, &k2, "k2", "");
    assert!(ok, "{out}");
    assert!(
        out.contains("0 re-encrypted") && out.contains("2 already under it"),
        "{out}"
    );
}

#[tokio::test]
async fn rotate_keys_fails_naming_secrets_it_cannot_open() {
    let db = TestDatabase::new().await;
    let (k0, k2) = (Keyring::generate_key_b64(), Keyring::generate_key_b64());
    store(&db, &ring("k0", &k0, ""), "meta", b"{}").await;

    let (ok, out) = rotate(&db, &k2, "k2", "");

    assert!(!ok, "{out}");
    assert!(out.contains("1 secrets could not be opened"), "{out}");
    assert_eq!(stored(&db, "meta").await.key_id, "k0", "left as it was");
}
