//! Secrets stay secret, end to end: every command is run against the emulator with a known
//! client secret, a known certificate key and a known access token, with Temporary Access
//! Passes issued and the structured log on (`--log-format json`), and then every file the
//! runs wrote, every stdout and stderr, and every log are searched. The secret, the key's
//! material, the token and the passes must appear nowhere, except the passes in each run's
//! `secrets/tap.csv` (mode 0600, in a 0700 folder).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mfa_reset::secret::Secret;
use mfa_reset::sim::{
    Certificate, DEFAULT_CLIENT_ID, Sim, SimApp, SimConfig, SimHandle, TenantSource,
};

const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");
const CLIENT_SECRET: &str = "Zq8~s3cr3t.Value-Never-To-Be-Seen_4711";
const ACCESS_TOKEN: &str = "eyJ0eXAi.static-token-never-to-be-seen.Qx9";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("secrets-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// What one command printed.
struct Output {
    what: String,
    code: Option<i32>,
    text: String,
}

/// How the child authenticates.
#[derive(Clone, Copy)]
enum Auth {
    Secret,
    Certificate,
    Token,
    WrongSecret,
}

fn run(sim: &SimHandle, auth: Auth, args: &[&str]) -> Output {
    let base = sim.base_url();
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("MFA_RESET_ACCESS_TOKEN");
    for (name, _) in std::env::vars() {
        if name.starts_with("AZURE_") {
            cmd.env_remove(name);
        }
    }
    if args.first() != Some(&"check") && args.first() != Some(&"sim") {
        cmd.args(["--graph-url", base, "--login-url", base]);
    }
    match auth {
        Auth::Secret => {
            cmd.env("AZURE_TENANT_ID", sim.tenant_id())
                .env("AZURE_CLIENT_ID", sim.client_id())
                .env("AZURE_CLIENT_SECRET", CLIENT_SECRET);
        }
        Auth::Certificate => {
            cmd.env("AZURE_TENANT_ID", sim.tenant_id())
                .env("AZURE_CLIENT_ID", sim.client_id())
                .env("AZURE_CLIENT_CERTIFICATE_PATH", data("app.pem"));
        }
        Auth::Token => {
            cmd.env("MFA_RESET_ACCESS_TOKEN", ACCESS_TOKEN);
        }
        Auth::WrongSecret => {
            cmd.env("AZURE_TENANT_ID", sim.tenant_id())
                .env("AZURE_CLIENT_ID", sim.client_id())
                .env("AZURE_CLIENT_SECRET", format!("{CLIENT_SECRET}-wrong"));
        }
    }
    let out = cmd.output().expect("the binary runs");
    Output {
        what: args.join(" "),
        code: out.status.code(),
        text: format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The base64 lines of the test key: any one of them showing would leak key material.
fn key_material() -> Vec<String> {
    std::fs::read_to_string(data("app-key.pem"))
        .expect("the test key")
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 40)
        .map(str::to_string)
        .collect()
}

/// Every pass in a run's `secrets/tap.csv`, after checking the file's and folder's modes.
fn passes_in(run_dir: &Path) -> Vec<String> {
    let path = run_dir.join("secrets").join("tap.csv");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        assert_eq!(mode(&run_dir.join("secrets")), 0o700);
    }
    let mut reader = csv::Reader::from_path(&path).expect("tap.csv");
    let column = reader
        .headers()
        .expect("a header")
        .iter()
        .position(|h| h == "temporaryAccessPass")
        .expect("a temporaryAccessPass column");
    reader
        .records()
        .map(|r| r.expect("a row")[column].to_string())
        .collect()
}

#[test]
fn no_secret_token_key_or_pass_appears_outside_the_secrets_file() {
    let dir = scratch("scan");
    let sim = Sim::start_background(SimConfig {
        tenant: TenantSource::Generate {
            users: 120,
            seed: 91,
        },
        static_token: Some(Secret::new(ACCESS_TOKEN)),
        apps: vec![SimApp {
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: Some(Secret::new(CLIENT_SECRET)),
            certificate: Some(
                Certificate::from_pem_file(&data("app-cert.pem")).expect("the test certificate"),
            ),
            privileged: false,
        }],
        ..SimConfig::default()
    })
    .expect("the emulator starts");
    // Users without a directory role (the emulated app may change them), as a list.
    let state = serde_json::to_value(sim.state()).expect("state");
    let upns: Vec<String> = state["users"]
        .as_array()
        .expect("users")
        .iter()
        .filter(|u| u["roles"].as_array().is_none_or(|r| r.is_empty()))
        .filter_map(|u| u["userPrincipalName"].as_str().map(str::to_string))
        .take(40)
        .collect();
    let input = dir.join("users.csv");
    let mut list = String::from("userPrincipalName,ticket\n");
    for (i, upn) in upns.iter().enumerate() {
        list.push_str(&format!("\"{upn}\",INC-{i}\n"));
    }
    std::fs::write(&input, list).unwrap();
    let (a, b, c) = (&upns[..15], &upns[15..30], &upns[30..]);
    let part = |name: &str, users: &[String]| {
        let path = dir.join(name);
        let mut text = String::from("userPrincipalName\n");
        for u in users {
            text.push_str(&format!("\"{u}\"\n"));
        }
        std::fs::write(&path, text).unwrap();
        path
    };
    let (list_a, list_b, list_c) = (part("a.csv", a), part("b.csv", b), part("c.csv", c));

    let log = |name: &str| dir.join(format!("{name}.log.jsonl"));
    let json_log = ["--log-format", "json"];
    let mut outputs = Vec::new();
    let mut with_log = |auth: Auth, args: &[&str], name: &str| {
        let log_path = log(name);
        let mut all: Vec<&str> = args.to_vec();
        all.extend(json_log);
        all.extend(["--log-file", s(&log_path)]);
        outputs.push(run(&sim, auth, &all));
    };
    with_log(Auth::Secret, &["check", s(&input)], "check");
    // Client secret: plan with passes, then apply the plan.
    let plan_dir = dir.join("plan");
    with_log(
        Auth::Secret,
        &[
            "plan",
            s(&list_a),
            "--profile",
            "device-refresh",
            "--issue-tap",
            "--out",
            s(&plan_dir),
        ],
        "plan",
    );
    let run_a = dir.join("run-secret");
    with_log(
        Auth::Secret,
        &[
            "apply",
            s(&plan_dir.join("plan.json")),
            "--out",
            s(&run_a),
            "--yes",
        ],
        "apply-secret",
    );
    with_log(Auth::Secret, &["resume", s(&run_a)], "resume");
    // Certificate: plan and apply in one go.
    let run_b = dir.join("run-certificate");
    with_log(
        Auth::Certificate,
        &[
            "apply",
            s(&list_b),
            "--profile",
            "incident",
            "--issue-tap",
            "--out",
            s(&run_b),
            "--yes",
        ],
        "apply-certificate",
    );
    // A ready access token, with the log on stderr this time.
    let run_c = dir.join("run-token");
    outputs.push(run(
        &sim,
        Auth::Token,
        &[
            "apply",
            s(&list_c),
            "--profile",
            "device-refresh",
            "--revoke-sessions",
            "--issue-tap",
            "--out",
            s(&run_c),
            "--yes",
            "--log-format",
            "json",
        ],
    ));
    // A secret the emulator refuses: neither the error nor the log may echo what was
    // given.
    let refused_log = log("refused");
    outputs.push(run(
        &sim,
        Auth::WrongSecret,
        &[
            "plan",
            s(&list_c),
            "--profile",
            "incident",
            "--out",
            s(&dir.join("refused")),
            "--log-format",
            "json",
            "--log-file",
            s(&refused_log),
        ],
    ));
    let refused = std::fs::read_to_string(&refused_log).expect("the refused run's log");
    assert!(
        refused.contains("no access token") || refused.contains("\"failed\""),
        "the refusal is in the log: {refused}"
    );

    for out in &outputs[1..outputs.len() - 1] {
        assert!(
            matches!(out.code, Some(0) | Some(1)),
            "{} exited {:?}:\n{}",
            out.what,
            out.code,
            out.text
        );
    }
    let passes: BTreeSet<String> = [&run_a, &run_b, &run_c]
        .iter()
        .flat_map(|d| passes_in(d))
        .collect();
    assert!(passes.len() >= 20, "passes were issued: {}", passes.len());
    // The logs really are JSON, and really saw the work.
    let apply_log = std::fs::read_to_string(log("apply-secret")).expect("the apply log");
    let events: Vec<serde_json::Value> = apply_log
        .lines()
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "batch answered")
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "user finished")
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "access token acquired")
    );

    let mut needles: Vec<(String, String)> = vec![
        ("the client secret".into(), CLIENT_SECRET.into()),
        ("the access token".into(), ACCESS_TOKEN.into()),
    ];
    needles.extend(
        key_material()
            .into_iter()
            .map(|l| ("a line of the key".into(), l)),
    );
    needles.extend(
        passes
            .iter()
            .map(|p| ("a Temporary Access Pass".into(), p.clone())),
    );
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let mut leaks = Vec::new();
    let mut scanned = 0;
    for file in &files {
        let is_tap_file = file.ends_with("secrets/tap.csv");
        let bytes = std::fs::read(file).expect("readable");
        let text = String::from_utf8_lossy(&bytes);
        scanned += 1;
        for (what, needle) in &needles {
            if is_tap_file && what == "a Temporary Access Pass" {
                continue;
            }
            if text.contains(needle.as_str()) {
                leaks.push(format!("{what} in {}", file.display()));
            }
        }
    }
    for out in &outputs {
        for (what, needle) in &needles {
            if out.text.contains(needle.as_str()) {
                leaks.push(format!("{what} in the output of `{}`", out.what));
            }
        }
    }
    assert!(scanned > 20, "only {scanned} files written?");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
