//! What a run must do, computed here from the tenant as it was before the run and Entra's
//! rules, not read from the plan, so that the plan and the run cannot agree on a mistake:
//! the profiles ([`Profile`], [`Policy`]), what one must do to each user ([`expect`]), and
//! the checks of a finished run's tenant, mutation log and results against that.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::folder::Folder;
use super::users::{
    Users, by_user, count, deleted, id_of, ids_of, is_admin, is_enabled, is_synced, kind,
    method_ids, methods, op, untouchable_fields, upn,
};
use super::{ALTERNATE_MOBILE, MOBILE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    DeviceRefresh,
    Incident,
    Offboard,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::DeviceRefresh => "device-refresh",
            Profile::Incident => "incident",
            Profile::Offboard => "offboard",
        }
    }

    /// Whether the profile removes methods of this type ("Require re-register MFA" for a
    /// device refresh: phones, Authenticator, software and hardware OATH tokens;
    /// everything but the password otherwise).
    pub fn removes(self, kind: &str) -> bool {
        match self {
            Profile::DeviceRefresh => matches!(
                kind,
                "phone" | "microsoftAuthenticator" | "softwareOath" | "hardwareOath"
            ),
            Profile::Incident | Profile::Offboard => kind != "password",
        }
    }

    /// The profile with `--issue-tap`.
    pub fn with_tap(self) -> Policy {
        Policy {
            profile: self,
            tap: true,
        }
    }
}

/// A policy as the command line gives it: a profile, with or without passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub profile: Profile,
    pub tap: bool,
}

impl Policy {
    /// `--profile NAME [--issue-tap]`.
    pub fn args(self) -> Vec<String> {
        let mut args = vec!["--profile".to_string(), self.profile.name().to_string()];
        if self.tap {
            args.push("--issue-tap".to_string());
        }
        args
    }
}

impl From<Profile> for Policy {
    fn from(profile: Profile) -> Policy {
        Policy {
            profile,
            tap: false,
        }
    }
}

/// What a run of a policy must do to one user.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub status: &'static str,
    pub deleted: BTreeSet<String>,
    pub revoke: bool,
    pub disable: bool,
    pub tap: bool,
    /// The default method is changed first (beta `signInPreferences`).
    pub repoint: bool,
}

impl Expect {
    pub fn writes(&self) -> usize {
        self.deleted.len()
            + usize::from(self.revoke)
            + usize::from(self.disable)
            + usize::from(self.tap)
            + usize::from(self.repoint)
    }
}

/// The exit code a command must end with, by its rows' statuses: 0 only when every row is
/// done, no-change, excluded, protected or duplicate (or, for a plan, planned); 1
/// otherwise.
pub fn exit_for<'a>(statuses: impl IntoIterator<Item = &'a str>) -> i32 {
    const ZERO: [&str; 6] = [
        "done",
        "no-change",
        "excluded",
        "protected",
        "duplicate",
        "planned",
    ];
    i32::from(!statuses.into_iter().all(|s| ZERO.contains(&s)))
}

/// What `policy` must do to `u`, from Entra's rules.
pub fn expect(policy: impl Into<Policy>, u: &Value) -> Expect {
    let Policy { profile, tap } = policy.into();
    let nothing = |status| Expect {
        status,
        deleted: BTreeSet::new(),
        revoke: false,
        disable: false,
        tap: false,
        repoint: false,
    };
    if is_admin(u) {
        return nothing("protected");
    }
    let revoke = matches!(profile, Profile::Incident | Profile::Offboard);
    if profile == Profile::Offboard && is_enabled(u) && is_synced(u) {
        // Cannot be disabled through Graph: only the sessions are revoked.
        return Expect {
            revoke: true,
            ..nothing("blocked")
        };
    }
    let selected: BTreeSet<String> = methods(u)
        .iter()
        .filter(|m| profile.removes(kind(m)))
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    // Every profile removes every type that can be the default, so a default is only in
    // the way as an alternate mobile phone with a mobile phone: Graph deletes neither (the
    // mobile phone not while the alternate exists, the default not while another MFA
    // method remains) until the default moves to the mobile phone, which then goes last.
    let repoint = u["defaultMethod"] == ALTERNATE_MOBILE
        && selected.contains(ALTERNATE_MOBILE)
        && selected.contains(MOBILE);
    let disable = profile == Profile::Offboard && is_enabled(u);
    let tap = tap && is_enabled(u) && !selected.is_empty();
    let e = Expect {
        status: "done",
        deleted: selected,
        revoke,
        disable,
        tap,
        repoint,
    };
    if e.writes() == 0 {
        nothing("no-change")
    } else {
        e
    }
}

