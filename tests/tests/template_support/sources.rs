//! Scans Rust sources and manifests for what the template must agree with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use walkdir::WalkDir;

static ENV_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""(CRMSYNC_[A-Z0-9_]+)""#).expect("valid regex"));
static INDEX_NAME_ARG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.index_name\(\s*([^()]+?)\s*\)").expect("valid regex"));

/// The part of a source file that ships: everything before the first `#[cfg(test)]`
/// line. Test modules sit at the end by convention, and may name variables on purpose
/// that no function reads (e.g. to test a missing one).
pub fn shipped_part(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim() == "#[cfg(test)]" {
            return &text[..offset];
        }
        offset += line.len();
    }
    text
}

/// `"CRMSYNC_*"` string literals in one file's shipped part.
pub fn env_literals_in(text: &str) -> Vec<String> {
    ENV_LITERAL
        .captures_iter(shipped_part(text))
        .map(|c| c[1].to_owned())
        .collect()
}

/// Every `.rs` file under `dir`, sorted, so failures list files in a stable order.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| format!("walking {}: {e}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|x| x == "rs") {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// Variable name -> first file that reads it, over every `.rs` file under `dirs`.
pub fn env_reads(dirs: &[PathBuf]) -> Result<BTreeMap<String, PathBuf>, String> {
    let mut reads = BTreeMap::new();
    for dir in dirs {
        for file in rust_files(dir)? {
            for var in env_literals_in(&read(&file)?) {
                reads.entry(var).or_insert_with(|| file.clone());
            }
        }
    }
    Ok(reads)
}

/// The argument expressions of `.index_name(...)` calls, with the file they are in.
pub fn index_name_args(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut found = Vec::new();
    for file in rust_files(dir)? {
        let text = read(&file)?;
        for c in INDEX_NAME_ARG.captures_iter(shipped_part(&text)) {
            found.push((file.clone(), c[1].to_owned()));
        }
    }
    Ok(found)
}

/// Whether a Cargo manifest lists `package` under `[dependencies]` (either
/// `package = ...`, `package.workspace = true` or a `[dependencies.package]` table).
pub fn depends_on(manifest: &str, package: &str) -> bool {
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            if line == format!("[dependencies.{package}]") {
                return true;
            }
            in_deps = line == "[dependencies]";
            continue;
        }
        if in_deps
            && let Some(rest) = line.strip_prefix(package)
            && rest.starts_with(['=', '.', ' '])
        {
            return true;
        }
    }
    false
}

/// `name = "..."` of the `[package]` table.
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if in_package && let Some(v) = line.strip_prefix("name") {
            let v = v.trim_start().strip_prefix('=')?.trim();
            return Some(v.trim_matches('"').to_owned());
        }
    }
    None
}
