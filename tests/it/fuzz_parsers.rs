//! Fuzzing that runs in CI: proptest properties feeding arbitrary bytes and
//! structure-aware mutations of valid documents (random bytes spliced in, truncation,
//! deep nesting, huge numbers, invalid UTF-8, NULs, byte-order marks) to every parser
//! that takes outside data — user lists in every format, `plan.json`, `journal.jsonl`,
//! Graph's `$batch` answers and error bodies, `Retry-After`, token endpoint answers, ready
//! tokens (JWT), the Azure CLI's output and certificate PEM files — and the regression
//! corpus `tests/corpus/fuzz/<target>/`, every file of which is run through its target.
//!
//! The checks live in `fuzz/src/lib.rs`, shared with the `cargo fuzz` targets (see
//! `fuzz/README.md`): no panic, no hang, contracts kept, and every error non-empty and
//! naming the file and line where the API gives them. Inputs are bounded (a few KiB;
//! the "large" properties up to ~700 KiB, to cross the reader's 64 KiB sample and 256 KiB
//! blocks), so each case is quick. A case still running after `FUZZ_HANG_SECS` (default
//! 120) seconds is a hang: its input is written to the target's temporary folder and the
//! process aborts, rather than the run waiting forever.
//!
//! Cases: 256 per property by default, fewer for properties that go through a server on
//! 127.0.0.1 or spawn a process; `PROPTEST_CASES=N` scales them all (for example
//! `PROPTEST_CASES=5000 cargo test --release --test it fuzz_parsers`). The seed is fixed unless
//! `FUZZ_SEED` says otherwise (`FUZZ_SEED=random` explores).

#[path = "../../fuzz/src/lib.rs"]
mod harness;

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_reset::engine::journal::{Record, StepOutcome};
use mfa_reset::engine::outcome::{MethodRef, RunStatus, UserOutcome};
use mfa_reset::plan::fingerprint::plan_fingerprint;
use mfa_reset::plan::{InputInfo, PLAN_FORMAT, PLAN_VERSION, PlanEntry, PlanFile, Status};
use mfa_reset::policy::{DefaultMethod, MethodSnapshot, PolicyArgs, Profile, Step, UserSnapshot};
use mfa_reset::wire::{MethodType, PhoneType};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// Running properties
// ---------------------------------------------------------------------------------------

/// The configuration of a property: `PROPTEST_CASES` (default 256) divided by `divisor`,
/// nothing persisted (inputs worth keeping go to `tests/corpus/fuzz/`).
fn config(divisor: u32) -> Config {
    let base = Config::default();
    Config {
        cases: (base.cases / divisor).max(4),
        failure_persistence: None,
        ..base
    }
}

/// A runner on a fixed seed, so that CI runs the same cases every time and a failure there
/// can be reproduced; `FUZZ_SEED=N` picks another seed and `FUZZ_SEED=random` a random one
/// (for exploring, with a large `PROPTEST_CASES`).
fn runner(config: Config) -> TestRunner {
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let seed = match std::env::var("FUZZ_SEED").ok().as_deref() {
        Some("random") => return TestRunner::new(config),
        Some(n) => n
            .trim()
            .parse::<u64>()
            .expect("FUZZ_SEED is a number or `random`"),
        None => 0x6d66_615f_7265_7365,
    };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// Runs `check` on values of `strategy` (each check watches itself for hangs).
fn fuzz<S>(name: &'static str, divisor: u32, strategy: S, check: impl Fn(&S::Value))
where
    S: Strategy,
    S::Value: Debug,
{
    let mut runner = runner(config(divisor));
    let result = runner.run(&strategy, |value| {
        check(&value);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// Runs `check`, the harness's check behind the fuzz target `target`, on the byte strings
/// of `strategy`, each watched for hangs.
fn fuzz_target(
    name: &'static str,
    divisor: u32,
    target: &'static str,
    strategy: impl Strategy<Value = Bytes>,
    check: fn(&[u8]),
) {
    fuzz(name, divisor, strategy, |bytes| {
        let _w = watch(target, bytes);
        check(bytes);
    });
}

/// Turns a hang into a failure: a case running longer than `FUZZ_HANG_SECS` (default
/// 120) seconds has its input written out, and the process aborts.
mod watchdog {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::thread::ThreadId;
    use std::time::{Duration, Instant};

    struct Running {
        since: Instant,
        what: &'static str,
        input: Vec<u8>,
    }

    fn running() -> &'static Mutex<HashMap<ThreadId, Running>> {
        static RUNNING: OnceLock<Mutex<HashMap<ThreadId, Running>>> = OnceLock::new();
        RUNNING.get_or_init(|| {
            let limit = std::env::var("FUZZ_HANG_SECS")
                .ok()
                .and_then(|s| s.parse().ok())
                .map_or(Duration::from_secs(120), Duration::from_secs);
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                    let table = running().lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(r) = table.values().find(|r| r.since.elapsed() > limit) {
                        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
                            "fuzz-hang-{}-{}.bin",
                            r.what,
                            std::process::id()
                        ));
                        let _ = std::fs::write(&path, &r.input);
                        eprintln!(
                            "{}: a case ran for more than {limit:?}: a hang; its input is in {}",
                            r.what,
                            path.display()
                        );
                        std::process::abort();
                    }
                }
            });
            Mutex::new(HashMap::new())
        })
    }

    /// Watches the current thread until dropped.
    pub struct Watch;

    pub fn watch(what: &'static str, input: &[u8]) -> Watch {
        let entry = Running {
            since: Instant::now(),
            what,
            input: input.to_vec(),
        };
        let mut table = running().lock().unwrap_or_else(|p| p.into_inner());
        table.insert(std::thread::current().id(), entry);
        Watch
    }

    impl Drop for Watch {
        fn drop(&mut self) {
            let mut table = running().lock().unwrap_or_else(|p| p.into_inner());
            table.remove(&std::thread::current().id());
        }
    }
}

use watchdog::watch;

// ---------------------------------------------------------------------------------------
// Bytes and mutations
// ---------------------------------------------------------------------------------------

/// Bytes that mean something to one parser or another.
const MEANINGFUL: &[u8] = b",;\t\"\n\r {}[]:@.-_'#$0123456789abcdefABCDEF\\/?%eE+";

