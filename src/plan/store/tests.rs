//! Tests of the plan store: importing a plan in any layout to the canonical one and reading
//! it back, refusing an edited, reordered or short plan, the streamed entries hash, and the
//! spill's rows read back in any order.

use super::*;
use crate::plan::fingerprint::plan_fingerprint;
use crate::plan::{InputInfo, PLAN_VERSION, PlanFile, Status, entries_sha256};
use crate::policy::{PolicyArgs, Profile};

fn plan(rows: usize) -> PlanFile {
    let policy = PolicyArgs {
        profile: Some(Profile::Incident),
        ..PolicyArgs::default()
    }
    .into_policy()
    .unwrap();
    let entries: Vec<PlanEntry> = (0..rows)
        .map(|row| PlanEntry {
            row,
            line: row + 2,
            input: format!("user{row}@contoso.example"),
            status: if row % 3 == 0 {
                Status::Invalid
            } else {
                Status::NotFound
            },
            reason: Some(format!("reason \"{row}\"\n")),
            before: None,
            steps: vec![],
            notes: vec![],
            columns: [("ticket".to_string(), format!("T-{row}"))].into(),
        })
        .collect();
    let fingerprint = plan_fingerprint("ab", &policy, &entries, None);
    PlanFile {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        created: "2026-11-28T00:00:00Z".into(),
        tool: "mfa-reset test".into(),
        graph: "http://127.0.0.1:1/v1.0".into(),
        input: InputInfo {
            file: "users.csv".into(),
            sha256: "ab".into(),
            rows,
        },
        policy,
        fingerprint,
        writes: 0,
        minimum_seconds: 0.0,
        notes: Vec::new(),
        admins_unverified: None,
        tenant: None,
        entries,
    }
}

/// A scratch folder under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("mfa-reset-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_plan_in_any_layout_is_imported_to_the_canonical_one_and_read_back() {
    let dir = Scratch::new("layout");
    for rows in [0, 1, 5, 300] {
        let plan = plan(rows);
        let given = dir.path().join(format!("given{rows}.json"));
        std::fs::write(&given, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
        let dest = dir.path().join(format!("plan{rows}.json"));
        let store = import(&given, &dest).unwrap();
        assert_eq!(store.len(), rows);
        assert_eq!(store.header, plan.header());
        let back: Vec<PlanEntry> = store.entries().collect::<Result<_, _>>().unwrap();
        assert_eq!(back, plan.entries);
        // The canonical file is ordinary JSON for the whole plan, and opens again.
        let bytes = std::fs::read(&dest).unwrap();
        assert_eq!(serde_json::from_slice::<PlanFile>(&bytes).unwrap(), plan);
        assert_eq!(store.sha256(), crate::plan::sha256_hex(&bytes));
        let reopened = PlanStore::open(&dest).unwrap();
        assert_eq!(reopened.sha256(), store.sha256());
        assert_eq!(reopened.header, plan.header());
        assert_eq!(
            reopened.entries().collect::<Result<Vec<_>, _>>().unwrap(),
            plan.entries
        );
        assert!(!dest.with_extension("body.tmp").exists());
    }
}

#[test]
fn an_edited_or_reordered_plan_is_refused_and_leaves_nothing() {
    let dir = Scratch::new("edited");
    let dest = dir.path().join("plan.json");
    let mut edited = plan(4);
    edited.entries[2].input = "someone-else@contoso.example".into();
    let mut swapped = plan(4);
    swapped.entries.swap(1, 2);
    let mut short = plan(4);
    short.entries.pop();
    for (name, p, needle) in [
        ("edited", edited, "fingerprint"),
        ("swapped", swapped, "in order"),
        ("short", short, "holds 3 entries"),
    ] {
        let given = dir.path().join(format!("{name}.json"));
        std::fs::write(&given, serde_json::to_vec(&p).unwrap()).unwrap();
        let err = import(&given, &dest).unwrap_err().to_string();
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!dest.exists(), "{name}");
    }
    // Fields in another order (entries first) are fine.
    let p = plan(3);
    let mut value = serde_json::to_value(&p).unwrap();
    let entries = value.as_object_mut().unwrap().remove("entries").unwrap();
    let mut text = format!("{{\"entries\": {entries},");
    let rest = serde_json::to_string(&value).unwrap();
    text.push_str(&rest[1..]);
    let given = dir.path().join("reordered.json");
    std::fs::write(&given, text).unwrap();
    let store = import(&given, &dest).unwrap();
    assert_eq!(store.entry(2).unwrap(), p.entries[2]);
}

#[test]
fn the_entries_hash_is_the_hash_of_the_entries_as_one_compact_json_list() {
    for rows in [0, 1, 3] {
        let plan = plan(rows);
        let whole = crate::plan::sha256_hex(&serde_json::to_vec(&plan.entries).unwrap());
        assert_eq!(entries_sha256(&plan.entries), whole, "{rows} entries");
    }
}

#[test]
fn a_re_saved_plan_is_not_opened_as_canonical() {
    let dir = Scratch::new("resaved");
    let path = dir.path().join("plan.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&plan(2)).unwrap()).unwrap();
    let err = PlanStore::open(&path).unwrap_err().to_string();
    assert!(err.contains("laid out"), "{err}");
}

#[test]
fn a_spill_gives_rows_back_whatever_order_they_were_written_in() {
    let dir = Scratch::new("spill");
    let path = dir.path().join("spill");
    let mut spill = EntrySpill::create(path.clone()).unwrap();
    for row in [5usize, 0, 3] {
        spill.put(row, &format!("row {row}")).unwrap();
    }
    assert_eq!(spill.get::<String>(3).unwrap().as_deref(), Some("row 3"));
    assert_eq!(spill.get::<String>(1).unwrap(), None);
    assert_eq!(spill.get::<String>(9).unwrap(), None);
    spill.put(1, &"late".to_string()).unwrap();
    assert_eq!(spill.get::<String>(1).unwrap().as_deref(), Some("late"));
    assert_eq!(spill.get::<String>(5).unwrap().as_deref(), Some("row 5"));
    drop(spill);
    assert!(!path.exists());
}
