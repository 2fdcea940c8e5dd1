//! `--help` for every command, and tenant provisioning against a state file.

use std::process::{Command, Output};

fn crmsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crmsync"))
        .args(args)
        .env_remove("CRMSYNC_SF_CLIENT_ID")
        .env_remove("CRMSYNC_SF_CLIENT_SECRET")
        .output()
        .expect("crmsync runs")
}

fn help_of(args: &[&str]) -> String {
    let out = crmsync(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn top_level_help_lists_the_commands() {
    let help = help_of(&["--help"]);
    for cmd in ["demo", "dev", "tenant"] {
        assert!(help.contains(cmd), "{cmd} in:\n{help}");
    }
}

#[test]
fn demo_help_documents_its_options() {
    let help = help_of(&["demo", "--help"]);
    for opt in [
        "--sf-login-url",
        "--aws-endpoint",
        "--state",
        "--client-id",
        "--redirect-url",
        "--json",
    ] {
        assert!(help.contains(opt), "{opt} in:\n{help}");
    }
}

#[test]
fn dev_help_documents_its_options() {
    let help = help_of(&["dev", "--help"]);
    for opt in [
        "--port",
        "--emulator-port",
        "--poll-every",
        "--sweep-every",
        "--state",
        "--sf-login-url",
        "--aws-endpoint",
        ".crmsync-dev/state.json",
    ] {
        assert!(help.contains(opt), "{opt} in:\n{help}");
    }
}

#[test]
fn dev_refuses_a_bad_duration_by_name() {
    let out = crmsync(&["dev", "--poll-every", "soon"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--poll-every"), "{stderr}");
}

fn temp_state(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "crmsync-cli-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    dir.join("state.json")
}

fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no '{label}' line in:\n{stdout}"))
        .trim()
        .to_string()
}

#[test]
fn tenant_create_then_rotate_prints_new_credentials_once() {
    let state = temp_state("tenant");
    let s = state.to_str().unwrap();
    let out = crmsync(&[
        "tenant", "create", "--id", "acme", "--name", "Acme", "--state", s,
    ]);
    assert!(out.status.success(), "{out:?}");
    let created = String::from_utf8(out.stdout).unwrap();
    let key = field(&created, "api key:");
    let secret = field(&created, "webhook secret:");
    assert!(!key.is_empty() && !secret.is_empty());

    let out = crmsync(&[
        "tenant", "create", "--id", "acme", "--name", "Acme", "--state", s,
    ]);
    assert!(!out.status.success(), "a second create is refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");

    let out = crmsync(&["tenant", "rotate", "--id", "acme", "--state", s, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let rotated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["tenant_id"], "acme");
    assert_ne!(rotated["api_key"].as_str().unwrap(), key);
    assert_ne!(rotated["webhook_secret"].as_str().unwrap(), secret);

    let out = crmsync(&["tenant", "rotate", "--id", "nobody", "--state", s]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));

    let out = crmsync(&[
        "tenant", "create", "--id", "bad id", "--name", "x", "--state", s,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tenant"));

    let _ = std::fs::remove_dir_all(state.parent().unwrap());
}
