//! Several tenants in one run (`--tenants FILE`), one emulator serving the three tenants at
//! one Graph root, each known by its tokens: the list's tenant column sends each row to its tenant, and
//! only there (two tenants hold the same users, UPNs included); one tenant's wrong secret
//! ends that tenant only; one tenant has a tight write quota and still finishes; the
//! roll-up names every tenant; a run over the three killed part-way is finished by
//! `resume DIR`; a resume starts the tenant that never began once its secret is right.

use std::time::Duration;

use mfa_reset::secret::Secret;
use mfa_reset::sim::{Quotas, SimConfig, TenantSource};
use serde_json::{Value, json};

use crate::support::folder::Folder;
use crate::support::oracle::Profile;
use crate::support::process::wait_until;
use crate::support::scenario::{Auth, Scenario, app_with_secret, generated};
use crate::support::users::{self, id_of, upn};

const RIGHT_SECRET: &str = "the-right-secret";
/// Tenant A's and B's ready tokens: a Graph request goes to the tenant whose token it bears.
const A_TOKEN: &str = "tenant-a-static-token";
const B_TOKEN: &str = "tenant-b-static-token";

/// Tenants A and B hold the same users (B's file is A's with another tenant id); C is a
/// tenant of its own whose app has a client secret. B's write quota is tight.
struct World {
    a: Scenario,
    b: Scenario,
    c: Scenario,
}

impl World {
    /// One emulator serving the three tenants at one Graph root, each known by its tokens.
    fn start(name: &str) -> World {
        let mut b_record = mfa_reset::sim::generate::generate(200, 211).to_record();
        b_record.tenant_id = "0b0b0b0b-0000-4000-8000-0000000000bb".into();
        let b_file =
            std::env::temp_dir().join(format!("mfa-reset-{name}-b-{}.json", std::process::id()));
        std::fs::write(&b_file, serde_json::to_string(&b_record).unwrap()).unwrap();
        let mut tenants = Scenario::start_tenants(
            name,
            vec![
                SimConfig {
                    static_token: Some(Secret::new(A_TOKEN)),
                    ..generated(200, 211)
                },
                SimConfig {
                    tenant: TenantSource::File(b_file),
                    static_token: Some(Secret::new(B_TOKEN)),
                    quotas: Some(Quotas {
                        app_writes: 4.0,
                        app_write_window: Duration::from_secs(1),
                        ..Quotas::documented(mfa_reset::sim::TenantSize::Large)
                    }),
                    ..SimConfig::default()
                },
                SimConfig {
                    apps: vec![app_with_secret(RIGHT_SECRET)],
                    ..generated(60, 212)
                },
            ],
        );
        let c = tenants.pop().unwrap();
        let b = tenants.pop().unwrap();
        let a = tenants.pop().unwrap();
        World { a, b, c }
    }

    /// The tenants file: A and B by ready tokens, C by its app's secret (from
    /// `C_SECRET`), each at its emulator.
    fn tenants_file(&self) -> std::path::PathBuf {
        // One Graph root for every tenant, the command line's, as in Entra.
        let entry = |t: &Scenario, folder: &str, auth: Value| {
            let mut e = json!({
                "tenant": t.sim.tenant_id(),
                "folder": folder,
            });
            e.as_object_mut()
                .unwrap()
                .extend(auth.as_object().unwrap().clone());
            e
        };
        let file = json!({"tenants": [
            entry(&self.a, "a", json!({"accessTokenEnv": "A_TOKEN"})),
            entry(&self.b, "b", json!({"accessTokenEnv": "B_TOKEN", "profile": "incident"})),
            entry(&self.c, "c", json!({"clientId": self.c.sim.client_id(), "clientSecretEnv": "C_SECRET"})),
        ]});
        self.a.write("tenants.json", file.to_string())
    }
}

