//! Input throughput: how fast `check` reads a big user list, and whether memory stays
//! flat while it does.
//!
//! ```sh
//! cargo bench --bench input_throughput
//! ```
//!
//! Generates CSV files in a temporary directory (`id,userPrincipalName,displayName,ticket`,
//! the shape of an Entra export cut down; a display name in three is quoted with a comma
//! inside, 1% of rows have a broken key, 2% repeat an earlier user), then reads each through
//! `mfa_reset::input::read` with a sink that does what `check` does: counts statuses and
//! formats a line for every invalid row and duplicate (into a sink, not a terminal). Every
//! run's counts are checked against what the generator wrote, so the bench cannot measure
//! a parse that skipped rows.
//!
//! Reported per run: rows, seconds, rows/s, the process's peak resident memory (`VmHWM` in
//! `/proc/self/status`) before and after the read, and the CPU time the read took, in all
//! threads and in the calling thread alone (from `/proc/self/stat` and
//! `/proc/thread-self/stat`). The calling thread puts rows back in order, detects
//! duplicates and runs the sink: when its CPU time is close to the wall time, it is what
//! limits the throughput, not the parsing workers. A run with a tenth of the
//! rows shows how the peak scales with the file. A run with a million rows
//! but only a thousand distinct users separates the pipeline's memory (which must not grow
//! with the file) from duplicate detection's (24 bytes a distinct user).
//!
//! Each read runs in a child process (the bench binary again, with `--run-one FILE
//! COUNTS`), so each peak is that read's own.
//!
//! Knobs: `INPUT_BENCH_ROWS` (the large file's rows, default 1,000,000),
//! `INPUT_BENCH_RUNS` (timed runs of the large file, default 3), `INPUT_BENCH_KEEP` (keep
//! the generated files, e.g. to profile one read with `--run-one`). Without `--bench` in the
//! arguments (as `cargo test --benches` runs it) it only does a 20,000-row smoke run.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mfa_reset::input::{self, InputError, InputOptions, InputRow, RowStatus};

/// What a generated file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expected {
    rows: usize,
    invalid: usize,
    duplicates: usize,
}

/// splitmix64: a fixed, fast stream of pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

const FIRST: [&str; 8] = [
    "Adele", "Alex", "Diego", "Isaiah", "Megan", "Miriam", "Sean", "Yuki",
];
const LAST: [&str; 8] = [
    "Vance", "Wilber", "Salazar", "Wilke", "O'Brien", "Gupta", "Tanaka", "Okafor",
];

/// The user with number `n`: (object id, UPN, display name).
fn user(n: u64) -> (String, String, String) {
    let mut rng = Rng(n.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5);
    let (a, b) = (rng.next(), rng.next());
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFF,
        (b >> 48) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    );
    let first = FIRST[(n % 8) as usize];
    let last = LAST[((n / 8) % 8) as usize];
    let upn = format!(
        "{}.{}{n}@contoso.example",
        first.to_lowercase(),
        last.to_lowercase()
    );
    (id, upn, format!("{first} {last}"))
}

/// Writes a CSV of `rows` rows over `distinct` users; returns what it holds.
fn generate(path: &Path, rows: usize, distinct: u64) -> Expected {
    let file = std::fs::File::create(path).expect("create the bench file");
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut rng = Rng(7);
    let mut expected = Expected {
        rows,
        invalid: 0,
        duplicates: 0,
    };
    writeln!(w, "id,userPrincipalName,displayName,ticket").unwrap();
    let mut next_new = 0u64;
    for i in 0..rows {
        let roll = rng.next() % 100;
        if roll == 0 {
            // A broken key: a UPN crafted to walk the URL, in the id column's absence.
            writeln!(w, ",alice{i}@contoso.example/../x,Broken Row,T-{i}").unwrap();
            expected.invalid += 1;
            continue;
        }
        let n = if (roll <= 2 && next_new > 0) || next_new >= distinct {
            expected.duplicates += 1;
            rng.next() % next_new
        } else {
            next_new += 1;
            next_new - 1
        };
        let (id, upn, name) = user(n);
        if i % 3 == 0 {
            let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
            writeln!(w, "{id},{upn},\"{last}, {first}\",T-{i}").unwrap();
        } else {
            writeln!(w, "{id},{upn},{name},T-{i}").unwrap();
        }
    }
    w.flush().unwrap();
    expected
}

/// `VmHWM` (peak resident set) in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads `path` as `check` does; returns (rows, seconds).
fn run(path: &Path, expected: Expected) -> (usize, f64) {
    let mut counts = [0usize; 3];
    let mut out = String::new();
    let sink = |rows: Vec<InputRow>| {
        for row in &rows {
            match row.status() {
                RowStatus::Valid => counts[0] += 1,
                RowStatus::Invalid => {
                    counts[1] += 1;
                    if let Err(p) = &row.key {
                        out.clear();
                        let _ = write!(out, "{}:{}:{}: {p}", path.display(), p.line, p.column);
                        std::hint::black_box(&out);
                    }
                }
                RowStatus::Duplicate => {
                    counts[2] += 1;
                    out.clear();
                    let _ = write!(
                        out,
                        "{}:{}: note: {:?}",
                        path.display(),
                        row.line,
                        row.value
                    );
                    std::hint::black_box(&out);
                }
            }
        }
        Ok::<(), InputError>(())
    };
    let start = Instant::now();
    let summary = input::read(path, &InputOptions::default(), sink).expect("read the bench file");
    let seconds = start.elapsed().as_secs_f64();
    let got = Expected {
        rows: summary.rows,
        invalid: summary.invalid,
        duplicates: summary.duplicates,
    };
    assert_eq!(got, expected, "the read must see exactly what was written");
    assert_eq!(counts, [summary.valid, summary.invalid, summary.duplicates]);
    (summary.rows, seconds)
}