/// Checks one listed user after a finished run: fields a run may not change unchanged,
/// the selected methods gone and the kept ones exactly as they were, a new pass when one
/// is issued (it replaces an existing one, as Graph does), the password never removed,
/// the account and sessions as expected, and exactly the expected mutations, each once.
fn assert_user_after(was: &Value, now: &Value, mine: &[Value], e: &Expect) {
    let who = format!("{} ({})", upn(was), e.status);
    assert_eq!(untouchable_fields(now), untouchable_fields(was), "{who}");
    let new: Vec<&Value> = methods(now)
        .iter()
        .filter(|m| !method_ids(was).contains(m["id"].as_str().unwrap()))
        .collect();
    assert_eq!(new.len(), usize::from(e.tap), "{who}: new methods {new:?}");
    assert!(
        new.iter().all(|m| kind(m) == "temporaryAccessPass"),
        "{who}"
    );
    let kept: Vec<&Value> = methods(was)
        .iter()
        .filter(|m| !e.deleted.contains(m["id"].as_str().unwrap()))
        .filter(|m| !(e.tap && kind(m) == "temporaryAccessPass"))
        .collect();
    let old_now: Vec<&Value> = methods(now)
        .iter()
        .filter(|m| method_ids(was).contains(m["id"].as_str().unwrap()))
        .collect();
    assert_eq!(old_now, kept, "{who}: methods kept");
    assert!(
        methods(now).iter().any(|m| kind(m) == "password") || was["userType"] == "Guest",
        "{who}: the password is never removed"
    );
    assert_eq!(is_enabled(now), is_enabled(was) && !e.disable, "{who}");
    if !e
        .deleted
        .contains(was["defaultMethod"].as_str().unwrap_or_default())
    {
        assert_eq!(now["defaultMethod"], was["defaultMethod"], "{who}");
    }
    let moved = now["signInSessionsValidFromDateTime"] != was["signInSessionsValidFromDateTime"];
    assert_eq!(moved, e.revoke, "{who}: sessions revoked");
    if e.revoke {
        assert!(now["signInSessionsValidFromDateTime"].is_string(), "{who}");
    }
    assert_deleted_once(mine, e, &who);
    assert_eq!(
        count(mine, "revokeSignInSessions"),
        usize::from(e.revoke),
        "{who}"
    );
    assert_eq!(count(mine, "updateUser"), usize::from(e.disable), "{who}");
    assert_eq!(
        count(mine, "setDefaultMethod"),
        usize::from(e.repoint),
        "{who}"
    );
    assert_eq!(
        count(mine, "createTemporaryAccessPass"),
        usize::from(e.tap),
        "{who}"
    );
    assert_eq!(mine.len(), e.writes(), "{who}: {mine:?}");
    if mine.iter().any(|m| op(m) == "updateUser") {
        assert!(
            mine.iter()
                .all(|m| op(m) != "updateUser" || m["accountEnabled"] == false)
        );
    }
}

/// The user's mutations deleted exactly the expected methods, each once.
pub fn assert_deleted_once(mine: &[Value], e: &Expect, who: &str) {
    let deleted = deleted(mine);
    assert_eq!(
        deleted
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        e.deleted,
        "{who}: methods deleted"
    );
    assert_eq!(
        deleted.len(),
        e.deleted.len(),
        "{who}: a method deleted twice"
    );
}

/// Checks the tenant after a finished run of `policy` over `listed` (in input order):
/// each listed user's state and mutations are what [`expect`] says, users not listed are
/// untouched, and nothing else was changed. Returns the expectations, by user id.
pub fn assert_tenant_after(
    before: &Users,
    after: &Users,
    mutations: &[Value],
    listed: &[Value],
    policy: Policy,
) -> BTreeMap<String, Expect> {
    let by_user = by_user(mutations);
    let mut expected = BTreeMap::new();
    for u in listed {
        let id = id_of(u);
        let e = expect(policy, &before[id]);
        let mine = by_user.get(id).cloned().unwrap_or_default();
        assert_user_after(&before[id], &after[id], &mine, &e);
        expected.insert(id.to_string(), e);
    }
    // Nobody else was touched.
    let listed_ids: BTreeSet<&str> = listed.iter().map(id_of).collect();
    for (id, was) in before {
        if !listed_ids.contains(id.as_str()) {
            assert_eq!(&after[id], was, "{} is not in the list", upn(was));
        }
    }
    let stray: Vec<&Value> = mutations
        .iter()
        .filter(|m| !listed_ids.contains(m["userId"].as_str().unwrap()))
        .collect();
    assert!(
        stray.is_empty(),
        "changes to users not in the list: {stray:?}"
    );
    let writes: usize = expected.values().map(Expect::writes).sum();
    assert_eq!(mutations.len(), writes, "mutations");
    assert_eq!(after.len(), before.len());
    expected
}

