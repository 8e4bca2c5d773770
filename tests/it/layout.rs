//! The library's layers import one way (`src/lib.rs`, "# Layout"): a file under `src/A/`
//! (or `src/A.rs`) that names `crate::B` outside its unit tests draws A → B, and every
//! such import must go from a higher layer to a lower one. A new loop, or a leaf that
//! starts to know a layer above it, fails here with the file and line that drew it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each top-level module's layer: a module may import only modules of a lower layer.
const LAYERS: [(&str, u8); 12] = [
    ("wire", 0),
    ("secret", 0),
    ("exit", 0),
    ("graph", 1),
    ("policy", 1),
    ("sim", 1),
    ("input", 2),
    ("plan", 3),
    ("engine", 4),
    ("tenants", 4),
    ("report", 5),
    ("cli", 6),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file as it builds outside tests: an inline `mod tests` is cut, and files
/// that only tests build (`tests.rs`, `test_support.rs`) are skipped by the caller.
fn production_text(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// The top-level modules `text` names as `crate::name` or inside `crate::{...}`, with the
/// line of each.
fn imports(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let prefix = concat!("crate", "::");
    for (index, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((name, index + 1));
            }
        }
    }
    // `use crate::{a, b::c}` spread over several lines.
    let mut rest = text;
    let group = concat!("crate", "::{");
    while let Some(at) = rest.find(group) {
        let line = text[..text.len() - rest.len() + at].lines().count().max(1);
        rest = &rest[at + group.len()..];
        let body = &rest[..rest.find('}').unwrap_or(rest.len())];
        for item in body.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((name, line));
            }
        }
    }
    found
}

#[test]
fn every_import_between_top_level_modules_goes_down_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layer: BTreeMap<&str, u8> = LAYERS.into_iter().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    let mut seen_modules = std::collections::BTreeSet::new();
    for path in &files {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name == "test_support.rs" {
            continue;
        }
        seen_modules.insert(module.clone());
        let Some(&from) = layer.get(module.as_str()) else {
            wrong.push(format!(
                "{}: top-level module `{module}` has no layer in tests/it/layout.rs",
                rel.display()
            ));
            continue;
        };
        for (to_module, line) in imports(&production_text(path)) {
            let Some(&to) = layer.get(to_module.as_str()) else {
                continue;
            };
            if to_module != module && to >= from {
                wrong.push(format!(
                    "src/{}:{line}: {module} (layer {from}) imports {to_module} (layer {to})",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        seen_modules.len() >= 10,
        "only {seen_modules:?} were found under {}",
        src.display()
    );
    assert!(
        wrong.is_empty(),
        "imports that do not run one way:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_single_and_grouped_imports() {
    let text = concat!(
        "use crate",
        "::engine::run;\n",
        "use crate",
        "::{\n    plan::PlanEntry,\n    report,\n};\n",
        "// use crate",
        "::cli;\n",
    );
    let names: Vec<String> = imports(text).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["engine", "plan", "report"]);
}
