//! Unit tests of the journal: records round-trip, what a resume reads back, a torn or
//! damaged last line dropped and truncated, damage elsewhere named by line, and a failed
//! write closing the journal.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::engine::outcome::RunStatus;

fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mfa-reset-journal-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run() -> Record {
    Record::Run {
        plan_fingerprint: "fp-1".into(),
        plan_sha256: "ab".repeat(32),
        started: "2026-11-28T10:41:12Z".into(),
        tool: "mfa-reset 0.1.0".into(),
    }
}

fn finished(row: usize) -> Record {
    Record::Finished {
        outcome: Box::new(UserOutcome {
            row,
            line: row + 2,
            input: format!("user{row}@contoso.com"),
            status: Some(RunStatus::Done),
            sessions_revoked: true,
            attempts: 2,
            request_ids: vec!["req-1".into()],
            ..UserOutcome::default()
        }),
    }
}

fn some_records() -> Vec<Record> {
    vec![
        Record::Begin { row: 0 },
        Record::Step {
            row: 0,
            step: 0,
            outcome: StepOutcome::Done,
            request_id: Some("req-1".into()),
            attempts: 1,
            error_code: None,
            error_message: None,
        },
        Record::Intent { row: 0, step: 1 },
        Record::Step {
            row: 0,
            step: 1,
            outcome: StepOutcome::Failed,
            request_id: None,
            attempts: 3,
            error_code: Some("accessDenied".into()),
            error_message: Some("Insufficient privileges".into()),
        },
        Record::Replanned {
            row: 1,
            steps: vec![Step::RevokeSessions, Step::DisableAccount],
        },
        finished(2),
        Record::Begin { row: 1 },
    ]
}

