//! The real simple-salesforce client (Python) against the emulator: login, paging, writes,
//! describe and the deleted feed. Needs the project venv (`bash infra/test.sh` builds it).

use sf_emulator::{Emulator, EmulatorOptions};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CRMSYNC_TEST_PYTHON") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "CRMSYNC_TEST_PYTHON={} does not exist; run `bash infra/test.sh`",
            p.display()
        );
        return p;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = repo.join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python interpreter with simple-salesforce: set CRMSYNC_TEST_PYTHON or run `bash infra/test.sh` (expected {})",
        venv.display()
    );
    venv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_salesforce_drives_the_emulator() {
    let py = python();
    let emu = Emulator::start(EmulatorOptions::demo())
        .await
        .expect("start");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/third_party/simple_salesforce_check.py");
    let child = tokio::process::Command::new(py)
        .arg(&script)
        .arg(emu.base_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python");
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("script finished within 120 s")
        .expect("script ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "simple-salesforce check failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    // The emulator counted the third-party client's calls.
    let usage = emu.admin().api_usage("demo").expect("usage");
    assert!(
        usage.counters.get("queryMore").copied().unwrap_or(0) >= 2,
        "{usage:?}"
    );
    assert!(
        usage.counters.get("soap.login").copied().unwrap_or(0) >= 1,
        "{usage:?}"
    );
    emu.shutdown().await;
}