/// Pieces of text that have broken parsers before (somewhere).
const NASTY: &[&[u8]] = &[
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\xFF\xFE\0\0",
    b"\xFF",
    b"\xC3",
    b"\xC3\xA9",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xE2\x80\x8B",
    b"\xC2\xA0",
    b"\xE2\x80\xAE",
    b"\r",
    b"\n",
    b"\r\n",
    b"\n\n\n",
    b"\"",
    b"\"\"",
    b"\",\"",
    b",",
    b";",
    b"\t",
    b"sep=;\n",
    b"sep=\t\n",
    b"version:v1.0\n",
    b"Example: a@b\n",
    b"1e999999",
    b"-1e999999",
    b"-0",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"0.00000000000000000000000000001",
    b"\\ud800",
    b"\\udc00\\ud800",
    b"\\u0000",
    b"\\",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b"[{}]",
    b"{\"value\":[",
    b"\"@odata.nextLink\":\"x\",",
    b"{\"id\":",
    b"\"userPrincipalName\":",
    b"\"id\":\"3179e48a-750b-4051-897c-87b9720928f7\"",
    b"3179e48a-750b-4051-897c-87b9720928f7",
    b"a@b",
    b"@",
    b"..",
    b"%2e%2e%2f",
    b"\xF0\x9F\x98\x80",
    b"PK\x03\x04",
    b"\xD0\xCF\x11\xE0",
];

/// Prefixes repeated into deep nesting.
const NESTERS: &[&[u8]] = &[
    b"[",
    b"{\"value\":",
    b"{\"a\":[",
    b"{\"value\":[",
    b"\"",
    b"\\",
];

fn meaningful_byte() -> impl Strategy<Value = u8> {
    prop_oneof![3 => select(MEANINGFUL), 1 => any::<u8>()]
}

/// A piece of bytes to splice in.
fn fragment() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        4 => vec(meaningful_byte(), 1..8),
        4 => select(NASTY).prop_map(<[u8]>::to_vec),
        1 => (1usize..300, select(NESTERS)).prop_map(|(n, s)| s.repeat(n)),
        1 => (1usize..400).prop_map(|n| "9".repeat(n).into_bytes()),
        1 => vec(any::<u8>(), 1..64),
    ]
    .boxed()
}

/// One edit of a document's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(Index, Vec<u8>),
    Overwrite(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    Repeat(Index, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<Index>(), fragment()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), fragment()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        2 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), 1usize..64, 1usize..8).prop_map(|(i, n, k)| Mutation::Repeat(i, n, k)),
    ]
}

fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    vec(mutation(), 0..max)
}

fn mutate(doc: &mut Vec<u8>, edits: &[Mutation]) {
    for edit in edits {
        let at = |i: &Index, doc: &Vec<u8>| i.index(doc.len() + 1);
        match edit {
            Mutation::Insert(i, bytes) => {
                let i = at(i, doc);
                doc.splice(i..i, bytes.iter().copied());
            }
            Mutation::Overwrite(i, bytes) => {
                let i = at(i, doc);
                let end = (i + bytes.len()).min(doc.len());
                doc.splice(i..end, bytes.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let i = at(i, doc);
                let end = (i + n).min(doc.len());
                doc.drain(i..end);
            }
            Mutation::Truncate(i) => {
                let i = at(i, doc);
                doc.truncate(i);
            }
            Mutation::Repeat(i, n, times) => {
                let i = at(i, doc);
                let end = (i + n).min(doc.len());
                let piece = doc[i..end].to_vec();
                for _ in 0..*times {
                    doc.splice(end..end, piece.iter().copied());
                }
            }
        }
    }
}

/// Bytes that show as an escaped string when a property fails.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl std::ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

/// Arbitrary bytes, leaning to the ones parsers care about.
fn raw_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop_oneof![
        2 => vec(meaningful_byte(), 0..max),
        1 => vec(any::<u8>(), 0..max),
        1 => vec(fragment(), 0..12).prop_map(|parts| parts.concat()),
    ]
    .prop_map(Bytes)
}

// ---------------------------------------------------------------------------------------
// JSON-level edits
// ---------------------------------------------------------------------------------------

/// One edit of a JSON document's tree.
#[derive(Debug, Clone)]
enum JsonEdit {
    Replace(Index, Value),
    Remove(Index),
    AddKey(Index, String, Value),
}

/// Leaves that have broken parsers before: odd strings, huge and negative numbers, odd
/// dates, wrong types.
fn nasty_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => "\\PC{0,24}".prop_map(Value::String),
        1 => select(&[
            "", " ", "é", "ééééééééééééééééééééé", "😀😀😀😀😀😀😀😀😀", "0123456789abcdeéé", "x😀😀😀😀😀😀", "\u{0}", "a\nb", "\u{202E}x",
            "9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+23:59", "0000-01-01T00:00:00+01:00",
            "2026-11-28T10:41:12Z", "2026-02-30T00:00:00Z", "9999-12-31T23:59:59Z",
            "phone", "password", "fido2", "nope", "planned", "blocked", "mobile", "push",
            "revokeSessions", "deleteMethod", "run", "begin", "finished",
            "3179e48a-750b-4051-897c-87b9720928f7", "a@b", "Bearer", "bearer",
        ][..]).prop_map(|s| Value::String(s.to_string())),
        2 => select(vec![
            json!(0), json!(-1), json!(1), json!(u64::MAX), json!(i64::MIN), json!(u32::MAX),
            json!(4_294_967_296u64), json!(1e308), json!(-1e308), json!(0.5), json!(1e-300),
            json!(null), json!(true), json!(false), json!([]), json!({}), json!([null]),
            json!({"action": "revokeSessions"}),
            json!({"action": "deleteMethod", "kind": "password", "id": "x", "label": "y"}),
            json!({"action": "issueTemporaryAccessPass", "lifetimeMinutes": 0, "usableOnce": true}),
            json!({"error": {"code": 7, "message": null}}),
        ]),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
    .boxed()
}

fn json_edits(max: usize) -> impl Strategy<Value = Vec<JsonEdit>> {
    vec(
        prop_oneof![
            4 => (any::<Index>(), nasty_leaf()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
            2 => any::<Index>().prop_map(JsonEdit::Remove),
            1 => (any::<Index>(), "[a-zA-Z@.]{0,12}", nasty_leaf())
                .prop_map(|(i, k, v)| JsonEdit::AddKey(i, k, v)),
        ],
        0..max,
    )
}

/// JSON pointers of every node of `value`.
fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{here}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{here}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(here);
}

