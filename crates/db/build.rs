//! Embeds `policies/*.sql` (in file-name order) so the binary carries the policies it applies.
use std::{env, fs, path::Path};

fn main() {
    // read when the script runs, not baked in when it was compiled: a build script binary
    // reused from another checkout's target directory would otherwise embed that checkout's
    // policies (or none, once it is gone).
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../..");
    let dir = root.join("policies");
    println!("cargo:rerun-if-changed={}", dir.display());
    // refinery embeds sql/ at compile time but does not tell cargo to watch it.
    println!("cargo:rerun-if-changed={}", root.join("sql").display());
    // A binary without its policies would run with RLS on and no policy: fail the build instead.
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("policies directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    assert!(!names.is_empty(), "no policy file in {}", dir.display());
    names.sort();
    let mut out = String::from("pub static POLICY_FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = dir.join(name).canonicalize().expect("policy file path");
        println!("cargo:rerun-if-changed={}", path.display());
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("policies.rs");
    fs::write(dest, out).expect("write policies.rs");
}
