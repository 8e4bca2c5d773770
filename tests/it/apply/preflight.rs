//! Fail safe before the first write (issue #15, rule 3): `plan`, `apply` and `resume` prove
//! the credential with one real Graph request before anything else, check the tenant's
//! Temporary Access Pass policy, and ready the private secrets folder — so that a rejected
//! token, a Graph that is down, passes the tenant would refuse or a folder others can read
//! end the command at once, with one message and the documented exit code, nothing
//! changed in the tenant and no run or plan folder left behind, whatever the list's size.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use mfa_reset::sim::{TapPolicy, permissions};

use super::wait_for_journal;
use crate::support::oracle::Profile;
use crate::support::process::Run;
use crate::support::scenario::{Auth, Scenario, generated};
use crate::support::users::ordinary;

/// How long a test lets the preflight keep trying an unreachable Graph.
const SHORT_BOUND: &str = "2";

/// A tenant of 400 users and a list of `listed` of them.
fn given(name: &str, seed: u64, listed: usize) -> (Scenario, std::path::PathBuf) {
    let t = Scenario::start(name, generated(400, seed));
    let input = t.write_list(&ordinary(&t.before, listed));
    (t, input)
}

/// The run ended with `code` within `within`, saying one thing on one line.
#[track_caller]
fn one_message(run: &Run, code: i32, took: Duration, within: Duration) -> String {
    run.expect_code(code);
    assert!(took < within, "took {took:?}: {}", run.stderr);
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one message, not one per user:\n{}",
        run.stderr
    );
    lines[0].to_string()
}

fn timed(run: impl FnOnce() -> Run) -> (Run, Duration) {
    let started = Instant::now();
    let run = run();
    (run, started.elapsed())
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_rejected_token_ends_plan_and_apply_at_once_with_one_message_and_no_folder() {
    let (t, input) = given("bad-token", 151, 200);
    let bad = || Auth::Token("not-the-tenants-token".into());
    let quick = Duration::from_secs(10);

    let (run, took) = timed(|| {
        t.plan(&input, Profile::DeviceRefresh.with_tap())
            .auth(bad())
            .run()
    });
    let message = one_message(&run, 3, took, quick);
    assert!(message.contains("credentials refused"), "{message}");
    assert!(
        message.contains("MFA_RESET_ACCESS_TOKEN"),
        "names the source: {message}"
    );
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(
        message.contains("put a fresh"),
        "says what to do: {message}"
    );
    assert!(
        !message.contains("not-the-tenants-token"),
        "never the token: {message}"
    );
    assert!(
        !t.planned().path().exists(),
        "no plan folder is left behind"
    );

    let (run, took) = timed(|| {
        t.apply(&input, Profile::DeviceRefresh)
            .yes()
            .auth(bad())
            .run()
    });
    let message = one_message(&run, 3, took, quick);
    assert!(message.contains("Nothing was changed"), "{message}");
    assert!(!t.out().path().exists(), "no run folder is left behind");

    // A plan made with the right token, applied with a wrong one.
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    let (run, took) = timed(|| t.apply_plan().yes().auth(bad()).run());
    one_message(&run, 3, took, quick);
    assert!(!t.out().path().exists(), "no run folder is left behind");

    // A folder that was there keeps the operator's files, and gets none of ours.
    std::fs::create_dir_all(t.out().path()).unwrap();
    std::fs::write(t.out().join("ticket.txt"), "CHG-1234").unwrap();
    t.apply_plan().yes().auth(bad()).run().expect_code(3);
    let left: Vec<String> = std::fs::read_dir(t.out().path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["ticket.txt"]);

    assert!(t.mutations().is_empty());
    assert_eq!(t.users(), t.before);
}

#[test]
fn a_graph_that_is_down_ends_plan_and_apply_within_the_bound_with_exit_1() {
    let (t, input) = given("graph-down", 152, 200);
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);
    std::fs::rename(t.planned().path(), t.dir.join("approved")).unwrap();
    let approved = t.dir.join("approved").join("plan.json");
    t.sim.outage(Duration::from_secs(300));
    // The bound is 2 s here (20 s by default); the process starts and stops around it.
    let within = Duration::from_secs(15);

    let (run, took) = timed(|| {
        t.plan(&input, Profile::DeviceRefresh)
            .env("MFA_RESET_PREFLIGHT_SECONDS", SHORT_BOUND)
            .run()
    });
    let message = one_message(&run, 1, took, within);
    assert!(
        message.contains(&format!("Microsoft Graph at {}", t.sim.base_url())),
        "names the Graph root: {message}"
    );
    assert!(message.contains("could not be reached"), "{message}");
    assert!(
        !t.planned().path().exists(),
        "no plan folder is left behind"
    );

    for invocation in [
        t.apply(&input, Profile::DeviceRefresh).yes(),
        t.mfa(&[
            "apply",
            approved.to_str().unwrap(),
            "--out",
            t.out().arg(),
            "--yes",
        ]),
    ] {
        let (run, took) = timed(|| {
            invocation
                .env("MFA_RESET_PREFLIGHT_SECONDS", SHORT_BOUND)
                .run()
        });
        let message = one_message(&run, 1, took, within);
        assert!(message.contains("Nothing was changed"), "{message}");
        assert!(!t.out().path().exists(), "no run folder is left behind");
    }
    let dropped = t.sim.stats()["faults"]["droppedConnections"]
        .as_u64()
        .unwrap();
    assert!(
        dropped >= 3,
        "the preflight tried again: {dropped} connections dropped"
    );
    assert!(t.mutations().is_empty());
}