fn edit_json(value: &mut Value, edits: &[JsonEdit]) {
    for edit in edits {
        let mut all = Vec::new();
        pointers(value, String::new(), &mut all);
        let pick = |i: &Index| all[i.index(all.len())].clone();
        match edit {
            JsonEdit::Replace(i, with) => {
                if let Some(node) = value.pointer_mut(&pick(i)) {
                    *node = with.clone();
                }
            }
            JsonEdit::Remove(i) => {
                let ptr = pick(i);
                let Some((parent, last)) = ptr.rsplit_once('/') else {
                    continue;
                };
                let last = last.replace("~1", "/").replace("~0", "~");
                match value.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(n) = last.parse::<usize>()
                            && n < items.len()
                        {
                            items.remove(n);
                        }
                    }
                    _ => {}
                }
            }
            JsonEdit::AddKey(i, key, with) => {
                if let Some(Value::Object(map)) = value.pointer_mut(&pick(i)) {
                    map.insert(key.clone(), with.clone());
                }
            }
        }
    }
}

/// A JSON document as text, pretty or compact.
fn json_text(value: &Value, pretty: bool) -> Vec<u8> {
    if pretty {
        serde_json::to_vec_pretty(value).expect("JSON")
    } else {
        serde_json::to_vec(value).expect("JSON")
    }
}

/// `value` with `edits`, as text (pretty or not), then with `bytes` mutated.
fn edited_text(mut value: Value, edits: &[JsonEdit], pretty: bool, bytes: &[Mutation]) -> Vec<u8> {
    edit_json(&mut value, edits);
    let mut text = json_text(&value, pretty);
    mutate(&mut text, bytes);
    text
}

// ---------------------------------------------------------------------------------------
// User lists
// ---------------------------------------------------------------------------------------

const GUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

const HOSTILE_KEYS: &[&str] = &[
    "a/../b@x",
    "a?b@x",
    "%2e%2e@x",
    "a b@x",
    "@x",
    "x@",
    "a@@b",
    "Isaiah Wilke",
    "a\u{0}b@x",
    "\u{202E}a@x",
    "zoë@x.example",
    "😀@x.example",
    "$svc@x",
    "(a)@x",
    "'a'@x",
    "\"a@x\"",
    "\u{FEFF}a@x",
    "a@x\u{200B}",
];

const HEADERS: &[&str] = &[
    "id",
    "objectId",
    "Object ID",
    "userPrincipalName",
    "UPN",
    "User principal name",
    "mail",
    "email",
    "Email address",
    "User name [userPrincipalName] Required",
    "ticket",
    "reason",
    "",
    "name,x",
    "[",
    "[]",
    "@odata.type",
    "value",
];

fn key_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => GUID,
        4 => "[a-z0-9.'#_$-]{1,12}@[a-z0-9.-]{1,12}",
        1 => "\\PC{0,16}",
        1 => select(HOSTILE_KEYS).prop_map(String::from),
        1 => Just(String::new()),
    ]
    .boxed()
}

fn header() -> impl Strategy<Value = String> {
    prop_oneof![4 => select(HEADERS).prop_map(String::from), 1 => "\\PC{0,10}"]
}

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![4 => key_text(), 2 => "[ a-zA-Z0-9,;\t\"\r\n]{0,12}", 1 => Just(String::new())]
}

fn eol() -> impl Strategy<Value = &'static str> {
    select(&["\n", "\r\n", "\r"][..])
}

/// A CSV cell as a spreadsheet writes it: quoted when it must be (or `quote`).
fn csv_field(text: &str, delimiter: char, quote: bool) -> String {
    if quote || text.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A CSV file: optional `sep=` line, optional bulk-template lines, a header, rows.
fn csv_doc() -> impl Strategy<Value = String> {
    (
        select(&[',', ';', '\t'][..]),
        vec(header(), 1..5),
        vec(vec(cell(), 0..6), 0..12),
        eol(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(d, headers, rows, eol, sep, bulk, quote)| {
            let mut out = String::new();
            if sep {
                out.push_str(&format!("sep={d}{eol}"));
            }
            if bulk {
                out.push_str(&format!("version:v1.0{eol}"));
            }
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .map(|c| csv_field(c, d, quote))
                    .collect::<Vec<_>>()
                    .join(&d.to_string())
            };
            out.push_str(&line(&headers));
            out.push_str(eol);
            if bulk {
                out.push_str(&format!("Example: a@b{eol}"));
            }
            for row in rows {
                out.push_str(&line(&row));
                out.push_str(eol);
            }
            out
        })
}

/// A plain list: one key a line, with blank lines and spaces.
fn plain_doc() -> impl Strategy<Value = String> {
    (vec((key_text(), "[ \t]{0,2}"), 0..20), eol()).prop_map(|(keys, eol)| {
        keys.iter()
            .map(|(k, pad)| format!("{pad}{k}{pad}"))
            .collect::<Vec<_>>()
            .join(eol)
    })
}

fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => key_text().prop_map(Value::String),
        1 => nasty_leaf(),
        1 => vec(key_text(), 0..3).prop_map(|v| json!(v)),
        1 => Just(json!({"nested": {"x": [1, 2, {"value": []}]}})),
    ]
    .boxed()
}

fn json_user() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => key_text().prop_map(Value::String),
        4 => vec((header(), json_leaf()), 0..5)
            .prop_map(|props| Value::Object(props.into_iter().collect())),
        1 => json_leaf(),
    ]
    .boxed()
}

/// A JSON user list: an array, a Graph page, a single object, JSON Lines, nested pages.
fn json_doc() -> impl Strategy<Value = String> {
    (
        vec(json_user(), 0..12),
        0u8..5,
        any::<bool>(),
        any::<bool>(),
        json_edits(3),
    )
        .prop_map(|(users, shape, pretty, next_link, edits)| {
            let text = |mut v: Value| {
                edit_json(&mut v, &edits);
                String::from_utf8(json_text(&v, pretty)).expect("JSON is UTF-8")
            };
            match shape {
                0 => text(Value::Array(users)),
                1 => {
                    let mut page = json!({
                        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                        "value": users,
                    });
                    if next_link {
                        page["@odata.nextLink"] =
                            json!("https://graph.microsoft.com/v1.0/users?$skiptoken=x");
                    }
                    text(page)
                }
                2 => text(users.into_iter().next().unwrap_or_else(|| json!({}))),
                3 => users
                    .into_iter()
                    .map(|u| String::from_utf8(json_text(&u, false)).expect("JSON is UTF-8"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => text(json!({"value": [{"value": users}, {"value": []}]})),
            }
        })
}

/// How a document's text is encoded.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Utf16LeNoBom,
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        6 => Just(Encoding::Utf8),
        2 => Just(Encoding::Utf8Bom),
        2 => Just(Encoding::Utf16Le),
        1 => Just(Encoding::Utf16Be),
        1 => Just(Encoding::Utf16LeNoBom),
    ]
}

