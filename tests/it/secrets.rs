//! Secrets stay secret, end to end: every command is run against the emulator with a known
//! client secret, a known certificate key and a known access token, with Temporary Access
//! Passes issued and the structured log on (`--log-format json`), and then every file the
//! runs wrote, every stdout and stderr, and every log are searched. The secret, the key's
//! material, the token and the passes must appear nowhere, except the passes in each run's
//! `secrets/tap.csv` (mode 0600, in a 0700 folder).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Certificate, SimApp, SimConfig};

use crate::support::folder::Folder;
use crate::support::oracle::Profile;
use crate::support::process::Run;
use crate::support::scenario::{Auth, Invocation, Scenario, app_with_secret, generated};
use crate::support::users::without_role;
use crate::support::{data, s};

const CLIENT_SECRET: &str = "Zq8~s3cr3t.Value-Never-To-Be-Seen_4711";
const ACCESS_TOKEN: &str = "eyJ0eXAi.static-token-never-to-be-seen.Qx9";

/// 120 generated users; the app has the client secret and the test certificate, and the
/// emulator accepts the access token.
fn tenant() -> SimConfig {
    let certificate =
        Certificate::from_pem_file(&data("app-cert.pem")).expect("the test certificate");
    SimConfig {
        static_token: Some(Secret::new(ACCESS_TOKEN)),
        apps: vec![SimApp {
            certificate: Some(certificate),
            ..app_with_secret(CLIENT_SECRET)
        }],
        ..generated(120, 91)
    }
}

fn secret() -> Auth {
    Auth::Secret(CLIENT_SECRET.into())
}

/// The structured log, to `NAME.log.jsonl` in the folder.
fn logged<'a>(t: &Scenario, invocation: Invocation<'a>, name: &str) -> Invocation<'a> {
    let log = t.dir.join(format!("{name}.log.jsonl"));
    invocation.args(&["--log-format", "json", "--log-file", s(&log)])
}

/// The runs' folders: with a client secret, a certificate, and a ready access token.
struct Runs {
    secret: Folder,
    certificate: Folder,
    token: Folder,
}

/// Runs every command once, with every kind of credential, each on a part of the 40
/// users: `check`; `plan` with passes and `apply` of the plan and `resume` with the client
/// secret; `apply` in one go with the certificate; `apply` with the access token, the log
/// on stderr; and `plan` with a secret the emulator refuses. Returns every run, the
/// refused one last.
fn run_every_command(t: &Scenario, runs: &Runs) -> Vec<Run> {
    let users = without_role(&t.before, 40);
    let all = t.write_list(&users);
    let a = t.write_list_as("a.csv", &users[..15]);
    let b = t.write_list_as("b.csv", &users[15..30]);
    let c = t.write_list_as("c.csv", &users[30..]);
    let check = t.mfa(&["check", s(&all)]).auth(secret());
    let plan = t.plan(&a, Profile::DeviceRefresh.with_tap()).auth(secret());
    let apply = t.apply_plan().out(runs.secret.path()).yes().auth(secret());
    let resume = t.mfa(&["resume", runs.secret.arg()]).auth(secret());
    let certificate = t
        .apply(&b, Profile::Incident.with_tap())
        .out(runs.certificate.path())
        .yes()
        .auth(Auth::Certificate(data("app.pem")));
    let mut outputs: Vec<Run> = [
        logged(t, check, "check"),
        logged(t, plan, "plan"),
        logged(t, apply, "apply-secret"),
        logged(t, resume, "resume"),
        logged(t, certificate, "apply-certificate"),
    ]
    .iter()
    .map(Invocation::run)
    .collect();
    let token = t
        .apply(&c, Profile::DeviceRefresh.with_tap())
        .args(&["--revoke-sessions", "--log-format", "json"])
        .out(runs.token.path())
        .yes()
        .auth(Auth::Token(ACCESS_TOKEN.into()));
    outputs.push(token.run());
    // A secret the emulator refuses: neither the error nor the log may echo what was
    // given.
    let refused = t
        .plan(&c, Profile::Incident)
        .out(&t.dir.join("refused"))
        .auth(Auth::Secret(format!("{CLIENT_SECRET}-wrong")));
    outputs.push(logged(t, refused, "refused").run());
    outputs
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

/// The logs really are JSON, and really saw the work.
fn assert_the_log_saw_the_work(log: &Path) {
    let apply_log = std::fs::read_to_string(log).expect("the apply log");
    let events: Vec<serde_json::Value> = apply_log
        .lines()
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    for message in ["batch answered", "user finished", "access token acquired"] {
        assert!(
            events.iter().any(|e| e["fields"]["message"] == message),
            "{message}"
        );
    }
}

/// Every place one of `needles` (what, text) shows: in a file under `dir` (a pass in a
/// `secrets/tap.csv` excepted) or in an output. Also returns how many files were read.
fn leaks(dir: &Path, outputs: &[Run], needles: &[(&str, String)]) -> (usize, Vec<String>) {
    let files: Vec<PathBuf> = Folder(dir.to_path_buf()).files();
    let mut leaks = Vec::new();
    for file in &files {
        let is_tap_file = file.ends_with("secrets/tap.csv");
        let bytes = std::fs::read(file).expect("readable");
        let text = String::from_utf8_lossy(&bytes);
        for (what, needle) in needles {
            if is_tap_file && *what == "a Temporary Access Pass" {
                continue;
            }
            if text.contains(needle.as_str()) {
                leaks.push(format!("{what} in {}", file.display()));
            }
        }
    }
    for out in outputs {
        for (what, needle) in needles {
            if out.output().contains(needle.as_str()) {
                leaks.push(format!("{what} in the output of `{}`", out.what));
            }
        }
    }
    (files.len(), leaks)
}

#[test]
fn no_secret_token_key_or_pass_appears_outside_the_secrets_file() {
    let t = Scenario::start("scan", tenant());
    let runs = Runs {
        secret: Folder(t.dir.join("run-secret")),
        certificate: Folder(t.dir.join("run-certificate")),
        token: Folder(t.dir.join("run-token")),
    };
    let outputs = run_every_command(&t, &runs);
    let refused =
        std::fs::read_to_string(t.dir.join("refused.log.jsonl")).expect("the refused run's log");
    assert!(
        refused.contains("no access token") || refused.contains("\"failed\""),
        "the refusal is in the log: {refused}"
    );
    for out in &outputs[1..outputs.len() - 1] {
        assert!(
            matches!(out.code(), Some(0) | Some(1)),
            "{} exited {:?}:\n{}",
            out.what,
            out.code(),
            out.output()
        );
    }
    let passes: BTreeSet<String> = [&runs.secret, &runs.certificate, &runs.token]
        .iter()
        .flat_map(|d| d.taps().into_iter().map(|(_, pass)| pass))
        .collect();
    assert!(passes.len() >= 20, "passes were issued: {}", passes.len());
    assert_the_log_saw_the_work(&t.dir.join("apply-secret.log.jsonl"));

    let mut needles: Vec<(&str, String)> = vec![
        ("the client secret", CLIENT_SECRET.into()),
        ("the access token", ACCESS_TOKEN.into()),
    ];
    needles.extend(key_material().into_iter().map(|l| ("a line of the key", l)));
    needles.extend(passes.into_iter().map(|p| ("a Temporary Access Pass", p)));
    let (scanned, leaks) = leaks(&t.dir, &outputs, &needles);
    assert!(scanned > 20, "only {scanned} files written?");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
