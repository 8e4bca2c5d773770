//! `mfa-reset sim` as an administrator runs it: the binary, its first line, its errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::graph::*;
use crate::support::process::{Run, mfa_reset};
use crate::support::*;

/// `mfa-reset sim ARGS` run to the end, with no client secret in its environment.
fn sim(args: &[&str]) -> Run {
    let mut cmd = mfa_reset(&["sim"]);
    cmd.args(args).env_remove("MFA_RESET_SIM_CLIENT_SECRET");
    Run::of(&mut cmd)
}

/// Kills the emulator process when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sim_prints_its_service_root_first_and_serves_graph() {
    let mut child = Command::new(BIN)
        .args([
            "sim",
            "--port",
            "0",
            "--users",
            "40",
            "--static-token",
            "cli-token",
        ])
        .env_remove("MFA_RESET_SIM_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let base = first.trim_end();
    let port = base
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line is the service root: {base:?}"));
    assert!(port.parse::<u16>().unwrap() > 0);

    let http = reqwest::Client::new();
    let a = read(
        http.get(format!(
            "{base}/v1.0/users?$top=999&$select=id,userPrincipalName"
        ))
        .bearer_auth("cli-token")
        .send()
        .await
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["value"].as_array().unwrap().len(), 40);
    let a = http
        .get(format!("{base}/v1.0/users"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 401);
    drop(running);
}

#[test]
fn dump_tenant_writes_a_loadable_tenant_file_with_the_realistic_mix() {
    let dir = scratch("dump");
    let file = dir.join("tenant.json");
    sim(&["--users", "300", "--seed", "7", "--dump-tenant", s(&file)]).expect_code(0);
    let tenant: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let users = tenant["users"].as_array().unwrap();
    assert_eq!(users.len(), 300);
    let upns: Vec<&str> = users
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert!(upns.iter().any(|u| u.contains("#EXT#")));
    assert!(upns.iter().any(|u| u.contains('\'')));
    assert_eq!(upns.iter().filter(|u| u.starts_with('$')).count(), 1);
    assert!(users.iter().any(|u| u["onPremisesSyncEnabled"] == true));
    assert!(
        users
            .iter()
            .any(|u| !u["roles"].as_array().unwrap().is_empty())
    );

    // Same seed, same tenant; and the file loads back.
    let again = dir.join("again.json");
    sim(&["--tenant-file", s(&file), "--dump-tenant", s(&again)]).expect_code(0);
    let reloaded: Value = serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(reloaded, tenant);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_broken_tenant_file_is_a_clear_error_with_exit_code_2() {
    let dir = scratch("broken");
    let file = dir.join("tenant.json");
    std::fs::write(&file, "{\n  \"tenantId\": \"9c3e1f57-2d4b-4a8e-b6f1-0e2a7c5d9b13\",\n  \"users\": [\n    {\"id\": 5}\n  ]\n}\n").unwrap();
    let out = sim(&["--static-token", "t", "--tenant-file", s(&file)]);
    out.expect_code(2);
    let stderr = &out.stderr;
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stderr.contains("column"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_settings_are_refused_with_exit_code_2() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["sim", "--static-token", "t", "--fail-rate", "1.5"],
            "--fail-rate",
        ),
        (
            &["sim", "--static-token", "t", "--time-scale", "0"],
            "--time-scale",
        ),
        (&["sim"], "MFA_RESET_SIM_CLIENT_SECRET"),
        (
            &[
                "sim",
                "--static-token",
                "t",
                "--client-cert",
                "/nonexistent/app.pem",
            ],
            "/nonexistent/app.pem",
        ),
        (
            &[
                "sim",
                "--static-token",
                "t",
                "--deny-permission",
                "User.Read.Everything",
            ],
            "User.Read.Everything",
        ),
    ];
    for (args, expected) in cases {
        let out = sim(&args[1..]);
        let stderr = &out.stderr;
        assert_eq!(out.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn the_client_secret_comes_from_the_environment_never_a_flag() {
    sim(&["--client-secret", "x"]).expect_code(2);
}

#[tokio::test]
async fn a_certificate_file_with_its_key_registers_the_app() {
    // The same PEM the client side will use (certificate and key together) is accepted.
    let mut child = Command::new(BIN)
        .args(["sim", "--users", "5", "--client-cert"])
        .arg(data("app.pem"))
        .env_remove("MFA_RESET_SIM_CLIENT_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    assert!(first.starts_with("http://127.0.0.1:"), "{first:?}");
    let stats = reqwest::get(format!("{}/_sim/stats", first.trim_end()))
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
}
