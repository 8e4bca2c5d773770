//! What the test modules share: the paths of the test data, scratch folders, the rules
//! tenant's users and Graph's fixed method ids, running the binary ([`process`]), an HTTP
//! client for the emulator ([`graph`]), reading a tenant's users ([`users`]), a run
//! folder's files ([`folder`]), what a profile must do to each user ([`oracle`]), and the
//! scenario builder ([`scenario`]), and Graph's published schema ([`csdl`]).

pub mod chromium;
pub mod csdl;
pub mod folder;
pub mod graph;
pub mod oracle;
pub mod process;
pub mod report_fixtures;
pub mod scenario;
pub mod users;

use std::panic::Location;
use std::path::{Path, PathBuf};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mfa-reset");

// The users of the rules tenant (`tests/data/tenant-rules.json`).
pub const ALICE: &str = "aaaaaaaa-0000-4000-8000-000000000001";
pub const BOB: &str = "aaaaaaaa-0000-4000-8000-000000000002";
pub const GUEST: &str = "aaaaaaaa-0000-4000-8000-000000000003";
pub const SYNCED: &str = "aaaaaaaa-0000-4000-8000-000000000004";
pub const ADMIN: &str = "aaaaaaaa-0000-4000-8000-000000000005";
pub const SERVICE: &str = "aaaaaaaa-0000-4000-8000-000000000006";
pub const CAROL: &str = "aaaaaaaa-0000-4000-8000-000000000007";
pub const DORA: &str = "aaaaaaaa-0000-4000-8000-000000000008";
/// A frontline worker with a hardware OATH token, an external MFA method and a QR code PIN
/// beside a mobile phone and Authenticator (the default).
pub const ERIN: &str = "aaaaaaaa-0000-4000-8000-000000000009";

// The ids Graph gives the phone and password methods, the same for every user.
pub const MOBILE: &str = "3179e48a-750b-4051-897c-87b9720928f7";
pub const ALTERNATE_MOBILE: &str = "b6332ec1-7057-4abe-9331-3d72feddfe41";
pub const OFFICE: &str = "e37fc753-ff3b-4958-9484-eaa9425c82bc";
pub const PASSWORD: &str = "28c10230-6103-485e-b985-444c60001490";
pub const EMAIL: &str = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f";

fn in_crate(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// A file of `tests/data/`.
pub fn data(name: &str) -> PathBuf {
    in_crate("tests/data").join(name)
}

/// A file of `samples/`.
pub fn sample(name: &str) -> PathBuf {
    in_crate("samples").join(name)
}

/// A file or folder of `tests/corpus/`.
pub fn corpus(path: &str) -> PathBuf {
    in_crate("tests/corpus").join(path)
}

/// A fresh, empty folder for one test under the target's temporary folder, named after
/// the calling module's file and `name` (`apply-kill` for `scratch("kill")` in
/// `tests/it/apply.rs`), so that no two modules' tests share one.
#[track_caller]
pub fn scratch(name: &str) -> PathBuf {
    let file = Location::caller().file().replace('\\', "/");
    let module = file
        .rsplit_once("tests/it/")
        .map_or(file.as_str(), |(_, m)| m)
        .trim_end_matches(".rs")
        .replace('/', "-");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{module}-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A JSON file, parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