/// Checks the order of each user's changes: the profile's sequence, a TAP before the
/// removals, the default method last of the removals, the alternate mobile phone before
/// the mobile one.
pub fn assert_order(mutations: &[Value], profile: Profile) {
    for (id, mine) in by_user(mutations) {
        let ops: Vec<&str> = mine.iter().map(op).collect();
        let rank = |o: &str| match (profile, o) {
            (Profile::Incident, "revokeSignInSessions") => 0,
            (Profile::Offboard, "updateUser") => 0,
            (Profile::Offboard, "revokeSignInSessions") => 1,
            // The pass before the removals: one that cannot be issued withholds them.
            (_, "createTemporaryAccessPass") => 2,
            // A new default before the removals it lets Graph accept.
            (_, "setDefaultMethod") => 3,
            (_, "deleteMethod") => 4,
            (Profile::DeviceRefresh, "revokeSignInSessions") => 5,
            _ => panic!("{id}: unexpected {o}"),
        };
        assert!(
            ops.windows(2).all(|w| rank(w[0]) <= rank(w[1])),
            "{id}: {ops:?} out of the {} order",
            profile.name()
        );
        let deletes: Vec<&Value> = mine.iter().filter(|m| op(m) == "deleteMethod").collect();
        if let Some(p) = deletes.iter().position(|m| m["wasDefault"] == true) {
            assert_eq!(p, deletes.len() - 1, "{id}: the default method goes last");
        }
        let phones: Vec<&str> = deleted(&mine)
            .into_iter()
            .filter(|m| [MOBILE, ALTERNATE_MOBILE].contains(m))
            .collect();
        assert_ne!(
            phones,
            [MOBILE, ALTERNATE_MOBILE],
            "{id}: the alternate mobile phone goes before the mobile one"
        );
    }
}

/// Checks one result row (in both results files) against what was expected of the user.
fn assert_row(i: usize, u: &Value, row: &Value, cells: &BTreeMap<String, String>, e: &Expect) {
    let who = format!("row {i} ({})", upn(u));
    assert_eq!(row["row"], i, "{who}");
    assert_eq!(row["input"], upn(u), "{who}");
    assert_eq!(row["status"], e.status, "{who}: {row}");
    assert_eq!(cells["status"], e.status, "{who}");
    assert_eq!(row["columns"]["ticket"], format!("T-{i}"), "{who}");
    assert_eq!(cells["ticket"], format!("T-{i}"), "{who}");
    if e.status == "protected" {
        return;
    }
    assert_eq!(row["userId"], id_of(u), "{who}");
    let removed = ids_of(&row["removed"]);
    assert_eq!(removed, e.deleted, "{who}: removed");
    assert!(ids_of(&row["alreadyRemoved"]).is_empty(), "{who}");
    let all = method_ids(u);
    let kept: BTreeSet<String> = all.difference(&e.deleted).cloned().collect();
    assert_eq!(ids_of(&row["kept"]), kept, "{who}: kept");
    assert_eq!(row["sessionsRevoked"], e.revoke, "{who}");
    assert_eq!(row["accountDisabled"], e.disable, "{who}");
    assert_eq!(row["tapIssued"], e.tap, "{who}");
    let yes = |b: bool| if b { "yes" } else { "no" };
    assert_eq!(cells["tapIssued"], yes(e.tap), "{who}");
    assert_eq!(cells["sessionsRevoked"], yes(e.revoke), "{who}");
    for id in &e.deleted {
        assert!(
            cells["removedIds"].contains(id.as_str()),
            "{who}: {cells:?}"
        );
    }
    if !e.deleted.is_empty() {
        // Verified after the removals: what remains is what was kept, with the new
        // pass in place of an old one.
        let remaining = ids_of(&row["remaining"]);
        let old_taps: BTreeSet<String> = methods(u)
            .iter()
            .filter(|m| e.tap && kind(m) == "temporaryAccessPass")
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        let still: BTreeSet<String> = kept.difference(&old_taps).cloned().collect();
        assert!(
            remaining.is_superset(&still),
            "{who}: remaining {remaining:?}"
        );
        assert_eq!(
            remaining.len(),
            still.len() + usize::from(e.tap),
            "{who}: remaining {remaining:?}"
        );
    }
}

/// Checks a run's folder after a finished run over `listed`: one result row per input
/// row, in order, with the expected status and columns, in both results files; the
/// artefacts; the TAP file. Returns the passes issued.
pub fn assert_results(
    out: &Folder,
    listed: &[Value],
    expected: &BTreeMap<String, Expect>,
) -> Vec<String> {
    for artefact in [
        "plan.json",
        "run.json",
        "journal.jsonl",
        "results.csv",
        "results.jsonl",
        "summary.md",
        "report.html",
    ] {
        assert!(out.join(artefact).is_file(), "{artefact} missing");
    }
    let rows = out.rows();
    let csv = out.csv();
    assert_eq!(
        rows.len(),
        listed.len(),
        "results.jsonl: one row per input row"
    );
    assert_eq!(
        csv.len(),
        listed.len(),
        "results.csv: one row per input row"
    );
    for (i, (u, (row, cells))) in listed.iter().zip(rows.iter().zip(&csv)).enumerate() {
        assert_row(i, u, row, cells, &expected[id_of(u)]);
    }
    let tapped: BTreeSet<&str> = listed
        .iter()
        .filter(|u| expected[id_of(u)].tap)
        .map(id_of)
        .collect();
    if tapped.is_empty() {
        assert!(!out.join("secrets/tap.csv").exists());
        return Vec::new();
    }
    let taps = out.taps();
    assert_eq!(taps.len(), tapped.len(), "tap.csv: one row per pass issued");
    assert_eq!(
        taps.iter()
            .map(|(u, _)| u.as_str())
            .collect::<BTreeSet<_>>(),
        tapped
    );
    taps.into_iter().map(|(_, p)| p).collect()
}