/// `userPrincipalName,tenant,ticket` rows: each tenant's users, in turn.
fn list(t: &Scenario, parts: &[(&[Value], &Scenario)]) -> std::path::PathBuf {
    let mut text = String::from("userPrincipalName,tenant,ticket\n");
    let rows = parts
        .iter()
        .flat_map(|(users, tenant)| users.iter().map(move |u| (u, tenant)));
    for (i, (u, tenant)) in rows.enumerate() {
        text.push_str(&format!("{},{},T-{i}\n", upn(u), tenant.sim.tenant_id()));
    }
    t.write("users.csv", text)
}

fn run_over_tenants<'a, S: AsRef<str>>(
    w: &'a World,
    args: &[S],
    c_secret: &str,
) -> crate::support::scenario::Invocation<'a> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    w.a.mfa(&args)
        .env("A_TOKEN", A_TOKEN)
        .env("B_TOKEN", B_TOKEN)
        .env("C_SECRET", c_secret)
}

/// `apply INPUT --profile device-refresh --tenants TENANTS --yes --out OUT EXTRA...`.
fn apply_words(
    input: &std::path::Path,
    tenants: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut words: Vec<String> = ["apply", "--profile", "device-refresh", "--yes"]
        .iter()
        .map(|w| w.to_string())
        .collect();
    words.insert(1, input.display().to_string());
    for (flag, path) in [("--tenants", tenants), ("--out", out)] {
        words.extend([flag.to_string(), path.display().to_string()]);
    }
    words.extend(extra.iter().map(|w| w.to_string()));
    words
}

#[test]
fn each_row_goes_to_its_tenant_only_and_one_tenants_refusal_stops_only_that_tenant() {
    let w = World::start("tenants-three");
    let in_a = users::ordinary(&w.a.before, 6);
    // B holds the same users: these rows name B, so only B changes them.
    let in_b: Vec<Value> = in_a[3..6].to_vec();
    let in_a = &in_a[..3];
    let in_c = users::ordinary(&w.c.before, 3);
    let input = list(&w.a, &[(in_a, &w.a), (&in_b, &w.b), (&in_c, &w.c)]);
    let tenants = w.tenants_file();
    let out = w.a.dir.join("run");
    let run = run_over_tenants(
        &w,
        &apply_words(&input, &tenants, &out, &[]),
        "a-wrong-secret",
    )
    .run();
    // C's credential was refused: the run's exit says so; A and B finished.
    run.expect_code(3);
    w.a.assert_tenant_after(in_a, Profile::DeviceRefresh);
    w.b.assert_tenant_after(&in_b, Profile::Incident);
    assert!(
        w.b.sim.stats()["throttled"].as_u64().unwrap() > 0,
        "B's tight quota throttled the run, which still finished: {}",
        w.b.sim.stats()
    );
    assert_eq!(w.a.sim.stats()["throttled"], 0, "A's quota is its own");
    for u in &in_b {
        assert!(
            !w.a.mutations().iter().any(|m| m["userId"] == id_of(u)),
            "{} was changed in tenant A, though its row names B",
            upn(u)
        );
    }
    for u in in_a {
        assert!(
            !w.b.mutations().iter().any(|m| m["userId"] == id_of(u)),
            "{} was changed in tenant B, though its row names A",
            upn(u)
        );
    }
    assert!(w.c.mutations().is_empty(), "C's credential was refused");
    // Each tenant's folder is a run of its own, its rows keeping their lines.
    let a_rows = Folder(out.join("a")).rows();
    assert_eq!(a_rows.len(), 3);
    assert_eq!(a_rows[0]["columns"]["sourceLine"], "2", "{}", a_rows[0]);
    assert_eq!(a_rows[0]["tenantId"], w.a.sim.tenant_id());
    let b_rows = Folder(out.join("b")).rows();
    assert_eq!(b_rows[0]["columns"]["sourceLine"], "5", "{}", b_rows[0]);
    assert_eq!(b_rows[0]["tenantId"], w.b.sim.tenant_id());
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("over 3 tenants"), "{summary}");
    assert!(summary.contains("`c/` | exit 3"), "{summary}");
    assert!(summary.contains("3 done"), "{summary}");
    assert!(out.join("report.html").is_file());
    assert!(
        !std::fs::read_to_string(out.join("tenants.json"))
            .unwrap()
            .contains("a-wrong-secret"),
        "no secret is kept"
    );

    // With the right secret, resume starts C and leaves A and B as they are.
    let seen = (w.a.mutations().len(), w.b.mutations().len());
    run_over_tenants(&w, &["resume", out.to_str().unwrap()], RIGHT_SECRET)
        .run()
        .expect_code(0);
    assert_eq!(
        (w.a.mutations().len(), w.b.mutations().len()),
        seen,
        "finished tenants are not changed again"
    );
    w.c.assert_tenant_after(&in_c, Profile::DeviceRefresh);
}