#[test]
fn round_trip() {
    let dir = scratch("round-trip");
    let mut journal = Journal::create(&dir, run()).unwrap();
    let records = some_records();
    journal.append(&records[0]).unwrap();
    journal.append_all(&records[1..]).unwrap();
    journal.append_all(&[]).unwrap();
    drop(journal);

    let text = std::fs::read_to_string(Journal::path_in(&dir)).unwrap();
    assert!(
        text.starts_with(r#"{"record":"run","planFingerprint":"fp-1""#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"record":"intent","row":0,"step":1}"#),
        "{text}"
    );
    assert!(text.contains(r#""outcome":"already-done""#) || text.contains(r#""outcome":"failed""#));
    assert!(!text.contains("requestId\":null"), "{text}");
    assert_eq!(text.lines().count(), 1 + records.len());
    for line in text.lines() {
        let back: Record = serde_json::from_str(line).unwrap();
        assert!(back == run() || records.contains(&back));
    }

    let (mut journal, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.run, Some(run()));
    assert_eq!(state.begun, BTreeSet::from([0, 1]));
    assert_eq!(state.intents, BTreeSet::from([(0, 1)]));
    assert_eq!(state.steps[&0].len(), 2);
    assert_eq!(state.steps[&0][1].outcome, StepOutcome::Failed);
    assert_eq!(
        state.steps[&0][1].error_code.as_deref(),
        Some("accessDenied")
    );
    assert_eq!(state.steps[&0][0].request_id.as_deref(), Some("req-1"));
    assert_eq!(state.replanned[&1].len(), 2);
    assert_eq!(state.finished.len(), 1);
    assert_eq!(
        state.finished.get(2).unwrap().unwrap().input,
        "user2@contoso.com"
    );
    assert_eq!(state.finished.get(0).unwrap(), None);
    assert_eq!(state.discarded_bytes, 0);

    // Appending after a resume goes on at the end.
    journal.append(&finished(1)).unwrap();
    drop(journal);
    let (mut journal, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(state.finished.get(1).unwrap().unwrap().row, 1);
    assert_eq!(state.finished.get(3).unwrap(), None);
    assert_eq!(state.begun, BTreeSet::from([0]));

    // What led to a finished user is not kept: only the outcome, in the journal.
    journal.append(&finished(0)).unwrap();
    drop(journal);
    let (_, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [0, 1, 2]);
    assert!(state.begun.is_empty());
    assert!(state.intents.is_empty());
    assert!(state.steps.is_empty());
    assert!(state.replanned.is_empty());
    assert_eq!(
        state.finished.get(0).unwrap().unwrap().input,
        "user0@contoso.com"
    );
}

fn step(row: usize, step: usize, outcome: StepOutcome) -> Record {
    Record::Step {
        row,
        step,
        outcome,
        request_id: Some(format!("req-{row}-{step}")),
        attempts: 1,
        error_code: None,
        error_message: None,
    }
}

fn finished_as(row: usize, status: RunStatus) -> Record {
    let Record::Finished { mut outcome } = finished(row) else {
        unreachable!()
    };
    outcome.status = Some(status);
    Record::Finished { outcome }
}

/// Row 0 ended partial: a step done, one already done, one failed and a pass creation
/// unanswered, replanned on the way. Row 1 ended failed before any write; row 2 done.
fn a_run_with_failures(dir: &Path) -> Journal {
    let mut journal = Journal::create(dir, run()).unwrap();
    journal
        .append_all(&[
            Record::Begin { row: 0 },
            Record::Replanned {
                row: 0,
                steps: vec![
                    Step::RevokeSessions,
                    Step::DisableAccount,
                    Step::RevokeSessions,
                    Step::IssueTemporaryAccessPass {
                        lifetime_minutes: 60,
                        usable_once: false,
                        start: None,
                    },
                ],
            },
            step(0, 0, StepOutcome::Done),
            step(0, 1, StepOutcome::AlreadyDone),
            step(0, 2, StepOutcome::Failed),
            Record::Intent { row: 0, step: 3 },
            step(0, 3, StepOutcome::Unknown),
            finished_as(0, RunStatus::Partial),
            finished_as(1, RunStatus::Failed),
            finished_as(2, RunStatus::Done),
        ])
        .unwrap();
    journal
}

#[test]
fn retry_failed_takes_up_failed_and_partial_users_again_their_done_steps_kept() {
    let dir = scratch("retry");
    drop(a_run_with_failures(&dir));
    let before = std::fs::read(Journal::path_in(&dir)).unwrap();
    let (mut journal, mut state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(state.failed_rows().collect::<Vec<_>>(), [0, 1]);
    assert!(state.steps.is_empty() && state.begun.is_empty() && state.intents.is_empty());

    let retried = journal.retry_failed(&mut state).unwrap();
    assert_eq!(retried, [0, 1]);
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [2]);
    assert_eq!(state.failed_rows().count(), 0);
    // Steps done stay done; those failed or unanswered run again.
    let kept: Vec<(usize, StepOutcome)> = state.steps[&0]
        .iter()
        .map(|s| (s.step, s.outcome))
        .collect();
    assert_eq!(
        kept,
        [(0, StepOutcome::Done), (1, StepOutcome::AlreadyDone)]
    );
    assert!(!state.steps.contains_key(&1));
    // A pass that may exist is never created again unseen: its intent stays.
    assert_eq!(state.intents, BTreeSet::from([(0, 3)]));
    assert_eq!(state.begun, BTreeSet::from([0]));
    assert_eq!(state.replanned[&0].len(), 4);
    assert!(!state.replanned.contains_key(&1));

    // The journal only grew: one Retry record a user, after everything that was there.
    drop(journal);
    let after = std::fs::read(Journal::path_in(&dir)).unwrap();
    assert!(after.starts_with(&before));
    let added = String::from_utf8(after[before.len()..].to_vec()).unwrap();
    assert_eq!(
        added,
        "{\"record\":\"retry\",\"row\":0}\n{\"record\":\"retry\",\"row\":1}\n"
    );

    // Read again, the journal says the same: a retry once journaled is carried through.
    let (mut journal, again) = Journal::resume(&dir).unwrap();
    assert_eq!(again.finished.rows().collect::<Vec<_>>(), [2]);
    assert_eq!(again.steps, state.steps);
    assert_eq!(again.intents, state.intents);
    assert_eq!(again.begun, state.begun);
    assert_eq!(again.replanned, state.replanned);
    assert_eq!(again.failed_rows().count(), 0);

    // Their new outcomes are their results; a user done is not taken up again.
    journal
        .append_all(&[
            step(0, 2, StepOutcome::Done),
            step(0, 3, StepOutcome::Done),
            finished_as(0, RunStatus::Done),
            finished_as(1, RunStatus::Failed),
        ])
        .unwrap();
    drop(journal);
    let (mut journal, mut state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        state.finished.get(0).unwrap().unwrap().status,
        Some(RunStatus::Done)
    );
    assert_eq!(state.failed_rows().collect::<Vec<_>>(), [1]);
    assert_eq!(journal.retry_failed(&mut state).unwrap(), [1]);
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [0, 2]);
}

#[test]
fn a_retry_record_for_a_user_not_failed_changes_nothing() {
    let dir = scratch("retry-noop");
    let mut journal = a_run_with_failures(&dir);
    journal
        .append_all(&[Record::Retry { row: 2 }, Record::Retry { row: 9 }])
        .unwrap();
    drop(journal);
    let (mut journal, mut state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.rows().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(state.failed_rows().collect::<Vec<_>>(), [0, 1]);
    // Nothing failed: nothing journaled.
    let mut none = JournalState::default();
    let len = std::fs::metadata(Journal::path_in(&dir)).unwrap().len();
    assert!(journal.retry_failed(&mut none).unwrap().is_empty());
    assert_eq!(
        std::fs::metadata(Journal::path_in(&dir)).unwrap().len(),
        len
    );
    assert_eq!(journal.retry_failed(&mut state).unwrap(), [0, 1]);
}

#[test]
fn step_outcome_names() {
    let names: Vec<String> = [
        StepOutcome::Done,
        StepOutcome::AlreadyDone,
        StepOutcome::Failed,
        StepOutcome::Unknown,
    ]
    .iter()
    .map(|o| serde_json::to_string(o).unwrap())
    .collect();
    assert_eq!(
        names,
        [
            r#""done""#,
            r#""already-done""#,
            r#""failed""#,
            r#""unknown""#
        ]
    );
}

#[test]
fn create_refuses_an_existing_journal() {
    let dir = scratch("exists");
    drop(Journal::create(&dir, run()).unwrap());
    let before = std::fs::read(Journal::path_in(&dir)).unwrap();
    let err = Journal::create(&dir, run()).unwrap_err();
    assert!(matches!(err, JournalError::Exists { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("journal.jsonl"), "{message}");
    assert!(message.contains("mfa-reset resume"), "{message}");
    assert_eq!(std::fs::read(Journal::path_in(&dir)).unwrap(), before);
}

#[test]
fn create_wants_a_run_record_first() {
    let dir = scratch("create-not-run");
    let err = Journal::create(&dir, Record::Begin { row: 0 }).unwrap_err();
    assert!(matches!(err, JournalError::NoRunRecord { .. }), "{err:?}");
    assert!(!Journal::path_in(&dir).exists());
}

#[test]
fn resume_without_a_journal_says_so() {
    let dir = scratch("missing");
    let err = Journal::resume(&dir).unwrap_err();
    assert!(matches!(err, JournalError::Missing { .. }), "{err:?}");
    assert!(err.to_string().contains("mfa-reset apply"));
}

#[test]
fn incomplete_last_line_is_dropped_and_the_next_append_is_valid() {
    let dir = scratch("torn");
    let path = Journal::path_in(&dir);
    let mut journal = Journal::create(&dir, run()).unwrap();
    journal.append_all(&some_records()).unwrap();
    drop(journal);
    let complete = std::fs::read(&path).unwrap();

    // A kill -9 in the middle of a write: half a line, no newline.
    let torn_line = serde_json::to_string(&finished(1)).unwrap();
    let mut torn = complete.clone();
    torn.extend_from_slice(&torn_line.as_bytes()[..torn_line.len() / 2]);
    std::fs::write(&path, &torn).unwrap();

    let (mut journal, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.discarded_bytes, (torn_line.len() / 2) as u64);
    assert_eq!(state.finished.len(), 1, "the torn record is not read");
    assert_eq!(std::fs::read(&path).unwrap(), complete, "truncated back");

    journal.append(&finished(1)).unwrap();
    drop(journal);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'));
    for (i, line) in text.lines().enumerate() {
        serde_json::from_str::<Record>(line)
            .unwrap_or_else(|e| panic!("line {}: {e}: {line}", i + 1));
    }
    let (_, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.finished.len(), 2);
    assert_eq!(state.discarded_bytes, 0);
}

#[test]
fn a_whole_record_without_its_newline_is_dropped_too() {
    // Its append never returned Ok: the newline is written in the same write.
    let dir = scratch("no-newline");
    let path = Journal::path_in(&dir);
    drop(Journal::create(&dir, run()).unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(serde_json::to_string(&finished(0)).unwrap().as_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let (_, state) = Journal::resume(&dir).unwrap();
    assert!(state.finished.is_empty());
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
}

#[test]
fn damaged_last_line_with_newline_is_dropped() {
    let dir = scratch("garbage-tail");
    let path = Journal::path_in(&dir);
    let mut journal = Journal::create(&dir, run()).unwrap();
    journal.append(&Record::Begin { row: 3 }).unwrap();
    drop(journal);
    let complete = std::fs::read(&path).unwrap();
    let mut bytes = complete.clone();
    bytes.extend_from_slice(b"\0\0\0{\"record\":\"st\n");
    std::fs::write(&path, &bytes).unwrap();
    let (_, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.begun, BTreeSet::from([3]));
    assert_eq!(std::fs::read(&path).unwrap(), complete);
}

#[test]
fn corrupt_middle_line_is_an_error_with_its_number() {
    let dir = scratch("corrupt");
    let path = Journal::path_in(&dir);
    let mut journal = Journal::create(&dir, run()).unwrap();
    journal.append_all(&some_records()).unwrap();
    drop(journal);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = r#"{"record":"step","row":0,"#;
    let damaged = lines.join("\n") + "\n";
    std::fs::write(&path, &damaged).unwrap();

    let err = Journal::resume(&dir).unwrap_err();
    match &err {
        JournalError::Corrupt { line, path: p, .. } => {
            assert_eq!(*line, 3);
            assert_eq!(p, &path);
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("journal.jsonl, line 3"), "{message}");
    // Nothing was truncated.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged);

    // An unknown record kind in the middle is damage too.
    lines[2] = r#"{"record":"teleport","row":0}"#;
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let err = Journal::resume(&dir).unwrap_err();
    assert!(
        matches!(err, JournalError::Corrupt { line: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn first_record_must_be_the_run() {
    let dir = scratch("no-run");
    let path = Journal::path_in(&dir);
    std::fs::write(&path, "{\"record\":\"begin\",\"row\":0}\n").unwrap();
    let err = Journal::resume(&dir).unwrap_err();
    assert!(matches!(err, JournalError::NoRunRecord { .. }), "{err:?}");

    let line = serde_json::to_string(&run()).unwrap();
    std::fs::write(&path, format!("{line}\n{line}\n{line}\n")).unwrap();
    let err = Journal::resume(&dir).unwrap_err();
    assert!(
        matches!(err, JournalError::Corrupt { line: 2, .. }),
        "{err:?}"
    );

    for empty in ["", "{\"record\":\"ru"] {
        std::fs::write(&path, empty).unwrap();
        let err = Journal::resume(&dir).unwrap_err();
        assert!(
            matches!(err, JournalError::Empty { .. }),
            "{empty:?}: {err:?}"
        );
    }
    std::fs::write(&path, [0xff, 0xfe, b'\n', b'x', b'\n']).unwrap();
    let err = Journal::resume(&dir).unwrap_err();
    assert!(
        matches!(err, JournalError::Corrupt { line: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn closed_journal_takes_no_more_records() {
    let dir = scratch("closed");
    let mut journal = Journal::create(&dir, run()).unwrap();
    journal.closed = true;
    let err = journal.append(&Record::Begin { row: 0 }).unwrap_err();
    assert!(matches!(err, JournalError::Closed { .. }), "{err:?}");
    assert!(err.to_string().contains("mfa-reset resume"));
}

#[cfg(target_os = "linux")]
#[test]
fn write_failure_closes_the_journal() {
    // /dev/full takes the open and fails every write with ENOSPC.
    let Ok(file) = OpenOptions::new().append(true).open("/dev/full") else {
        return;
    };
    let mut journal = Journal {
        path: PathBuf::from("/dev/full"),
        file,
        len: 0,
        closed: false,
    };
    let err = journal.append(&Record::Begin { row: 0 }).unwrap_err();
    assert!(matches!(err, JournalError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/dev/full"), "{err}");
    let err = journal.append(&Record::Begin { row: 0 }).unwrap_err();
    assert!(matches!(err, JournalError::Closed { .. }), "{err:?}");
}

#[test]
fn every_append_reaches_the_file_before_returning() {
    // The fsync path: what append returned Ok for is in the file, read through
    // another handle, with no drop or flush in between.
    let dir = scratch("fsync");
    let path = Journal::path_in(&dir);
    let mut journal = Journal::create(&dir, run()).unwrap();
    for row in 0..50 {
        journal.append(&Record::Begin { row }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), row + 2);
        assert!(text.ends_with('\n'));
    }
    assert_eq!(journal.len, std::fs::metadata(&path).unwrap().len());
    let (_, state) = Journal::resume(&dir).unwrap();
    assert_eq!(state.begun.len(), 50);
}

#[test]
fn a_replan_renumbers_the_steps_that_succeeded_and_forgets_the_old_places() {
    let dir = scratch("replanned");
    let mut journal = Journal::create(&dir, run()).unwrap();
    let step = |step: usize, outcome: StepOutcome| Record::Step {
        row: 3,
        step,
        outcome,
        request_id: None,
        attempts: 1,
        error_code: None,
        error_message: None,
    };
    let new_steps = vec![
        Step::RevokeSessions,
        Step::DisableAccount,
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: false,
            start: None,
        },
    ];
    journal
        .append_all(&[
            Record::Begin { row: 3 },
            step(2, StepOutcome::Done),
            step(0, StepOutcome::Failed),
            step(4, StepOutcome::AlreadyDone),
            Record::Intent { row: 3, step: 5 },
            Record::Replanned {
                row: 3,
                steps: new_steps.clone(),
            },
            Record::Intent { row: 3, step: 2 },
            step(1, StepOutcome::Done),
        ])
        .unwrap();
    drop(journal);
    let (_, state) = Journal::resume(&dir).unwrap();
    let records: Vec<(usize, StepOutcome)> = state.steps[&3]
        .iter()
        .map(|r| (r.step, r.outcome))
        .collect();
    // Old steps 2 and 4 (the ones that succeeded) are now 0 and 1; the failed one is gone;
    // the record after the replan keeps its place in the new list.
    assert_eq!(
        records,
        [
            (0, StepOutcome::Done),
            (1, StepOutcome::AlreadyDone),
            (1, StepOutcome::Done)
        ]
    );
    assert_eq!(state.intents.iter().copied().collect::<Vec<_>>(), [(3, 2)]);
    assert_eq!(state.replanned[&3], new_steps);
}