fn encode(text: &str, encoding: Encoding) -> Vec<u8> {
    let utf16 = |big: bool| {
        text.encode_utf16()
            .flat_map(|u| {
                if big {
                    u.to_be_bytes()
                } else {
                    u.to_le_bytes()
                }
            })
            .collect::<Vec<u8>>()
    };
    match encoding {
        Encoding::Utf8 => text.as_bytes().to_vec(),
        Encoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
        Encoding::Utf16Le => [b"\xFF\xFE".to_vec(), utf16(false)].concat(),
        Encoding::Utf16Be => [b"\xFE\xFF".to_vec(), utf16(true)].concat(),
        Encoding::Utf16LeNoBom => utf16(false),
    }
}

/// A file of `samples/`, built in.
macro_rules! sample {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/samples/", $name))
    };
}

/// Samples shipped with the crate, as seeds.
const SAMPLES: &[&[u8]] = &[
    sample!("broken.csv"),
    sample!("bulk-template.csv"),
    sample!("entra-download-users.csv"),
    sample!("graph-page.json"),
    sample!("users-comma.csv"),
    sample!("users-objects.json"),
    sample!("users-semicolon.csv"),
    sample!("users-strings.json"),
    sample!("users-unicode-text.txt"),
    sample!("users.jsonl"),
    sample!("users.txt"),
];

/// A user list: generated or a sample, encoded, mutated.
fn user_list() -> impl Strategy<Value = Bytes> {
    let generated = (prop_oneof![csv_doc(), plain_doc(), json_doc()], encoding())
        .prop_map(|(text, enc)| encode(&text, enc));
    let sample = select(SAMPLES).prop_map(<[u8]>::to_vec);
    (prop_oneof![3 => generated, 1 => sample], mutations(5))
        .prop_map(|(mut doc, edits)| {
            mutate(&mut doc, &edits);
            doc
        })
        .prop_map(Bytes)
}

fn column() -> impl Strategy<Value = Option<String>> {
    prop_oneof![8 => Just(None), 1 => header().prop_map(Some), 1 => "\\PC{0,8}".prop_map(Some)]
}

fn stop_after() -> impl Strategy<Value = Option<usize>> {
    prop_oneof![6 => Just(None), 1 => (0usize..5).prop_map(Some)]
}

#[test]
fn user_lists_from_arbitrary_bytes() {
    fuzz(
        "input",
        1,
        (raw_bytes(2048), column()),
        |(bytes, column)| {
            let _w = watch("input_csv", bytes);
            harness::check_input(bytes, column.as_deref(), None);
        },
    );
}

#[test]
fn user_lists_mutated_from_valid_ones() {
    fuzz(
        "input (structured)",
        1,
        (user_list(), column(), stop_after()),
        |(bytes, column, stop)| {
            let _w = watch("input_csv", bytes);
            harness::check_input(bytes, column.as_deref(), *stop);
        },
    );
}

#[test]
fn user_lists_deeply_nested() {
    let doc = (
        1usize..3000,
        select(NESTERS),
        prop_oneof![Just(b"".to_vec()), fragment()],
        any::<bool>(),
    )
        .prop_map(|(depth, open, tail, close)| {
            let mut doc = open.repeat(depth);
            doc.extend_from_slice(&tail);
            if close {
                let closer: &[u8] = match open {
                    b"[" => b"]",
                    b"{\"value\":" => b"}",
                    b"{\"a\":[" | b"{\"value\":[" => b"]}",
                    _ => b"",
                };
                doc.extend_from_slice(&closer.repeat(depth));
            }
            Bytes(doc)
        });
    fuzz("input (nested)", 2, doc, |bytes| {
        let _w = watch("input_json", bytes);
        harness::check_input(bytes, None, None);
    });
}

/// Offsets where the reader changes gear: the end of its 64 KiB sample, and its 256 KiB
/// blocks.
const GEARS: &[usize] = &[65_536, 131_072, 262_144, 524_288];

/// A large list (past the sample and a block or two), edited near the gears.
fn large_list() -> impl Strategy<Value = Bytes> {
    let rows = vec(
        prop_oneof![
            key_text(),
            (key_text(), cell()).prop_map(|(k, c)| format!("{k},{}", csv_field(&c, ',', false))),
            key_text().prop_map(|k| json!({"id": k, "n": 1}).to_string()),
        ],
        1..8,
    );
    let near_gear = (select(GEARS), -64i64..64, fragment());
    (
        select(&["id,userPrincipalName,ticket\n", "upn\r\n", "", "[\n"][..]),
        rows,
        70_000usize..700_000,
        eol(),
        vec(near_gear, 0..3),
        mutations(2),
    )
        .prop_map(|(head, rows, size, eol, gears, edits)| {
            let mut doc = head.as_bytes().to_vec();
            let mut i = 0;
            while doc.len() < size {
                doc.extend_from_slice(rows[i % rows.len()].as_bytes());
                doc.extend_from_slice(if head == "[\n" {
                    b",\n"
                } else {
                    eol.as_bytes()
                });
                i += 1;
            }
            for (gear, offset, bytes) in gears {
                let at = usize::try_from(gear as i64 + offset)
                    .unwrap_or(0)
                    .min(doc.len());
                doc.splice(at..at, bytes);
            }
            mutate(&mut doc, &edits);
            doc
        })
        .prop_map(Bytes)
}

#[test]
fn user_lists_large_across_blocks() {
    fuzz(
        "input (large)",
        32,
        (large_list(), stop_after()),
        |(bytes, stop)| {
            let _w = watch("input_csv", bytes);
            harness::check_input(bytes, None, *stop);
        },
    );
}

#[test]
fn user_list_files_name_the_file() {
    fuzz_target(
        "input (file)",
        8,
        "input_csv",
        user_list(),
        harness::check_input_file,
    );
}

