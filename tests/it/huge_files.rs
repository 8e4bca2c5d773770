//! What a huge or non-text file is refused as (#20 item 5, "name the real cause for a huge
//! file"): a 2 GiB file of zero bytes (`truncate -s 2G`, a preallocated or sparse file, a
//! download that never finished) was refused as "UTF-16 without BOM", and a list whose
//! tail is zeros as "a quote is probably not closed". Each is now named for what it holds,
//! with the file's size and where the text stops, exit 2. The big files are sparse
//! (`File::set_len`), so nothing near 2 GiB is written; a real list of users of many
//! blocks is still read to its end.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::support::process::{Run, mfa_reset};
use crate::support::report_fixtures::group;
use crate::support::{s, scratch};

/// `mfa-reset ARGS`, which must not panic.
fn run(args: &[&str]) -> Run {
    let run = Run::of(&mut mfa_reset(args));
    run.assert_no_panic();
    run
}

/// `text` in a file `name` of the scratch folder `dir`, made `len` bytes long with zero
/// bytes after the text (sparse: not written).
#[track_caller]
fn with_zero_tail(dir: &str, name: &str, text: &str, len: u64) -> PathBuf {
    let path = scratch(dir).join(name);
    std::fs::write(&path, text).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len)
        .unwrap();
    path
}

/// A CSV of `n` users, `userPrincipalName,ticket`.
fn users_csv(n: usize) -> String {
    let mut text = String::from("userPrincipalName,ticket\n");
    for i in 0..n {
        text.push_str(&format!("user{i}@contoso.example,T-{i}\n"));
    }
    text
}

const WHAT: &str = "(a preallocated or sparse file, a disk image, or a copy or download that never \
                    finished looks like this)";
const TODO: &str = "check that this is the right file, or export the user list again";

