//! Headless Chromium for the report tests: find it (or skip, unless CI requires it), open
//! a page, and collect its console lines and the DOM it dumped; prove that a network
//! reference would be seen; take a screenshot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Chromium, with `dir` for its profiles and output; `None` (after a note) when it is not
/// installed, unless `MFA_RESET_REQUIRE_CHROMIUM=1` (as `.ci/run` sets), which panics.
pub fn chromium_or_skip(what: &str, dir: PathBuf) -> Option<Chromium> {
    if let Some(chromium) = Chromium::find(dir) {
        return Some(chromium);
    }
    if std::env::var("MFA_RESET_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
        panic!(
            "MFA_RESET_REQUIRE_CHROMIUM=1 but no chromium or chromium-browser on PATH; \
             install Debian's `chromium` (apt-get install chromium)"
        );
    }
    eprintln!(
        "note: skipping the headless Chromium check of {what}: no chromium or \
         chromium-browser on PATH (set MFA_RESET_REQUIRE_CHROMIUM=1 to make this fail)"
    );
    None
}

/// A headless Chromium run: its console lines (`INFO:CONSOLE`), the DOM it dumped.
pub struct Run {
    pub console: Vec<String>,
    pub stdout: String,
}

pub struct Chromium {
    binary: PathBuf,
    dir: PathBuf,
}

impl Chromium {
    fn find(dir: PathBuf) -> Option<Chromium> {
        let path = std::env::var_os("PATH")?;
        let binary = std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|candidate| candidate.is_file())?;
        Some(Chromium { binary, dir })
    }

    /// Opens `page` (with `fragment`, if any) headless; `args` are the mode (`--dump-dom`,
    /// `--screenshot=...`).
    pub fn run(&self, page: &Path, fragment: &str, args: &[String]) -> Run {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let profile = self.dir.join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile).unwrap();
        let stdout_path = self.dir.join(format!("stdout-{n}"));
        let stderr_path = self.dir.join(format!("stderr-{n}"));
        let url = format!(
            "file://{}{fragment}",
            page.canonicalize().unwrap().display()
        );
        let mut child = Command::new(&self.binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(&url)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        let deadline = Instant::now() + Duration::from_secs(180);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish {url} within 180 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        assert!(
            status.success(),
            "chromium failed on {url}: {status}\n{stderr}"
        );
        let console = stderr
            .lines()
            .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
            .map(str::to_string)
            .collect();
        Run { console, stdout }
    }

    pub fn dump_dom(&self, page: &Path, fragment: &str) -> Run {
        self.run(page, fragment, &["--dump-dom".to_string()])
    }

    /// First, the check can fail: `report` with an image from the network added must
    /// make the page's Content-Security-Policy complain on the console.
    pub fn assert_sees_network_reference(&self, dir: &Path, report: &str) {
        let page = dir.join("network.html");
        std::fs::write(
            &page,
            report.replace(
                "</footer>",
                "</footer><img src=\"http://127.0.0.1:9/pixel.png\" alt=\"\">",
            ),
        )
        .unwrap();
        let run = self.dump_dom(&page, "");
        assert!(
            run.console
                .iter()
                .any(|l| l.contains("Content Security Policy") && l.contains("127.0.0.1:9")),
            "a network reference must be seen: {:?}",
            run.console
        );
    }

    /// A screenshot of `page` (1280 pixels wide), which must log nothing and be a real
    /// page, not a blank one; with `MFA_RESET_WRITE_SCREENSHOT=1` it is also copied to
    /// `samples/SAMPLE`.
    pub fn screenshot(&self, page: &Path, sample: &str) {
        let png = self.dir.join(sample);
        let run = self.run(
            page,
            "",
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1280,2000".to_string(),
            ],
        );
        assert!(run.console.is_empty(), "console output: {:#?}", run.console);
        let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(
            bytes.len() > 50_000,
            "a real page, not a blank one: {} bytes",
            bytes.len()
        );
        if std::env::var("MFA_RESET_WRITE_SCREENSHOT").as_deref() == Ok("1") {
            let to = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples")
                .join(sample);
            std::fs::copy(&png, &to).unwrap();
            eprintln!("wrote {}", to.display());
        }
    }
}