// ---------------------------------------------------------------------------------------
// Plan files
// ---------------------------------------------------------------------------------------

fn method(kind: MethodType, id: &str, name: Option<&str>) -> MethodSnapshot {
    MethodSnapshot {
        id: id.into(),
        kind,
        display_name: name.map(str::to_string),
        created: Some("2024-05-01T12:34:56Z".into()),
        phone_type: (kind == MethodType::Phone).then_some(PhoneType::Mobile),
        odata_type: None,
    }
}

/// A plan as `mfa-reset plan` writes it, with one entry of every status.
fn valid_plan(profile: Profile) -> PlanFile {
    let policy = PolicyArgs {
        profile: Some(profile),
        ..PolicyArgs::default()
    }
    .into_policy()
    .expect("a profile's policy");
    let sha256 = "ab".repeat(32);
    let before = UserSnapshot {
        id: "3342c5af-74d0-4868-bd6e-d5dc7e482577".into(),
        user_principal_name: "isaiah.wilke0@contoso.example".into(),
        account_enabled: true,
        synced: false,
        admin_roles: vec!["Helpdesk Administrator".into()],
        management_restricted: false,
        restricted_units: vec![],
        default_method: Some(DefaultMethod::Push),
        methods: vec![
            method(
                MethodType::Phone,
                PhoneType::Mobile.method_id(),
                Some("+1 4255550113"),
            ),
            method(MethodType::MicrosoftAuthenticator, "a1", Some("Pixel 8")),
            method(MethodType::Fido2, "f1", Some("YubiKey 5")),
            method(
                MethodType::Password,
                "28c10230-6103-485e-b985-444c60001490",
                None,
            ),
        ],
        hardware_oath_unread: false,
        methods_unread: false,
        roles_unread: false,
    };
    let steps = vec![
        Step::RevokeSessions,
        Step::DeleteMethod {
            kind: MethodType::Phone,
            id: PhoneType::Mobile.method_id().into(),
            label: "mobile phone …13".into(),
        },
        Step::IssueTemporaryAccessPass {
            lifetime_minutes: 60,
            usable_once: true,
            start: None,
        },
        Step::DisableAccount,
    ];
    let entries: Vec<PlanEntry> = Status::ALL
        .iter()
        .enumerate()
        .map(|(row, &status)| PlanEntry {
            row,
            line: row + 2,
            input: format!("user{row}@contoso.example"),
            status,
            reason: (row % 2 == 1).then(|| format!("reason {row}")),
            before: matches!(status, Status::Planned | Status::Blocked | Status::NoChange)
                .then(|| before.clone()),
            steps: if matches!(status, Status::Planned | Status::Blocked) {
                steps.clone()
            } else {
                Vec::new()
            },
            notes: vec!["a note | with * markup <b>".into()],
            columns: [("ticket".to_string(), format!("INC-{row}"))].into(),
        })
        .collect();
    let writes = entries.iter().map(PlanEntry::writes).sum();
    PlanFile {
        format: PLAN_FORMAT.into(),
        version: PLAN_VERSION,
        created: "2026-11-28T10:41:12Z".into(),
        tool: "mfa-reset 0.1.0".into(),
        graph: "https://graph.microsoft.com".into(),
        input: InputInfo {
            file: "users.csv".into(),
            sha256: sha256.clone(),
            rows: entries.len(),
        },
        fingerprint: plan_fingerprint(&sha256, &policy, &entries, None),
        policy,
        writes,
        minimum_seconds: 1.5,
        notes: Vec::new(),
        admins_unverified: None,
        tenant: None,
        entries,
    }
}

/// Fields of a plan that its readers look at closely.
const PLAN_FIELDS: &[&str] = &[
    "/format",
    "/version",
    "/created",
    "/graph",
    "/input/file",
    "/input/sha256",
    "/input/rows",
    "/policy/registeredAfter",
    "/policy/registeredBefore",
    "/policy/deviceName",
    "/policy/removeMethods",
    "/policy/temporaryAccessPass",
    "/policy/sequence",
    "/fingerprint",
    "/writes",
    "/minimumSeconds",
    "/entries/0/row",
    "/entries/0/status",
    "/entries/0/before/methods/0/displayName",
    "/entries/0/before/methods/0/kind",
    "/entries/0/before/methods/0/phoneType",
    "/entries/0/before/defaultMethod",
    "/entries/0/steps/1/kind",
    "/entries/0/steps/2/lifetimeMinutes",
    "/entries/0/columns",
];

fn plan_text() -> impl Strategy<Value = Bytes> {
    let profile = select(&[Profile::DeviceRefresh, Profile::Incident, Profile::Offboard][..]);
    let leaf = prop_oneof![
        3 => nasty_leaf(),
        1 => "\\PC{15,30}".prop_map(Value::String),
    ];
    let fields = vec((select(PLAN_FIELDS), leaf), 0..3);
    (profile, fields, json_edits(4), any::<bool>(), mutations(3))
        .prop_map(|(profile, fields, edits, pretty, bytes)| {
            let mut value = serde_json::to_value(valid_plan(profile)).expect("a plan as JSON");
            for (pointer, leaf) in fields {
                let (parent, name) = pointer.rsplit_once('/').expect("a pointer");
                if let Some(Value::Object(map)) = value.pointer_mut(parent) {
                    map.insert(name.to_string(), leaf);
                }
            }
            edited_text(value, &edits, pretty, &bytes)
        })
        .prop_map(Bytes)
}

#[test]
fn plan_files_from_arbitrary_bytes() {
    fuzz_target(
        "plan_file",
        1,
        "plan_file",
        raw_bytes(2048),
        harness::check_plan,
    );
}

#[test]
fn plan_files_mutated_from_valid_ones() {
    fuzz_target(
        "plan_file (structured)",
        1,
        "plan_file",
        plan_text(),
        harness::check_plan,
    );
}

#[test]
fn a_valid_plan_passes_every_check() {
    for profile in [Profile::DeviceRefresh, Profile::Incident, Profile::Offboard] {
        let text = serde_json::to_vec_pretty(&valid_plan(profile)).expect("a plan as JSON");
        harness::check_plan(&text);
    }
}

// ---------------------------------------------------------------------------------------
// Journals
// ---------------------------------------------------------------------------------------

