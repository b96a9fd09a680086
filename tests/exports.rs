//! Checked-in generated files must match what the code generates today.

use gimbal_e2e::repo_path;

#[test]
fn supabase_migrations_export_is_current() {
    let problems = gimbal_db::export::stale(&repo_path("supabase/migrations")).unwrap();
    assert!(
        problems.is_empty(),
        "supabase/migrations is stale; run `cargo run -p gimbal -- export-migrations`:\n{}",
        problems.join("\n")
    );
}

#[test]
fn function_forwarders_are_current() {
    let stale = gimbal_host::forwarders::stale(&repo_path("supabase"), gimbal_host::FUNCTIONS);
    assert!(
        stale.is_empty(),
        "stale forwarders; run `cargo run -p gimbal -- gen-forwarders`: {stale:?}"
    );
}

#[test]
fn every_function_has_a_forwarder_and_nothing_else_does() {
    let dir = repo_path("supabase/functions");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = gimbal_host::FUNCTIONS
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    expected.sort();
    assert_eq!(on_disk, expected);
}
