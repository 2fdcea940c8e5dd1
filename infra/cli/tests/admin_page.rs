//! The admin page (`/ui/`) in a real browser: runs `tests/browser/admin_page.py` (beside this file) (Selenium
//! from the project venv, Debian's headless Chromium and chromedriver) against this build's
//! `crmsync dev`. The runner starts and stops `crmsync dev` and the browser itself, saves a
//! screenshot of each screen under `target/ui-screenshots/`, and stops after 7 minutes;
//! this test kills it if it has not finished after 9.
//!
//! Needs `chromium` and `chromedriver` (`bash infra/scripts/chromium.sh`) and a Python with
//! selenium (`CRMSYNC_TEST_PYTHON`, or `.venv` as `bash infra/scripts/python-env.sh` builds it).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(540);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    let p = std::env::var("CRMSYNC_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "no Python with selenium at {}: set CRMSYNC_TEST_PYTHON or run `bash infra/test.sh`",
        p.display()
    );
    p
}

#[test]
fn admin_page_works_in_headless_chromium() {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run `bash infra/scripts/chromium.sh` (Debian's chromium and chromium-driver)"
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/admin_page.py");
    let mut child = Command::new(python())
        .arg(&script)
        .arg("--crmsync")
        .arg(env!("CARGO_BIN_EXE_crmsync"))
        .arg("--screenshots")
        .arg(repo().join("target/ui-screenshots"))
        // Selenium uses the Debian driver and never looks for one online.
        .env("SE_OFFLINE", "true")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .spawn()
        .expect("the browser test runner starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the runner") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser tests did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(
        status.success(),
        "browser tests failed ({status}); see the runner's output above and target/ui-screenshots/failure.png"
    );
}