fn outcome(row: usize) -> UserOutcome {
    UserOutcome {
        row,
        line: row.saturating_add(2),
        input: format!("user{row}@contoso.example"),
        status: Some(RunStatus::Done),
        removed: vec![MethodRef {
            kind: MethodType::Phone,
            id: PhoneType::Mobile.method_id().into(),
            label: "mobile phone …13".into(),
        }],
        sessions_revoked: true,
        attempts: 2,
        request_ids: vec!["req-1".into()],
        ..UserOutcome::default()
    }
}

fn record() -> impl Strategy<Value = Record> {
    let row = prop_oneof![8 => 0usize..20, 1 => Just(usize::MAX)];
    let step = 0usize..6;
    prop_oneof![
        1 => Just(Record::Run {
            plan_fingerprint: "sha256:fp".into(),
            plan_sha256: "ab".repeat(32),
            started: "2026-11-28T10:41:12Z".into(),
            tool: "mfa-reset 0.1.0".into(),
        }),
        3 => row.clone().prop_map(|row| Record::Begin { row }),
        2 => (row.clone(), step.clone()).prop_map(|(row, step)| Record::Intent { row, step }),
        4 => (
            row.clone(),
            step,
            select(&[StepOutcome::Done, StepOutcome::AlreadyDone, StepOutcome::Failed, StepOutcome::Unknown][..]),
            any::<u32>(),
            proptest::option::of("\\PC{0,12}"),
        )
            .prop_map(|(row, step, outcome, attempts, error)| Record::Step {
                row,
                step,
                outcome,
                request_id: Some("req-1".into()),
                attempts,
                error_code: error.clone(),
                error_message: error,
            }),
        1 => row.clone().prop_map(|row| Record::Replanned {
            row,
            steps: vec![Step::RevokeSessions, Step::DisableAccount],
        }),
        2 => row.clone().prop_map(|row| Record::Finished { outcome: Box::new(outcome(row)) }),
        1 => row.clone().prop_map(|row| Record::Finished {
            outcome: Box::new(UserOutcome {
                status: Some(RunStatus::Failed),
                ..outcome(row)
            }),
        }),
        1 => row.prop_map(|row| Record::Retry { row }),
    ]
}

fn journal_text() -> impl Strategy<Value = Bytes> {
    (
        any::<bool>(),
        vec(record(), 0..10),
        any::<Index>(),
        json_edits(2),
        select(&["\n", "\r\n", "\n\n"][..]),
        any::<bool>(),
        mutations(3),
    )
        .prop_map(|(run_first, records, which, edits, eol, last_eol, bytes)| {
            let mut lines: Vec<Value> = Vec::new();
            if run_first {
                lines.push(
                    serde_json::to_value(Record::Run {
                        plan_fingerprint: "sha256:fp".into(),
                        plan_sha256: "ab".repeat(32),
                        started: "2026-11-28T10:41:12Z".into(),
                        tool: "mfa-reset 0.1.0".into(),
                    })
                    .expect("a record as JSON"),
                );
            }
            lines.extend(
                records
                    .iter()
                    .map(|r| serde_json::to_value(r).expect("a record as JSON")),
            );
            if !lines.is_empty() {
                let i = which.index(lines.len());
                edit_json(&mut lines[i], &edits);
            }
            let mut text = lines
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(eol)
                .into_bytes();
            if last_eol {
                text.extend_from_slice(eol.as_bytes());
            }
            mutate(&mut text, &bytes);
            text
        })
        .prop_map(Bytes)
}

#[test]
fn journals_from_arbitrary_bytes() {
    fuzz_target(
        "journal",
        2,
        "journal",
        raw_bytes(1024),
        harness::check_journal,
    );
}

#[test]
fn journals_mutated_from_valid_ones() {
    fuzz_target(
        "journal (structured)",
        1,
        "journal",
        journal_text(),
        harness::check_journal,
    );
}

// ---------------------------------------------------------------------------------------
// Graph answers
// ---------------------------------------------------------------------------------------

fn retry_after_value() -> BoxedStrategy<String> {
    let date = (
        select(&["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"][..]),
        0u8..40,
        select(&["Jan", "Feb", "Mar", "Jun", "Dec", "Foo"][..]),
        prop_oneof![1900i32..2100, 2100i32..=9999, Just(9999)],
        (0u8..30, 0u8..70, 0u8..70),
        select(
            &[
                "GMT", "UT", "Z", "+0000", "-2359", "+2359", "EST", "PDT", "+9999", "",
            ][..],
        ),
    )
        .prop_map(|(wd, day, month, year, (h, m, s), zone)| {
            format!("{wd}, {day:02} {month} {year} {h:02}:{m:02}:{s:02} {zone}")
        });
    prop_oneof![
        3 => "[0-9]{0,12}(\\.[0-9]{0,6})?",
        2 => select(&[
            "inf", "-inf", "NaN", "infinity", "1e400", "-1e400", "-0", "+5", "-1", "0x10",
            " 7 ", "1_000", "86401", "1e20", "Fri, 31 Dec 9999 23:59:59 GMT",
            "Wed, 21 Oct 2015 07:28:00 GMT", "",
        ][..]).prop_map(String::from),
        3 => date,
        1 => "[ -~]{0,30}",
    ]
    .boxed()
}

fn error_body() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => ("\\PC{0,16}", "\\PC{0,40}").prop_map(|(code, message)| {
            json!({"error": {"code": code, "message": message,
                "innerError": {"date": "2026-11-28T10:41:12", "request-id": "r", "client-request-id": "c"}}})
        }),
        2 => nasty_leaf().prop_map(|v| json!({"error": v})),
        1 => nasty_leaf().prop_map(|v| json!({"error": {"code": v.clone(), "message": v}})),
        1 => nasty_leaf(),
    ]
    .boxed()
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => select(&[200u16, 201, 204, 400, 401, 403, 404, 409, 424, 429, 500, 502, 503, 504][..]),
        1 => 100u16..600,
        1 => any::<u16>(),
    ]
}

fn batch_item() -> impl Strategy<Value = Value> {
    let headers = vec(
        (
            select(
                &[
                    "Retry-After",
                    "retry-after",
                    "RETRY-AFTER",
                    "request-id",
                    "x-ms-throttle-limit-percentage",
                    "Content-Type",
                    "",
                ][..],
            ),
            prop_oneof![retry_after_value(), "-?[0-9]{0,4}(\\.[0-9]{0,3})?".boxed()],
        ),
        0..4,
    );
    (
        "[0-9]{1,3}|\\PC{0,6}",
        status(),
        headers,
        proptest::option::of(error_body()),
    )
        .prop_map(|(id, status, headers, body)| {
            let headers: serde_json::Map<String, Value> = headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect();
            let mut item = json!({"id": id, "status": status, "headers": headers});
            if let Some(body) = body {
                item["body"] = body;
            }
            item
        })
}