fn remove(path: &Path) {
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn a_2_gib_file_of_zero_bytes_is_named_as_such_not_as_utf16() {
    let file = with_zero_tail("sparse", "users.csv", "", 2 << 30);
    let expect = format!(
        "mfa-reset: error: {}: this is not a user list: the file starts with zero (NUL) bytes, \
         not text {WHAT}; the file is 2.0 GiB (2,147,483,648 bytes); {TODO}",
        file.display()
    );
    let check = run(&["check", s(&file)]);
    check.expect_code(2);
    assert!(check.stderr.contains(&expect), "{}", check.stderr);
    assert!(!check.stderr.contains("UTF-16"), "{}", check.stderr);
    // `plan` says the same before anything is read from the tenant or written.
    let out = file.with_file_name("plan");
    let plan = run(&[
        "plan",
        s(&file),
        "--profile",
        "device-refresh",
        "--tenant",
        "sim",
        "--out",
        s(&out),
    ]);
    plan.expect_code(2);
    assert!(plan.stderr.contains(&expect), "{}", plan.stderr);
    assert!(!out.exists(), "no plan folder");
    remove(&file);
}

#[test]
fn a_list_whose_tail_is_zero_bytes_says_where_its_text_stops() {
    // Zeros after 5,000 users (past the 64 KiB sniffed), as a preallocated export leaves
    // them: was "a record runs on for more than 64 MiB: a quote is probably not closed".
    let text = users_csv(5_000);
    let file = with_zero_tail("tail", "users.csv", &text, 1 << 30);
    let check = run(&["check", s(&file)]);
    check.expect_code(2);
    let expect = format!(
        "mfa-reset: error: {}:5002: the text stops after {} KiB ({} bytes): from there on the \
         file holds zero (NUL) bytes {WHAT}; the file is 1.0 GiB (1,073,741,824 bytes); {TODO}",
        file.display(),
        format_args!("{:.1}", text.len() as f64 / 1024.0),
        group(text.len()),
    );
    assert!(check.stderr.contains(&expect), "{expect}\n{}", check.stderr);
    assert!(!check.stderr.contains("quote"), "{}", check.stderr);
    remove(&file);

    // Zeros inside the first 64 KiB, in a plain list and in JSON: was "UTF-16 without BOM".
    for (name, text, line) in [
        ("users.txt", "a@contoso.example\nb@contoso.example\n", 3),
        (
            "users.json",
            "[\"a@contoso.example\",\n\"b@contoso.example\"]",
            2,
        ),
    ] {
        let file = with_zero_tail("tail-early", name, text, 1 << 20);
        let check = run(&["check", s(&file)]);
        check.expect_code(2);
        let expect = format!(
            "mfa-reset: error: {}:{line}: the text stops after {} bytes: from there on the file \
             holds zero (NUL) bytes {WHAT}; the file is 1.0 MiB (1,048,576 bytes); {TODO}",
            file.display(),
            text.len()
        );
        assert!(check.stderr.contains(&expect), "{expect}\n{}", check.stderr);
        remove(&file);
    }
}

#[test]
fn zeros_on_standard_input_are_named_too() {
    let mut bytes = b"userPrincipalName\na@contoso.example\n".to_vec();
    bytes.extend_from_slice(&[0; 100_000]);
    let check = Run::of_piped(&mut mfa_reset(&["check", "-"]), bytes);
    check.assert_no_panic();
    check.expect_code(2);
    assert!(
        check.stderr.contains(
            "<stdin>: the text stops after 36 bytes: from there on the file holds zero (NUL) bytes"
        ),
        "{}",
        check.stderr
    );
}

#[test]
fn a_few_zero_bytes_in_a_row_are_an_invalid_row_not_the_end_of_the_file() {
    let mut text = users_csv(3).into_bytes();
    text.extend_from_slice(b"bad\0\0\0\0@contoso.example,T-x\nlast@contoso.example,T-y\n");
    let file = scratch("few-zeros").join("users.csv");
    std::fs::write(&file, text).unwrap();
    let check = run(&["check", s(&file)]);
    check.expect_code(2);
    assert!(
        check.stdout.contains(&format!("{}:5:1: ", file.display())),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("5 rows: 4 valid users (0 by object id, 4 by UPN, 0 by mail), 1 invalid row"),
        "{}",
        check.stdout
    );
    remove(&file);
}

#[test]
fn a_first_line_with_no_end_is_named_as_such() {
    let file = scratch("one-line").join("users.csv");
    std::fs::write(&file, "x".repeat(100 * 1024)).unwrap();
    let check = run(&["check", s(&file)]);
    check.expect_code(2);
    assert!(
        check.stderr.contains(&format!(
            "{}: unknown format: line 1 runs on past the first 64 KiB without a line end; a \
             user list's lines are short, so this is probably not one",
            file.display()
        )),
        "{}",
        check.stderr
    );
    remove(&file);
}

#[test]
fn compressed_and_binary_files_are_named_as_such() {
    let binary: Vec<u8> = (0..65_536u32).map(|i| (i * 7919 % 251) as u8).collect();
    for (name, bytes, said) in [
        (
            "users.csv.gz",
            b"\x1F\x8B\x08\x00\x00\x00\x00\x00\x00\x03+-N-\x02\x00".to_vec(),
            "this is a gzip-compressed file (.gz), not a CSV or JSON list; take the list out of \
             it and give that file",
        ),
        (
            "users.pdf",
            b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            "this is a PDF document",
        ),
        (
            "users.bin",
            binary,
            "this looks like a binary file, not text: ",
        ),
    ] {
        let file = scratch("packed").join(name);
        std::fs::write(&file, bytes).unwrap();
        let check = run(&["check", s(&file)]);
        check.expect_code(2);
        assert!(
            check
                .stderr
                .contains(&format!("{}: unknown format: {said}", file.display())),
            "{name}: {}",
            check.stderr
        );
        remove(&file);
    }
}

#[test]
fn a_real_list_of_many_blocks_is_read_to_its_end() {
    // 60,000 users: about 2 MiB, eight blocks of the reader, none of them zero.
    let file = scratch("real").join("users.csv");
    std::fs::write(&file, users_csv(60_000)).unwrap();
    let check = run(&["check", s(&file)]);
    check.expect_code(0);
    assert!(
        check
            .stdout
            .contains("60000 rows: 60000 valid users (0 by object id, 60000 by UPN, 0 by mail)"),
        "{}",
        check.stdout
    );
    remove(&file);
}