#[test]
fn a_secrets_folder_others_can_read_is_refused_before_anything_is_read_or_changed() {
    let (t, input) = given("secrets-open", 153, 20);
    let secrets = t.out().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    set_mode(&secrets, 0o755);
    let graph_requests = t.sim.stats()["graphRequests"].clone();

    let run = t
        .apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(&secrets.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mode 755"), "{}", run.stderr);
    assert!(run.stderr.contains("chmod 700"), "{}", run.stderr);
    assert_eq!(
        t.sim.stats()["graphRequests"],
        graph_requests,
        "refused before the tenant was read"
    );
    assert!(t.mutations().is_empty());
    assert_eq!(mode(&secrets), 0o755, "left as it was");
    assert!(!secrets.join("tap.csv").exists());
    assert!(!t.out().join("journal.jsonl").exists());

    // Fixed as the message says, the same command runs, and writes the passes privately.
    set_mode(&secrets, 0o700);
    t.apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .run()
        .expect_code(0);
    assert_eq!(mode(&secrets.join("tap.csv")), 0o600);
}

#[test]
fn a_pass_file_others_can_read_stops_resume_before_anything_more_changes() {
    let (t, input) = given("secrets-resume", 154, 20);
    let mut slow = t
        .apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .budget("1/1s")
        .spawn("slow");
    // Readied before the first write: the file is there as soon as the run is.
    let tap_csv = t.out().join("secrets").join("tap.csv");
    let started = wait_for_journal(&mut slow, &t.out(), |_| !t.mutations().is_empty());
    assert!(started, "the slow run ended: {}", slow.stderr());
    assert!(tap_csv.exists());
    slow.kill_9();
    let changes = t.mutations().len();

    set_mode(&tap_csv, 0o644);
    let run = t.resume().run();
    run.expect_code(2);
    assert!(
        run.stderr.contains(&tap_csv.display().to_string()),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mode 644"), "{}", run.stderr);
    assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
    assert_eq!(t.mutations().len(), changes, "no new change");
    assert_eq!(mode(&tap_csv), 0o644, "left as it was");

    set_mode(&tap_csv, 0o600);
    t.resume().budget("5000/1s").run().expect_code(0);
    assert!(t.out().rows().iter().all(|r| r["status"] == "done"));
}

#[test]
fn a_lifetime_the_tenants_policy_refuses_stops_plan_and_apply_before_anything_is_read() {
    let (t, input) = given("tap-policy", 155, 20);
    const TAP_480: [&str; 2] = ["--tap-lifetime", "480"];
    // Made while the tenant allowed 60 to 480 minutes.
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .args(&TAP_480)
        .run()
        .expect_code(0);
    std::fs::rename(t.planned().path(), t.dir.join("approved")).unwrap();
    let approved = t.dir.join("approved").join("plan.json");

    t.sim
        .set_tap_policy(TapPolicy {
            minimum_lifetime_in_minutes: 60,
            maximum_lifetime_in_minutes: 120,
            default_lifetime_in_minutes: 60,
            ..TapPolicy::default()
        })
        .unwrap();
    let run = t
        .plan(&input, Profile::DeviceRefresh.with_tap())
        .args(&TAP_480)
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("60 to 120 minutes"), "{}", run.stderr);
    assert!(run.stderr.contains("--tap-lifetime"), "{}", run.stderr);
    assert!(!t.planned().path().exists(), "no plan folder");

    // The plan made before the policy changed is refused before its first write.
    let run = t
        .mfa(&[
            "apply",
            approved.to_str().unwrap(),
            "--out",
            t.out().arg(),
            "--yes",
        ])
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("60 to 120 minutes"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(!t.out().path().exists(), "no run folder");

    // One-time passes only: multi-use passes are refused, --tap-once is not.
    t.sim
        .set_tap_policy(TapPolicy {
            is_usable_once: true,
            ..TapPolicy::default()
        })
        .unwrap();
    let run = t.plan(&input, Profile::DeviceRefresh.with_tap()).run();
    run.expect_code(2);
    assert!(run.stderr.contains("--tap-once"), "{}", run.stderr);
    t.plan(&input, Profile::DeviceRefresh.with_tap())
        .args(&["--tap-once"])
        .run()
        .expect_code(0);
    std::fs::remove_dir_all(t.planned().path()).unwrap();

    // A disabled policy refuses every pass.
    t.sim
        .set_tap_policy(TapPolicy {
            state: false,
            ..TapPolicy::default()
        })
        .unwrap();
    let run = t
        .apply(&input, Profile::DeviceRefresh.with_tap())
        .yes()
        .run();
    run.expect_code(2);
    assert!(run.stderr.contains("disabled"), "{}", run.stderr);
    assert!(!t.out().path().exists(), "no run folder");
    // A policy without passes does not care.
    t.plan(&input, Profile::DeviceRefresh).run().expect_code(0);

    assert!(t.mutations().is_empty());
}

#[test]
fn a_policy_the_app_may_not_read_is_noted_in_the_plan_and_its_reports() {
    let t = Scenario::start("tap-policy-unread", generated(60, 156));
    let input = t.write_list(&ordinary(&t.before, 5));
    t.sim
        .deny_permissions(&permissions::with_wider(
            permissions::POLICY_READ_AUTHENTICATION_METHOD,
        ))
        .unwrap();
    let run = t
        .plan(&input, Profile::DeviceRefresh.with_tap())
        .args(&["--tap-lifetime", "1440"])
        .run();
    run.expect_code(0);
    let note = "the tenant's Temporary Access Pass policy could not be read (grant Policy.Read.AuthenticationMethod or Policy.Read.All): the pass lifetime was not checked against it";
    assert!(run.stderr.contains(note), "{}", run.stderr);
    let summary = std::fs::read_to_string(t.planned().join("summary.md")).unwrap();
    assert!(summary.contains(note), "{summary}");
    let html = std::fs::read_to_string(t.planned().join("report.html")).unwrap();
    assert!(
        html.contains("could not be read"),
        "the HTML report says so too"
    );
    assert_eq!(t.planned().plan()["notes"][0], note);

    assert!(t.mutations().is_empty());

    // Applied while the policy still cannot be read: the run goes on, said on the
    // terminal, and its summary carries the plan's note.
    let run = t
        .plan(&input, Profile::DeviceRefresh.with_tap())
        .args(&["--tap-lifetime", "120"])
        .out(&t.dir.join("plan-120"))
        .run();
    run.expect_code(0);
    let run = t
        .mfa(&[
            "apply",
            t.dir.join("plan-120").join("plan.json").to_str().unwrap(),
        ])
        .args(&["--out", t.out().arg(), "--yes"])
        .run();
    run.expect_code(0);
    assert!(
        run.stderr
            .contains("note: the tenant's Temporary Access Pass policy"),
        "{}",
        run.stderr
    );
    let summary = std::fs::read_to_string(t.out().join("summary.md")).unwrap();
    assert!(
        summary.contains("| Notes | the tenant's Temporary Access Pass policy could not be read"),
        "{summary}"
    );
}

// ---- the preflight itself, through the library against an emulator ----

mod library {
    use std::time::{Duration, Instant};

    use mfa_reset::graph::auth::{Credential, TokenEndpoint, TokenSource};
    use mfa_reset::graph::client::GraphClient;
    use mfa_reset::graph::endpoints::{Cloud, Endpoints};
    use mfa_reset::graph::preflight::{
        PreflightBounds, PreflightError, PreflightFailure, TapPolicyRead,
    };
    use mfa_reset::secret::Secret;
    use mfa_reset::sim::{Sim, SimConfig, SimHandle, TapPolicy};

    use crate::support::scenario::app_with_secret;

    const SECRET: &str = "preflight-client-secret";

    fn client(sim: &SimHandle, credential: Credential, total: Duration) -> GraphClient {
        let endpoints =
            Endpoints::new(Cloud::Global, Some(sim.base_url()), Some(sim.base_url())).unwrap();
        let http = GraphClient::http_client().unwrap();
        let tokens = TokenSource::new(
            credential,
            TokenEndpoint {
                token_url: endpoints.token_url(sim.tenant_id()),
                scope: endpoints.scope().to_string(),
            },
            http.clone(),
        )
        .unwrap();
        GraphClient::new(http, endpoints, tokens)
            .with_preflight_bounds(PreflightBounds::within(total))
    }

    fn app_secret(sim: &SimHandle) -> Credential {
        Credential::ClientSecret {
            tenant: sim.tenant_id().to_string(),
            client_id: sim.client_id().to_string(),
            secret: Secret::new(SECRET),
        }
    }

    async fn sim(fail_rate: f64) -> SimHandle {
        Sim::start(SimConfig {
            apps: vec![app_with_secret(SECRET)],
            static_token: Some(Secret::new("good")),
            fail_rate,
            ..SimConfig::default()
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_app_credential_passes_and_reads_the_tap_policy_in_one_preflight() {
        let sim = sim(0.0).await;
        sim.set_tap_policy(TapPolicy {
            maximum_lifetime_in_minutes: 1440,
            ..TapPolicy::default()
        })
        .unwrap();
        let client = client(&sim, app_secret(&sim), Duration::from_secs(5));
        let checks = client.preflight();
        checks.check_access().await.unwrap();
        let TapPolicyRead::Read(policy) = checks.read_tap_policy().await.unwrap() else {
            panic!("the policy is readable")
        };
        assert_eq!(policy.maximum_lifetime_minutes, 1440);
        assert!(policy.enabled && !policy.one_time_only);
        sim.deny_permissions(&mfa_reset::sim::permissions::with_wider(
            mfa_reset::sim::permissions::POLICY_READ_AUTHENTICATION_METHOD,
        ))
        .unwrap();
        assert!(matches!(
            client.preflight().read_tap_policy().await.unwrap(),
            TapPolicyRead::Unreadable { denied: true, .. }
        ));
        assert!(sim.mutations()["value"].as_array().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_graph_answering_only_5xx_or_dropping_is_given_up_at_the_bound() {
        let sim = sim(1.0).await;
        let client = client(
            &sim,
            Credential::AccessToken(Secret::new("good")),
            Duration::from_secs(1),
        );
        let started = Instant::now();
        let e = client.check_credentials().await.unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(3), "took {took:?}");
        assert_eq!(e.failure(), PreflightFailure::Failed, "{e}");
        let PreflightError::Unreachable { attempts, .. } = &e else {
            panic!("unreachable: {e}")
        };
        assert!(*attempts >= 2, "tried again: {e}");
        assert!(e.to_string().contains(sim.base_url()), "{e}");
    }

    #[tokio::test]
    async fn a_wrong_client_secret_is_refused_by_the_token_endpoint_not_retried() {
        let sim = sim(0.0).await;
        let wrong = Credential::ClientSecret {
            tenant: sim.tenant_id().to_string(),
            client_id: sim.client_id().to_string(),
            secret: Secret::new("not-the-secret"),
        };
        let client = client(&sim, wrong, Duration::from_secs(20));
        let started = Instant::now();
        let e = client.check_credentials().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(e.failure(), PreflightFailure::Refused, "{e}");
        assert!(matches!(e, PreflightError::Credential(_)), "{e:?}");
        assert!(!format!("{e} {e:?}").contains("not-the-secret"));
    }
}