fn batch_body() -> impl Strategy<Value = Bytes> {
    (
        vec(batch_item(), 0..25),
        json_edits(3),
        any::<bool>(),
        mutations(3),
    )
        .prop_map(|(items, edits, pretty, bytes)| {
            let value = json!({"responses": items});
            edited_text(value, &edits, pretty, &bytes)
        })
        .prop_map(Bytes)
}

#[test]
fn batch_answers_from_arbitrary_bytes() {
    fuzz_target(
        "batch_response",
        1,
        "batch_response",
        raw_bytes(2048),
        harness::check_batch_body,
    );
}

#[test]
fn batch_answers_mutated_from_valid_ones() {
    fuzz_target(
        "batch_response (structured)",
        1,
        "batch_response",
        batch_body(),
        harness::check_batch_body,
    );
}

#[test]
fn retry_after_values() {
    fuzz("retry_after", 1, retry_after_value(), |value| {
        harness::check_retry_after(value);
    });
}

#[test]
fn graph_error_bodies() {
    fuzz(
        "graph_fault",
        1,
        (status(), error_body()),
        |(status, body)| {
            harness::check_fault(*status, Some(body));
            harness::check_fault(*status, None);
        },
    );
}

/// Headers for a whole answer: maybe a `Retry-After`, maybe a `request-id`.
fn answer_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    (
        proptest::option::of(retry_after_value()),
        proptest::option::of("[ -~]{0,20}"),
    )
        .prop_map(|(retry, request_id)| {
            let mut headers = Vec::new();
            for (name, value) in [("Retry-After", retry), ("request-id", request_id)] {
                if let Some(v) = value.map(|v| v.trim().to_string())
                    && !v.is_empty()
                {
                    headers.push((name.to_string(), v));
                }
            }
            headers
        })
}

#[test]
fn whole_batch_answers_through_the_client() {
    let body = prop_oneof![
        3 => batch_body(),
        2 => error_body().prop_map(|v| Bytes(v.to_string().into_bytes())),
        1 => raw_bytes(512),
    ];
    fuzz(
        "batch_response (client)",
        4,
        (status().prop_map(|s| 100 + s % 500), answer_headers(), body),
        |(status, headers, body)| {
            let _w = watch("batch_response", body);
            harness::check_batch_answer(*status, headers, body);
        },
    );
}

// ---------------------------------------------------------------------------------------
// Tokens and certificates
// ---------------------------------------------------------------------------------------

fn access_token() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => "[A-Za-z0-9._-]{1,40}".prop_map(Value::String),
        1 => select(&["", " ", "a b", "tok\u{0}x", "ünï", "Bearer x", "\u{7f}"][..])
            .prop_map(|s| Value::String(s.to_string())),
        1 => (1usize..20_000).prop_map(|n| Value::String("a".repeat(n))),
        1 => nasty_leaf(),
    ]
    .boxed()
}

fn token_body() -> impl Strategy<Value = Bytes> {
    let expires_in = prop_oneof![
        3 => Just(json!(3599)),
        3 => select(vec![
            json!(0), json!(1), json!(-1), json!(u64::MAX), json!(1e20), json!(1.5),
            json!("3599"), json!(" 60 "), json!("x"), json!(null), json!([]),
        ]),
        1 => any::<u64>().prop_map(Value::from),
    ];
    let token_type = proptest::option::of(select(&["Bearer", "bearer", "pop", "", "Bearer "][..]));
    (
        access_token(),
        token_type,
        proptest::option::of(expires_in),
        json_edits(2),
        mutations(2),
    )
        .prop_map(|(token, kind, expires, edits, bytes)| {
            let mut value = json!({"access_token": token, "ext_expires_in": 3599});
            if let Some(kind) = kind {
                value["token_type"] = json!(kind);
            }
            if let Some(expires) = expires {
                value["expires_in"] = expires;
            }
            edit_json(&mut value, &edits);
            let mut text = value.to_string().into_bytes();
            mutate(&mut text, &bytes);
            text
        })
        .prop_map(Bytes)
}

/// An OAuth error body whose description may echo the client secret, as a hostile server
/// might.
fn oauth_error_body() -> impl Strategy<Value = Bytes> {
    (
        prop_oneof![
            select(
                &[
                    "invalid_client",
                    "invalid_request",
                    "unauthorized_client",
                    "",
                    "a b<c>"
                ][..]
            )
            .prop_map(|s| json!(s)),
            nasty_leaf(),
        ],
        "(AADSTS[0-9]{0,12}: )?\\PC{0,40}",
        any::<Index>(),
        any::<bool>(),
        proptest::option::of(prop_oneof![
            any::<u64>().prop_map(|c| json!([c])),
            nasty_leaf()
        ]),
    )
        .prop_map(|(error, description, at, echo, codes)| {
            let mut description = description;
            if echo {
                let mut i = at.index(description.len() + 1);
                while !description.is_char_boundary(i) {
                    i -= 1;
                }
                description.insert_str(i, harness::CLIENT_SECRET);
            }
            let mut value = json!({"error": error, "error_description": description,
                "trace_id": "t", "correlation_id": "c"});
            if let Some(codes) = codes {
                value["error_codes"] = codes;
            }
            value.to_string().into_bytes()
        })
        .prop_map(Bytes)
}

#[test]
fn token_endpoint_answers() {
    let answer = prop_oneof![
        3 => (Just(200u16), Just(Vec::<(String, String)>::new()), token_body()),
        3 => (status().prop_map(|s| 100 + s % 500), answer_headers(), oauth_error_body()),
        1 => (status().prop_map(|s| 100 + s % 500), answer_headers(), raw_bytes(512)),
    ];
    fuzz("token_response", 4, answer, |(status, headers, body)| {
        let _w = watch("token_response", body);
        harness::check_token_answer(*status, headers, body);
    });
}