/// One measured read, in a fresh process so that its peak memory is its own.
fn measure(label: &str, path: &Path, expected: Expected) -> f64 {
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = std::process::Command::new(exe)
        .arg("--bench")
        .arg("--run-one")
        .arg(path)
        .arg(format!(
            "{},{},{}",
            expected.rows, expected.invalid, expected.duplicates
        ))
        .output()
        .expect("run the measuring child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .map(|f| f.parse().expect("the child's figures"))
        .collect();
    let [seconds, rss_before, rss_after, cpu, cpu_in_order] = fields[..] else {
        panic!("unexpected child output {text:?}")
    };
    let rows = expected.rows as f64;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "{label:<36} {rows:>9} rows {size:>6.1} MB {seconds:>7.3} s {:>10.0} rows/s {:>6.1} MB/s   peak RSS {:>6.1} MiB (before the read {:>4.1} MiB)   CPU {cpu:>4.2} s (in-order thread {cpu_in_order:>4.2} s)",
        rows / seconds,
        size / seconds,
        rss_after / 1024.0,
        rss_before / 1024.0
    );
    rows / seconds
}

/// The child: `--run-one FILE ROWS,INVALID,DUPLICATES`; prints `seconds rss_before
/// rss_after cpu cpu_in_order`: wall time, peak resident KiB before and after, and the CPU
/// seconds the read took in all threads and in the calling (in-order) thread alone.
fn run_one(args: &[String]) {
    let path = PathBuf::from(&args[0]);
    let n: Vec<usize> = args[1].split(',').map(|v| v.parse().unwrap()).collect();
    let expected = Expected {
        rows: n[0],
        invalid: n[1],
        duplicates: n[2],
    };
    let before = peak_rss_kib().unwrap_or(0);
    let (process_0, thread_0) = (cpu_ticks("self"), cpu_ticks("thread-self"));
    let (_, seconds) = run(&path, expected);
    let (process_1, thread_1) = (cpu_ticks("self"), cpu_ticks("thread-self"));
    let after = peak_rss_kib().unwrap_or(0);
    let cpu = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 100.0,
        _ => f64::NAN,
    };
    println!(
        "{seconds} {before} {after} {} {}",
        cpu(process_0, process_1),
        cpu(thread_0, thread_1)
    );
}

/// User plus system CPU time of the process (`"self"`) or of the calling thread
/// (`"thread-self"`), in clock ticks (1/100 s), from `/proc/…/stat`.
fn cpu_ticks(of: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{of}/stat")).ok()?;
    // Fields after the parenthesised command name: state is the first; utime and stime
    // are the 12th and 13th.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(ticks(11)? + ticks(12)?)
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--run-one") {
        return run_one(&args[i + 1..]);
    }
    let bench = args.iter().any(|a| a == "--bench");
    let dir: PathBuf =
        std::env::temp_dir().join(format!("mfa-reset-input-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the bench directory");
    println!(
        "input throughput: {} rayon threads on {} CPUs",
        rayon::current_num_threads(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    if !bench {
        let path = dir.join("smoke.csv");
        let expected = generate(&path, 20_000, u64::MAX);
        let (rows, seconds) = run(&path, expected);
        println!("smoke: {rows} rows in {seconds:.3} s");
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    let large = env("INPUT_BENCH_ROWS", 1_000_000);
    let runs = env("INPUT_BENCH_RUNS", 3).max(1);
    let small_rows = (large / 10).max(1);

    let small = dir.join("small.csv");
    let small_expected = generate(&small, small_rows, u64::MAX);
    let repeats = dir.join("repeats.csv");
    let repeats_expected = generate(&repeats, large, 1_000);
    let big = dir.join("big.csv");
    let big_expected = generate(&big, large, u64::MAX);
    println!("generated in {}", dir.display());

    measure(
        &format!("{small_rows} rows, all distinct"),
        &small,
        small_expected,
    );
    measure(
        &format!("{large} rows, 1,000 distinct"),
        &repeats,
        repeats_expected,
    );
    let mut rates: Vec<f64> = (0..runs)
        .map(|i| {
            measure(
                &format!("{large} rows, all distinct (run {})", i + 1),
                &big,
                big_expected,
            )
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    println!(
        "large file: median {:.0} rows/s, best {:.0} rows/s over {runs} runs",
        rates[rates.len() / 2],
        rates[rates.len() - 1]
    );
    if std::env::var_os("INPUT_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
