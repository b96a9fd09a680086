//! The schema as Supabase CLI migrations (`supabase/migrations/<version>_<name>.sql`), so that
//! `supabase db push` gives a hosted project the same schema as `gimbal migrate`.
//!
//! Versions are derived, not dated, so the export is reproducible: `sql/V<n>__<name>.sql`
//! becomes `20260101<nnnn>00_<name>.sql`. Policies are re-applied on every `gimbal migrate`, but
//! the CLI applies a file once, so each change of the policies adds a new
//! `20260101<nnnn><kk>_policies.sql` after the newest migration; earlier ones stay, as the CLI
//! expects of history.

use std::path::Path;

use crate::migrate::{migration_files, policies_sql};

const HEADER: &str = "-- Exported by `gimbal export-migrations`; edit the source, not this file.\n";

/// A file the export wants on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFile {
    pub name: String,
    pub contents: String,
}

fn migration_version(version: u32, step: u32) -> String {
    format!("20260101{version:04}{step:02}")
}

/// Migration files, plus a policies file if the newest exported one differs from the current
/// policies. `existing` lists the names already in the directory.
pub fn plan(existing: &[(String, String)]) -> Vec<ExportFile> {
    let migrations = migration_files();
    let mut files: Vec<ExportFile> = migrations
        .iter()
        .map(|m| ExportFile {
            name: format!("{}_{}.sql", migration_version(m.version, 0), m.name),
            contents: format!(
                "{HEADER}-- source: sql/V{}__{}.sql\n\n{}",
                m.version, m.name, m.sql
            ),
        })
        .collect();
    let policies = format!("{HEADER}-- source: policies/*.sql\n\n{}", policies_sql());
    let mut previous: Vec<&(String, String)> = existing
        .iter()
        .filter(|(name, _)| name.ends_with("_policies.sql"))
        .collect();
    previous.sort();
    let newest = previous.last();
    if newest.is_some_and(|(_, contents)| *contents == policies) {
        return files;
    }
    let last_version = migrations.last().map(|m| m.version).unwrap_or(0);
    let base = migration_version(last_version, 0);
    let step = previous
        .iter()
        .filter(|(name, _)| name.starts_with(&base[..12]))
        .count() as u32
        + 1;
    files.push(ExportFile {
        name: format!("{}_policies.sql", migration_version(last_version, step)),
        contents: policies,
    });
    files
}

/// What differs between `dir` and a fresh export: files missing, changed, or unknown.
pub fn stale(dir: &Path) -> std::io::Result<Vec<String>> {
    let existing = read_dir(dir)?;
    let mut problems = Vec::new();
    for file in plan(&existing) {
        match existing.iter().find(|(name, _)| *name == file.name) {
            None => problems.push(format!("missing or outdated: {}", file.name)),
            Some((_, contents)) if *contents != file.contents => {
                problems.push(format!("differs: {}", file.name))
            }
            Some(_) => {}
        }
    }
    let known: Vec<String> = migration_files()
        .iter()
        .map(|m| format!("{}_{}.sql", migration_version(m.version, 0), m.name))
        .collect();
    for (name, _) in &existing {
        if !name.ends_with("_policies.sql") && !known.contains(name) {
            problems.push(format!("not produced by the export: {name}"));
        }
    }
    Ok(problems)
}

/// Writes the export into `dir`; returns the names written.
pub fn write(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let existing = read_dir(dir)?;
    let mut written = Vec::new();
    for file in plan(&existing) {
        let current = existing.iter().find(|(name, _)| *name == file.name);
        if current.is_none_or(|(_, contents)| *contents != file.contents) {
            std::fs::write(dir.join(&file.name), &file.contents)?;
            written.push(file.name);
        }
    }
    Ok(written)
}

fn read_dir(dir: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((name, std::fs::read_to_string(&path)?));
        }
    }
    files.sort();
    Ok(files)
}