#[test]
fn a_run_over_tenants_killed_part_way_is_finished_by_resume() {
    let w = World::start("tenants-kill");
    let in_a = users::ordinary(&w.a.before, 40);
    // B holds the same users: others than A's rows name.
    let in_b = users::ordinary(&w.b.before, 45)[40..].to_vec();
    let in_c = users::ordinary(&w.c.before, 10);
    let input = list(&w.a, &[(&in_a, &w.a), (&in_b, &w.b), (&in_c, &w.c)]);
    let tenants = w.tenants_file();
    let out = w.a.dir.join("run");
    let words = apply_words(&input, &tenants, &out, &["--write-budget", "20/1s"]);
    let mut child = run_over_tenants(&w, &words, RIGHT_SECRET).spawn("killed");
    let a = Folder(out.join("a"));
    let mut begun = false;
    wait_until("tenant A has begun its writes", || {
        begun = a
            .journal()
            .iter()
            .any(|l| l.contains("\"record\":\"step\""));
        begun || !child.is_running()
    });
    assert!(begun, "the run was killed while it was going");
    child.kill_9();
    let finished = a
        .journal()
        .iter()
        .filter(|l| l.contains("\"record\":\"finished\""))
        .count();
    assert!(
        finished < 40,
        "tenant A had not finished when the run was killed"
    );
    // Tenant A alone, with the credential its entry names (the process's own token is
    // one the emulator does not know).
    let a_dir = out.join("a");
    run_over_tenants(&w, &["resume", a_dir.to_str().unwrap()], RIGHT_SECRET)
        .auth(Auth::Token("not-a-token-any-tenant-knows".into()))
        .run()
        .expect_code(0);
    w.a.assert_tenant_after(&in_a, Profile::DeviceRefresh);
    // Then the whole run.
    run_over_tenants(&w, &["resume", out.to_str().unwrap()], RIGHT_SECRET)
        .run()
        .expect_code(0);
    w.a.assert_tenant_after(&in_a, Profile::DeviceRefresh);
    w.b.assert_tenant_after(&in_b, Profile::Incident);
    w.c.assert_tenant_after(&in_c, Profile::DeviceRefresh);
    assert_eq!(Folder(out.join("a")).rows().len(), 40);
    assert_eq!(Folder(out.join("b")).rows().len(), 5);
    assert_eq!(Folder(out.join("c")).rows().len(), 10);
}

