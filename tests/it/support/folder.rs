//! A plan's or a run's folder and the files in it: `results.jsonl`, `results.csv`, the
//! journal, `secrets/tap.csv`, and what may and may not be left there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder a `plan`, `apply` or `resume` writes (`--out`).
#[derive(Debug, Clone)]
pub struct Folder(pub PathBuf);

impl Folder {
    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The folder as an argument.
    pub fn arg(&self) -> &str {
        super::s(&self.0)
    }

    /// `plan.json`, the plan of a plan's folder or of a run.
    pub fn plan_file(&self) -> PathBuf {
        self.join("plan.json")
    }

    pub fn plan(&self) -> Value {
        super::read_json(&self.plan_file())
    }

    /// `results.jsonl`, a JSON value per row.
    pub fn rows(&self) -> Vec<Value> {
        let path = self.join("results.jsonl");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The `status` of each row of `results.jsonl`.
    pub fn statuses(&self) -> Vec<String> {
        self.rows()
            .iter()
            .map(|r| r["status"].as_str().expect("a status").to_string())
            .collect()
    }

    /// `results.csv` as maps from column to cell.
    pub fn csv(&self) -> Vec<BTreeMap<String, String>> {
        let mut reader = csv::Reader::from_path(self.join("results.csv")).expect("results.csv");
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                headers
                    .iter()
                    .zip(r.unwrap().iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// The journal's complete lines (a line being written is left out).
    pub fn journal(&self) -> Vec<String> {
        let Ok(bytes) = std::fs::read(self.join("journal.jsonl")) else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
        lines.pop(); // after the last '\n': empty, or a line cut short
        lines
    }

    /// `secrets/tap.csv`: (user id, pass) per row; checks the file and its folder are
    /// private.
    pub fn taps(&self) -> Vec<(String, String)> {
        let path = self.join("secrets/tap.csv");
        #[cfg(unix)]
        for (path, private) in [(self.join("secrets"), 0o700), (path.clone(), 0o600)] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, private, "{} mode {mode:o}", path.display());
        }
        let mut reader = csv::Reader::from_path(&path).expect("tap.csv");
        let headers = reader.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).expect(name);
        let (user, pass) = (col("userId"), col("temporaryAccessPass"));
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[user].to_string(), r[pass].to_string())
            })
            .collect()
    }

    /// Every file under the folder, however deep.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![self.0.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    /// Fails if any pass appears in any file of the folder but `secrets/tap.csv`, or in
    /// `logs`.
    pub fn assert_passes_only_in_tap_file(&self, passes: &[String], logs: &[&str]) {
        let tap = self.join("secrets/tap.csv");
        let files: Vec<PathBuf> = self.files().into_iter().filter(|f| *f != tap).collect();
        assert!(files.len() > 5, "{files:?}");
        for pass in passes {
            assert!(pass.len() >= 8, "a pass of {} characters", pass.len());
            for file in &files {
                let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
                assert!(
                    !text.contains(pass.as_str()),
                    "a pass appears in {}",
                    file.display()
                );
            }
            for log in logs {
                assert!(!log.contains(pass.as_str()), "a pass appears in the output");
            }
        }
    }

    /// The folder holds what the run documents, and no scratch file of its own.
    pub fn assert_no_scratch_files(&self) {
        for entry in std::fs::read_dir(&self.0).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !(name.ends_with(".tmp") || name.ends_with(".partial") || name.ends_with(".spill")),
                "{} left behind in {}",
                name,
                self.0.display()
            );
        }
    }
}

/// The journal lines of one kind of record (`"record":"KIND"`).
pub fn records<'a>(lines: &'a [String], kind: &'a str) -> impl Iterator<Item = &'a String> + 'a {
    let tag = format!("\"record\":\"{kind}\"");
    lines.iter().filter(move |l| l.contains(&tag))
}