fn jwt() -> impl Strategy<Value = String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let exp = prop_oneof![
        select(vec![
            json!(now + 3600),
            json!(now),
            json!(now + 3),
            json!(1),
            json!(0),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(1e30),
            json!("123"),
            json!(null),
        ]),
        any::<u64>().prop_map(Value::from),
    ];
    (
        exp,
        any::<bool>(),
        mutations(2),
        select(&["", "Bearer ", "bearer  ", " "][..]),
    )
        .prop_map(|(exp, padded, edits, prefix)| {
            let mut payload = json!({"aud": "https://graph.microsoft.com", "exp": exp})
                .to_string()
                .into_bytes();
            mutate(&mut payload, &edits);
            let mut body = URL_SAFE_NO_PAD.encode(payload);
            if padded {
                body.push_str("==");
            }
            format!("{prefix}eyJhbGciOiJSUzI1NiJ9.{body}.c2lnbmF0dXJl")
        })
}

#[test]
fn ready_tokens() {
    let token = prop_oneof![
        4 => jwt(),
        1 => "\\PC{0,40}",
        1 => "[ -~]{0,40}",
        1 => (jwt(), "[\u{0}-\u{1f} ]{1,3}", any::<Index>()).prop_map(|(t, bad, at)| {
            let i = at.index(t.len() + 1);
            format!("{}{bad}{}", &t[..i], &t[i..])
        }),
    ];
    fuzz("token_response (ready token)", 1, token, |token| {
        let _w = watch("token_response", token.as_bytes());
        harness::check_static_token(token);
    });
}

#[cfg(unix)]
#[test]
fn azure_cli_outputs() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let expires_on = prop_oneof![
        select(vec![
            json!(now + 3600),
            json!(now - 10),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(-1e300),
            json!(1e300),
            json!(u64::MAX),
            json!((now + 3600).to_string()),
            json!("abc"),
            json!(null),
            json!(1.5),
        ]),
        any::<i64>().prop_map(Value::from),
    ];
    let expires_local = select(vec![
        "2024-05-01 12:34:56.123456".to_string(),
        "9999-12-31 23:59:59".to_string(),
        "0000-01-01 00:00:00".to_string(),
        "-9999-01-01 00:00:00".to_string(),
        "2024-02-30 00:00:00".to_string(),
        String::new(),
        format!("{}-01-01 00:00:00", 1970 + now / 31_557_600 + 1),
    ]);
    let stdout = (
        access_token(),
        proptest::option::of(expires_on),
        proptest::option::of(expires_local),
        json_edits(2),
        mutations(2),
    )
        .prop_map(|(token, on, local, edits, bytes)| {
            let mut value = json!({"accessToken": token, "tokenType": "Bearer",
                "subscription": "s", "tenant": "t"});
            if let Some(on) = on {
                value["expires_on"] = on;
            }
            if let Some(local) = local {
                value["expiresOn"] = json!(local);
            }
            edit_json(&mut value, &edits);
            let mut text = value.to_string().into_bytes();
            mutate(&mut text, &bytes);
            Bytes(text)
        });
    let run = (
        stdout,
        prop_oneof![3 => Just(Bytes(Vec::new())), 1 => raw_bytes(200)],
        prop_oneof![4 => Just(0u8), 1 => 1u8..4],
    );
    fuzz("token_response (az)", 8, run, |(stdout, stderr, code)| {
        let _w = watch("token_response", stdout);
        harness::check_azure_cli(stdout, stderr, *code);
    });
}

/// The test certificate and its key, a key of another certificate, and the labels a PEM
/// file may carry.
fn pem_text() -> impl Strategy<Value = String> {
    let data = |name: &str| {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data")
                .join(name),
        )
        .expect("test data")
    };
    let (app, cert, key, forged) = (
        data("app.pem"),
        data("app-cert.pem"),
        data("app-key.pem"),
        data("forged-key.pem"),
    );
    let base = select(vec![
        app.clone(),
        format!("{key}{cert}"),
        format!("{cert}{forged}"),
        cert.clone(),
        key,
        format!("{cert}{cert}{app}"),
    ]);
    let relabel = select(
        &[
            ("", ""),
            ("PRIVATE KEY", "RSA PRIVATE KEY"),
            ("PRIVATE KEY", "EC PRIVATE KEY"),
            ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
            ("CERTIFICATE", "CERTIFICATE REQUEST"),
            ("-----END", "-----FIN"),
            ("\n", "\r\n"),
        ][..],
    );
    (base, relabel, mutations(4)).prop_map(|(text, (from, to), edits)| {
        let text = if from.is_empty() {
            text
        } else {
            text.replacen(from, to, 1)
        };
        let mut bytes = text.into_bytes();
        mutate(&mut bytes, &edits);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[test]
fn certificate_pems() {
    let text = prop_oneof![4 => pem_text(), 1 => "\\PC{0,200}", 1 => raw_bytes(600).prop_map(|b| String::from_utf8_lossy(&b).into_owned())];
    fuzz("certificate_pem", 2, text, |text| {
        let _w = watch("certificate_pem", text.as_bytes());
        harness::check_pem(text);
    });
}

// ---------------------------------------------------------------------------------------
// The regression corpus
// ---------------------------------------------------------------------------------------

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Every file under `tests/corpus/fuzz/<target>/` (an input that once made a parser
/// panic, hang or give a useless error) and under `fuzz/seeds/<target>/` (the fuzzers'
/// seeds), run through its target's check again.
#[test]
fn regression_corpus() {
    let mut failures = Vec::new();
    let mut ran = 0;
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let dirs = files_in(&corpus_root().join("fuzz"))
        .into_iter()
        .chain(files_in(&seeds));
    for dir in dirs {
        let target = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let (name, check): (&'static str, fn(&[u8])) = match target.as_str() {
            "input_csv" => ("input_csv", harness::input_csv),
            "input_json" => ("input_json", harness::input_json),
            "plan_file" => ("plan_file", harness::plan_file),
            "journal" => ("journal", harness::journal),
            "batch_response" => ("batch_response", harness::batch_response),
            "token_response" => ("token_response", harness::token_response),
            "certificate_pem" => ("certificate_pem", harness::certificate_pem),
            _ => panic!("{}: no fuzz target has this name", dir.display()),
        };
        for file in files_in(&dir) {
            let bytes = std::fs::read(&file).expect("a corpus file");
            let _w = watch(name, &bytes);
            ran += 1;
            if let Err(panic) = std::panic::catch_unwind(|| check(&bytes)) {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", file.display()));
            }
        }
    }
    assert!(ran > 0, "the regression corpus is empty");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