#[test]
fn plan_over_tenants_writes_a_plan_per_tenant_and_bad_input_changes_nothing() {
    let w = World::start("tenants-plan");
    let in_a = users::ordinary(&w.a.before, 2);
    let in_b = users::ordinary(&w.b.before, 2);
    let input = list(&w.a, &[(&in_a, &w.a), (&in_b, &w.b)]);
    let tenants = w.tenants_file();
    let out = w.a.dir.join("plans");
    let args = |input: &std::path::Path, out: &std::path::Path| {
        vec![
            "plan".to_string(),
            input.display().to_string(),
            "--profile".into(),
            "device-refresh".into(),
            "--tenants".into(),
            tenants.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    run_over_tenants(&w, &args(&input, &out), RIGHT_SECRET)
        .run()
        .expect_code(0);
    for (folder, t) in [("a", &w.a), ("b", &w.b)] {
        let plan = Folder(out.join(folder)).plan();
        assert_eq!(plan["tenant"]["id"], t.sim.tenant_id(), "{folder}");
        assert_eq!(plan["entries"].as_array().map(Vec::len), Some(2));
    }
    // B's entry of the tenants file gives it the incident profile.
    assert_eq!(
        Folder(out.join("b")).plan()["policy"]["profile"],
        "incident"
    );
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("plan over 2 tenants"), "{summary}");
    assert!(w.a.mutations().is_empty() && w.b.mutations().is_empty());
    // The plans, carried out side by side, each in its tenant.
    let run = w.a.dir.join("applied");
    let words = [
        "apply",
        out.to_str().unwrap(),
        "--yes",
        "--out",
        run.to_str().unwrap(),
        "-o",
        "json",
    ];
    let applied = run_over_tenants(&w, &words, RIGHT_SECRET)
        .auth(Auth::Token("not-a-token-any-tenant-knows".into()))
        .run();
    applied.expect_code(0);
    // One document for the whole run, a part per tenant.
    let doc: Value = serde_json::from_str(applied.stdout.trim()).expect("one JSON document");
    assert_eq!(doc["counts"]["done"], 4, "{doc}");
    let parts = doc["tenants"].as_array().expect("tenants");
    let ids: Vec<&Value> = parts.iter().map(|p| &p["tenant"]["id"]).collect();
    assert_eq!(ids, [w.a.sim.tenant_id(), w.b.sim.tenant_id()], "{doc}");
    assert!(parts.iter().all(|p| p["counts"]["done"] == 2), "{doc}");
    w.a.assert_tenant_after(&in_a, Profile::DeviceRefresh);
    w.b.assert_tenant_after(&in_b, Profile::Incident);
    let summary = std::fs::read_to_string(run.join("summary.md")).unwrap();
    assert!(summary.contains("run over 2 tenants"), "{summary}");
    let seen = (w.a.mutations().len(), w.b.mutations().len());
    // Resumed, the finished run of plans finds every tenant done and changes nothing.
    let resumed = run_over_tenants(&w, &["resume", run.to_str().unwrap()], RIGHT_SECRET).run();
    resumed.expect_code(0);
    assert!(resumed.stderr.contains("roll-up"), "{}", resumed.stderr);
    assert_eq!((w.a.mutations().len(), w.b.mutations().len()), seen);

    // A row naming a tenant the file does not hold: refused with its line, nothing read.
    let bad = w.a.write(
        "bad.csv",
        format!(
            "userPrincipalName,tenant\n{},{}\nx@nowhere.example,nowhere.example\n",
            upn(&in_a[0]),
            w.a.sim.tenant_id()
        ),
    );
    let refused = run_over_tenants(&w, &args(&bad, &w.a.dir.join("bad")), RIGHT_SECRET).run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("line 3, column tenant"),
        "{}",
        refused.stderr
    );
    // A secret written into the tenants file is refused by name, never echoed.
    let leaky = w.a.write(
        "leaky.json",
        json!({"tenants": [{"tenant": w.a.sim.tenant_id(), "clientId": "x", "clientSecret": "hunter2"}]})
            .to_string(),
    );
    let refused =
        w.a.mfa(&[
            "plan",
            input.to_str().unwrap(),
            "--profile",
            "device-refresh",
            "--tenants",
            leaky.to_str().unwrap(),
            "--out",
            w.a.dir.join("leaky").to_str().unwrap(),
        ])
        .run();
    refused.expect_code(2);
    assert!(
        refused.stderr.contains("never goes in this file"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("hunter2"));
    assert_eq!((w.a.mutations().len(), w.b.mutations().len()), seen);
}
