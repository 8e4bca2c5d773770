//! The input layer as `check` and `plan` use it: every sample shape, encodings,
//! delimiters, headers, `--column`, duplicates, hostile keys, positions in messages, the
//! streaming contract, and `mfa-reset check`'s output and exit codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use mfa_reset::graph::key::{KeyKind, UserKey};
use mfa_reset::input::{
    self, Encoding, FirstSeen, InputError, InputOptions, InputRow, InputSummary, RowStatus, Shape,
};

use crate::support::{BIN, sample};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mfa-reset-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn read(path: &Path) -> (Vec<InputRow>, InputSummary) {
    input::read_all(path, &InputOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn read_text(text: &str) -> (Vec<InputRow>, InputSummary) {
    read_bytes(text.as_bytes(), None)
}

fn read_bytes(bytes: &[u8], column: Option<&str>) -> (Vec<InputRow>, InputSummary) {
    try_bytes(bytes, column).unwrap_or_else(|e| panic!("{e}"))
}

fn try_bytes(
    bytes: &[u8],
    column: Option<&str>,
) -> Result<(Vec<InputRow>, InputSummary), InputError> {
    let options = InputOptions {
        column: column.map(str::to_string),
    };
    let mut rows = Vec::new();
    let summary = input::read_from("mem.txt", bytes, &options, |chunk| {
        rows.extend(chunk);
        Ok::<(), InputError>(())
    })?;
    Ok((rows, summary))
}

fn key(row: &InputRow) -> &UserKey {
    row.key
        .as_ref()
        .unwrap_or_else(|p| panic!("line {}: {p}", row.line))
}

fn keys(rows: &[InputRow]) -> Vec<(KeyKind, &str)> {
    rows.iter()
        .map(|r| {
            let k = key(r);
            (k.kind(), k.as_str())
        })
        .collect()
}

fn problem(row: &InputRow) -> &input::RowProblem {
    row.key
        .as_ref()
        .err()
        .unwrap_or_else(|| panic!("line {} should be invalid", row.line))
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut out = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        out.extend_from_slice(&if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

const GUEST: &str = "amara.archie108_fabrikam.example#EXT#@contoso.example";
const APOSTROPHE: &str = "miriam.d'arcy43@contoso.example";
const DOLLAR: &str = "$svc-backup500@contoso.example";

// ---- every sample shape ----------------------------------------------------------------

#[test]
fn sample_csv_comma() {
    let (rows, s) = read(&sample("users-comma.csv"));
    assert_eq!(
        (s.format.shape, s.format.delimiter),
        (Shape::Csv, Some(','))
    );
    assert_eq!(s.format.encoding, Encoding::Utf8);
    assert_eq!((s.rows, s.valid, s.invalid, s.duplicates), (7, 7, 0, 0));
    assert!(keys(&rows).iter().all(|(k, _)| *k == KeyKind::Upn));
    assert_eq!(key(&rows[2]).as_str(), "diego.salazar7@contoso.example");
    assert_eq!(
        rows[2].value, "diego.salazar7@contoso.example",
        "trailing spaces trimmed"
    );
    assert_eq!(rows[1].extra("reason"), Some("new phone, same number"));
    assert_eq!(rows[6].extra("reason"), Some("said \"no MFA\" on the call"));
    assert_eq!(
        rows[0].extra,
        [
            ("ticket".to_string(), "INC-4411".to_string()),
            ("reason".to_string(), "phone replaced".to_string())
        ]
    );
    // The blank line 6 is skipped but counted: the guest is on line 7.
    assert_eq!((rows[4].line, rows[4].value.as_str()), (7, GUEST));
    assert_eq!(rows[3].value, APOSTROPHE);
    assert_eq!(rows[5].value, DOLLAR);
    assert_eq!(rows[5].upn.as_deref(), Some(DOLLAR));
    assert_eq!(
        rows.iter().map(|r| r.row).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );
}

#[test]
fn sample_csv_semicolon_with_bom() {
    let (rows, s) = read(&sample("users-semicolon.csv"));
    assert_eq!(s.format.delimiter, Some(';'));
    assert_eq!(s.format.encoding, Encoding::Utf8Bom);
    assert_eq!(s.valid, 6);
    assert_eq!(key(&rows[0]).as_str(), "chen.sherman1@contoso.example");
    assert_eq!(rows[0].extra("Reason"), Some("admin; review first"));
    assert_eq!(rows[1].extra("Reason"), Some("token lost, phone stolen"));
    assert_eq!(rows[5].value, GUEST);
}

#[test]
fn sample_unicode_text_utf16_tabs() {
    let (rows, s) = read(&sample("users-unicode-text.txt"));
    assert_eq!(s.format.encoding, Encoding::Utf16Le);
    assert_eq!(s.format.delimiter, Some('\t'));
    assert_eq!(s.valid, 4);
    assert_eq!(key(&rows[0]).as_str(), "aoife.tanaka10@contoso.example");
    assert_eq!(rows[0].extra("Note"), Some("Umzug nach Zürich"));
    assert_eq!(rows[2].extra("Note"), Some("gæst — 新しい電話"));
    assert_eq!(rows[2].line, 4);
    assert_eq!(
        rows[0]
            .extra
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["Display name", "Ticket", "Note"]
    );
}

#[test]
fn sample_entra_download_users_export() {
    let (rows, s) = read(&sample("entra-download-users.csv"));
    assert_eq!(s.by_kind.id, 7);
    assert_eq!(
        (key(&rows[0]).kind(), key(&rows[0]).as_str()),
        (KeyKind::Id, "3342c5af-74d0-4868-bd6e-d5dc7e482577")
    );
    assert_eq!(
        rows[0].upn.as_deref(),
        Some("isaiah.wilke0@contoso.example")
    );
    assert_eq!(rows[5].upn.as_deref(), Some(GUEST));
    assert_eq!(rows[0].extra("displayName"), Some("Isaiah Wilke"));
    assert_eq!(rows[2].extra("department"), Some("Sales, West"));
    // id and userPrincipalName are the key and the UPN; the other 23 columns ride along.
    assert_eq!(rows[0].extra.len(), 23);
    assert_eq!(rows[0].extra[0].0, "displayName");
    assert!(
        s.format.addressing.contains("\"id\" (object id)"),
        "{}",
        s.format
    );

    // The classic export: userPrincipalName first, the id in `objectId`.
    let (rows, _) = read_text(
        "userPrincipalName,displayName,objectId\r\nalice@contoso.example,Alice,3179E48A-750B-4051-897C-87B9720928F7\r\n",
    );
    assert_eq!(
        keys(&rows),
        [(KeyKind::Id, "3179e48a-750b-4051-897c-87b9720928f7")]
    );
    assert_eq!(rows[0].upn.as_deref(), Some("alice@contoso.example"));
}

#[test]
fn a_multi_column_bulk_templates_example_row_is_skipped_whichever_column_holds_users() {
    let (rows, s) = read_text(
        "version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required\nExample: Chris Green,chris@contoso.com\nAlice,alice@contoso.example\n",
    );
    assert!(s.format.bulk_template);
    assert_eq!(s.rows, 1, "the Example: row is not a user");
    assert_eq!(rows[0].value, "alice@contoso.example");
    assert!(
        s.notes.iter().any(|n| n.contains("line 3: skipped")),
        "{:?}",
        s.notes
    );
}

#[test]
fn sample_bulk_template() {
    let (rows, s) = read(&sample("bulk-template.csv"));
    assert!(s.format.bulk_template);
    assert_eq!(s.format.header_line, Some(2));
    assert_eq!(s.rows, 4, "the Example: row is not a user");
    assert_eq!(rows[0].line, 4);
    assert_eq!(rows[0].row, 0);
    assert!(
        s.notes.iter().any(|n| n.contains("example row")),
        "{:?}",
        s.notes
    );
    assert_eq!(rows[3].value, GUEST);
}

#[test]
fn sample_plain_list() {
    let (rows, s) = read(&sample("users.txt"));
    assert_eq!(s.format.shape, Shape::PlainList);
    assert_eq!(
        keys(&rows),
        [
            (KeyKind::Upn, "isaiah.wilke0@contoso.example"),
            (KeyKind::Id, "43789769-902c-429f-85e8-e77cda390e30"),
            (
                KeyKind::Upn,
                "megan.tanaka207_gmail.example#EXT#@contoso.example"
            ),
            (KeyKind::Upn, APOSTROPHE),
            (KeyKind::Upn, DOLLAR),
            (KeyKind::Id, "c76ce5ad-fb5d-4af8-ba04-ba4bf0272690"),
        ]
    );
    assert_eq!(
        rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [1, 2, 4, 5, 6, 7]
    );
    assert_eq!(rows[1].value, "43789769-902C-429F-85E8-E77CDA390E30");
}

#[test]
fn sample_json_array_of_strings() {
    let (rows, s) = read(&sample("users-strings.json"));
    assert_eq!(s.format.shape, Shape::Json);
    assert_eq!(
        keys(&rows)[1],
        (KeyKind::Id, "ea2414cb-87d3-498d-abf6-e034d825f4f6")
    );
    assert_eq!(keys(&rows)[2], (KeyKind::Upn, GUEST));
    assert_eq!((rows[0].line, rows[4].line), (2, 6));
}

#[test]
fn sample_json_array_of_objects() {
    let (rows, s) = read(&sample("users-objects.json"));
    assert_eq!(s.valid, 5);
    assert_eq!(key(&rows[2]).kind(), KeyKind::Id);
    assert_eq!(rows[1].extra("approvedBy"), Some("cab-2024-17"));
    assert_eq!(rows[3].extra("tags"), Some(r#"["guest","urgent"]"#));
    assert_eq!(rows[4].extra("priority"), Some("2"));
    assert_eq!(rows[0].line, 2, "an object's row is where its `{{` is");
}

#[test]
fn sample_json_lines_by_mail() {
    let (rows, s) = read(&sample("users.jsonl"));
    assert_eq!(s.format.shape, Shape::JsonLines);
    assert_eq!(s.by_kind.mail, 4);
    assert_eq!(
        keys(&rows)[2],
        (KeyKind::Mail, "amara.archie108@fabrikam.example")
    );
    assert_eq!(
        rows[2].extra("note"),
        Some("guest, addressed by the mail address")
    );
    assert_eq!(rows[3].line, 4);
}

#[test]
fn sample_graph_page() {
    let (rows, s) = read(&sample("graph-page.json"));
    assert_eq!(s.by_kind.id, 6);
    assert_eq!(rows[4].upn.as_deref(), Some(GUEST));
    assert_eq!(rows[0].extra("displayName"), Some("Isaiah Wilke"));
    assert_eq!(rows[0].extra("businessPhones"), Some("[]"));
    assert_eq!(rows[0].extra("jobTitle"), Some(""));
    assert!(rows[0].extra.iter().all(|(n, _)| !n.starts_with("@odata")));
}

#[test]
fn sample_broken() {
    let (rows, s) = read(&sample("broken.csv"));
    assert_eq!((s.rows, s.valid, s.invalid, s.duplicates), (10, 2, 7, 1));
    let status: Vec<RowStatus> = rows.iter().map(InputRow::status).collect();
    use RowStatus::*;
    assert_eq!(
        status,
        [
            Valid, Invalid, Invalid, Invalid, Invalid, Invalid, Invalid, Duplicate, Invalid, Valid
        ]
    );
    assert_eq!(rows[7].duplicate_of, Some(FirstSeen { row: 0, line: 2 }));
    assert_eq!(rows[1].value, "alice@contoso.example/../../users/x");
    assert_eq!(rows[3].extra("ticket"), Some("BRK-4"));
    assert!(problem(&rows[8]).hint.contains("object id"));
}

#[test]
fn every_sample_is_a_different_shape_and_all_but_broken_are_clean() {
    let mut shapes = std::collections::HashSet::new();
    for entry in std::fs::read_dir(sample("")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() || path.extension().is_some_and(|e| e == "md" || e == "png") {
            continue;
        }
        let (_, s) = read(&path);
        assert!(s.rows > 0, "{}", path.display());
        if !path.ends_with("broken.csv") {
            assert_eq!(s.invalid, 0, "{}", path.display());
        }
        shapes.insert(format!(
            "{:?} {:?} {:?} {}",
            s.format.shape, s.format.delimiter, s.format.encoding, s.format.bulk_template
        ));
    }
    // Three JSON samples share one shape (document); everything else differs.
    assert_eq!(shapes.len(), 8, "{shapes:?}");
}

// ---- encodings ---------------------------------------------------------------------

#[test]
fn utf8_with_and_without_bom_and_utf16_both_orders() {
    let text = "userPrincipalName\tName\r\nzoë@contoso.example\tZoë 😀\r\n";
    for (bytes, encoding) in [
        (text.as_bytes().to_vec(), Encoding::Utf8),
        (
            [&b"\xEF\xBB\xBF"[..], text.as_bytes()].concat(),
            Encoding::Utf8Bom,
        ),
        (utf16(text, false), Encoding::Utf16Le),
        (utf16(text, true), Encoding::Utf16Be),
    ] {
        let (rows, s) = read_bytes(&bytes, None);
        assert_eq!(s.format.encoding, encoding);
        assert_eq!(key(&rows[0]).as_str(), "zoë@contoso.example", "{encoding}");
        assert_eq!(rows[0].extra("Name"), Some("Zoë 😀"));
    }
}

#[test]
fn bad_encodings_are_file_errors_with_positions() {
    let err = try_bytes(b"upn,name\nalice@x,Zo\xEB\n", None).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("mem.txt:2:11: byte 0xEB is not UTF-8"),
        "{msg}"
    );
    assert!(msg.contains("CSV UTF-8"), "{msg}");

    let mut damaged = utf16("upn\r\na@x\r\n", false);
    damaged.extend_from_slice(&0xDC00u16.to_le_bytes());
    let err = try_bytes(&damaged, None).unwrap_err();
    assert!(matches!(err, InputError::Encoding { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("unpaired surrogate"));

    let no_bom: Vec<u8> = "upn\r\na@x\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let err = try_bytes(&no_bom, None).unwrap_err();
    assert!(
        err.to_string().contains("without a byte-order mark"),
        "{err}"
    );

    let err = try_bytes(b"PK\x03\x04\x14\x00\x06\x00", None).unwrap_err();
    assert!(err.to_string().contains("Excel workbook"), "{err}");
}

// ---- delimiters, headers, layout ----------------------------------------------------

#[test]
fn delimiters_are_sniffed() {
    for (text, d) in [
        ("id,upn\n3179e48a-750b-4051-897c-87b9720928f7,a@x\n", ','),
        ("id;upn\n3179e48a-750b-4051-897c-87b9720928f7;a@x\n", ';'),
        ("id\tupn\n3179e48a-750b-4051-897c-87b9720928f7\ta@x\n", '\t'),
    ] {
        let (rows, s) = read_text(text);
        assert_eq!(s.format.delimiter, Some(d));
        assert_eq!(rows[0].upn.as_deref(), Some("a@x"));
    }
    let (rows, s) = read_text("sep=;\r\nupn;note\r\na@x;b, c\r\n");
    assert_eq!(
        (s.format.delimiter, s.format.header_line),
        (Some(';'), Some(2))
    );
    assert_eq!(rows[0].extra("note"), Some("b, c"));
}

#[test]
fn headers_in_any_case_and_spelling() {
    for header in [
        "USERPRINCIPALNAME",
        "upn",
        "Upn",
        "User Principal Name",
        "userprincipalname",
    ] {
        let (rows, _) = read_text(&format!("{header},x\na@contoso.example,1\n"));
        assert_eq!(
            keys(&rows),
            [(KeyKind::Upn, "a@contoso.example")],
            "{header}"
        );
    }
    for header in ["ID", "ObjectId", "Object ID", "objectid"] {
        let (rows, _) = read_text(&format!(
            "x,{header}\n1,3179e48a-750b-4051-897c-87b9720928f7\n"
        ));
        assert_eq!(key(&rows[0]).kind(), KeyKind::Id, "{header}");
    }
    for header in ["mail", "Email", "E-Mail", "EMAIL ADDRESS"] {
        let (rows, _) = read_text(&format!("{header}\na@contoso.example\n"));
        assert_eq!(key(&rows[0]).kind(), KeyKind::Mail, "{header}");
    }
}

#[test]
fn quoted_fields_crlf_blank_lines_ragged_rows() {
    let text = "\r\nupn,note,\r\n\"a@x\",\"two\r\nlines\"\r\n,,\r\n\r\nb@x , spaced , extra,more\r\nc@x\r\n";
    let (rows, s) = read_text(text);
    assert_eq!(s.format.header_line, Some(2));
    assert_eq!(keys(&rows).len(), 3);
    assert_eq!((rows[0].line, rows[1].line, rows[2].line), (3, 7, 8));
    assert_eq!(rows[0].extra("note"), Some("two\r\nlines"));
    assert_eq!(rows[1].value, "b@x");
    assert_eq!(rows[1].extra("note"), Some("spaced"));
    assert_eq!(rows[1].extra("column 3"), Some("extra"));
    assert_eq!(rows[1].extra("column 4"), Some("more"));
    assert_eq!(rows[2].extra("note"), Some(""));
}

#[test]
fn classic_mac_line_ends() {
    let (rows, _) = read_text("upn,n\ra@x,1\rb@x,2\r");
    assert_eq!(keys(&rows).len(), 2);
    assert_eq!((rows[0].line, rows[1].line), (2, 3));
}

#[test]
fn id_first_then_upn_when_the_id_cell_is_empty() {
    let (rows, _) = read_text(
        "id,userPrincipalName,mail\n,a@x,m@x\n3179e48a-750b-4051-897c-87b9720928f7,b@x,\nnot-a-guid,c@x,\n",
    );
    assert_eq!(key(&rows[0]).as_str(), "a@x");
    assert_eq!(rows[0].extra("mail"), Some("m@x"));
    assert_eq!(key(&rows[1]).kind(), KeyKind::Id);
    assert_eq!(rows[1].upn.as_deref(), Some("b@x"));
    // A present but broken id is not silently replaced by the UPN.
    let p = problem(&rows[2]);
    assert_eq!((p.column, p.column_name.as_deref()), (1, Some("id")));
    assert_eq!(rows[2].upn.as_deref(), Some("c@x"));
}

#[test]
fn no_user_column_lists_the_headers() {
    let err = try_bytes(b"Name,Ticket\nAlice,1\n", None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("mem.txt:1: no column holds users"), "{msg}");
    assert!(
        msg.contains("\"Name\", \"Ticket\"") && msg.contains("--column"),
        "{msg}"
    );
    let InputError::NoUserColumn { headers, .. } = err else {
        panic!()
    };
    assert_eq!(headers, ["Name", "Ticket"]);

    let err = try_bytes(b"[{\"name\": \"x\"}]", None).unwrap_err();
    assert!(err.to_string().contains("\"name\""), "{err}");
}

// ---- --column ----------------------------------------------------------------------

#[test]
fn forced_column() {
    let text = "Sign-in,userPrincipalName\nalice@contoso.example,other@contoso.example\n3179e48a-750b-4051-897c-87b9720928f7,x@y\n";
    let (rows, s) = read_bytes(text.as_bytes(), Some("sign-in"));
    assert_eq!(key(&rows[0]).as_str(), "alice@contoso.example");
    assert_eq!(rows[0].upn.as_deref(), Some("alice@contoso.example"));
    assert_eq!(key(&rows[1]).kind(), KeyKind::Id);
    assert_eq!(rows[1].upn.as_deref(), Some("x@y"));
    assert!(s.format.addressing.contains("\"Sign-in\""), "{}", s.format);

    let (rows, _) = read_bytes(b"Name,Contact\nA,a@x\n", Some("contact"));
    assert_eq!(keys(&rows), [(KeyKind::Upn, "a@x")]);
    let (rows, _) = read_bytes(b"[{\"login\": \"a@x\", \"id\": \"nope\"}]", Some("login"));
    assert_eq!(keys(&rows), [(KeyKind::Upn, "a@x")]);
    assert_eq!(rows[0].extra("id"), Some("nope"));

    let err = try_bytes(b"id,upn\n", Some("login")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("there is no column \"login\""), "{msg}");
    assert!(msg.contains("\"id\", \"upn\""), "{msg}");
}

// ---- duplicates ----------------------------------------------------------------------

#[test]
fn duplicates_point_at_the_first_occurrence() {
    let text = "id,upn\n\
        3179e48a-750b-4051-897c-87b9720928f7,a@x\n\
        ,Bob@Contoso.example\n\
        3179E48A-750B-4051-897C-87B9720928F7,a@x\n\
        ,bob@contoso.EXAMPLE\n\
        ,bad value\n\
        ,bad value\n\
        ,zoë@x\n\
        ,ZOË@x\n";
    let (rows, s) = read_text(text);
    assert_eq!((s.rows, s.valid, s.invalid, s.duplicates), (8, 3, 2, 3));
    assert_eq!(rows[2].duplicate_of, Some(FirstSeen { row: 0, line: 2 }));
    assert_eq!(rows[3].duplicate_of, Some(FirstSeen { row: 1, line: 3 }));
    assert_eq!(
        rows[5].duplicate_of, None,
        "invalid rows are never duplicates"
    );
    assert_eq!(rows[7].duplicate_of, Some(FirstSeen { row: 6, line: 8 }));
    assert_eq!(rows[3].actionable(), None);
    assert!(rows[1].actionable().is_some());

    // A UPN and a mail address with the same text are different keys.
    let (rows, _) = read_text("[\"a@x\", {\"mail\": \"a@x\"}, {\"mail\": \"A@X\"}]");
    assert_eq!(rows[1].duplicate_of, None);
    assert_eq!(rows[2].duplicate_of, Some(FirstSeen { row: 1, line: 1 }));
}

#[test]
fn duplicates_across_blocks_and_rows_in_order() {
    // Far more than one block; every 7th row repeats an earlier user.
    let mut text = String::from("userPrincipalName,n\r\n");
    for i in 0..120_000 {
        let user = if i % 7 == 6 && i >= 5_000 {
            i - 5_000
        } else {
            i
        };
        text.push_str(&format!("user{user}@contoso.example,{i}\r\n"));
        if i % 1000 == 0 {
            text.push_str("\r\n");
        }
    }
    let mut chunks = 0;
    let mut rows = Vec::new();
    input::read_from(
        "big.csv",
        text.as_bytes(),
        &InputOptions::default(),
        |chunk| {
            chunks += 1;
            rows.extend(chunk);
            Ok::<(), InputError>(())
        },
    )
    .unwrap();
    assert!(chunks > 4, "{chunks} chunks");
    assert_eq!(rows.len(), 120_000);
    let mut line = 2;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.row, i);
        assert_eq!(row.extra("n"), Some(i.to_string().as_str()));
        assert_eq!(row.line, line, "row {i}");
        line += if i % 1000 == 0 { 2 } else { 1 };
        let dup = i % 7 == 6 && i >= 5_000;
        assert_eq!(row.duplicate_of.is_some(), dup, "row {i}");
        if let Some(first) = row.duplicate_of {
            assert_eq!(rows[first.row].value, row.value);
            assert_eq!(rows[first.row].line, first.line);
        }
    }
}

// ---- hostile input -------------------------------------------------------------------

const HOSTILE: [&str; 10] = [
    "alice@contoso.example/../../users/x",
    "../users/admin@contoso.example",
    "alice@contoso.example?$select=id",
    "alice@contoso.example#frag",
    "%2e%2e%2fadmin@contoso.example",
    "alice@contoso.example\\..\\x",
    "alice@contoso.example/",
    "alice@contoso.example\u{0}",
    "alice@contoso.example\u{1b}[2J",
    "a\u{2028}@contoso.example",
];

#[test]
fn keys_crafted_to_alter_a_url_are_invalid_in_every_format() {
    for (i, hostile) in HOSTILE.iter().enumerate() {
        let json = serde_json::to_string(hostile).unwrap();
        let files = [
            format!("userPrincipalName,t\n{hostile},1\n"),
            format!("{hostile}\n"),
            format!("[{json}]"),
            format!("[{{\"userPrincipalName\": {json}}}]"),
            format!("{{\"upn\": {json}}}\n{{\"upn\": \"ok@x\"}}\n"),
        ];
        for text in files {
            // `#frag` is a legal part of a guest UPN (`#EXT#`); every other one must fail.
            let (rows, _) = read_text(&text);
            if i == 3 {
                assert!(rows[0].key.is_ok());
                let k = key(&rows[0]);
                assert!(k.users_path().unwrap().contains("%23frag"), "# is encoded");
                continue;
            }
            let p = problem(&rows[0]);
            // (An invisible character, U+2028 here, is refused by name before that.)
            assert!(
                p.message.contains("would change the request's target")
                    || p.message.contains("\"..\"")
                    || p.message
                        .contains("holds the invisible character U+2028 LINE SEPARATOR"),
                "{text:?}: {}",
                p.message
            );
            assert!(!p.message.contains('\u{1b}'), "escaped in messages");
            assert!(!p.hint.is_empty());
        }
    }
}

// ---- positions in messages -------------------------------------------------------------

#[test]
fn row_problems_carry_line_and_column() {
    let (rows, _) = read_text("ticket,userPrincipalName\n1,good@x\n2,bad value\n");
    let p = problem(&rows[1]);
    assert_eq!((rows[1].line, p.column), (3, 2));
    assert_eq!(p.column_name.as_deref(), Some("userPrincipalName"));

    let (rows, _) = read_text("a@x\n   bad@@x\n");
    assert_eq!((rows[1].line, problem(&rows[1]).column), (2, 4));

    let (rows, _) =
        read_text("[\n  {\"ticket\": 1,\n   \"userPrincipalName\":  \"x y@z\"},\n  42\n]");
    let p = problem(&rows[0]);
    assert_eq!(rows[0].line, 2, "the object starts at line 2");
    assert_eq!((p.line, p.column), (3, 26), "its value at line 3");
    assert_eq!(p.column_name.as_deref(), Some("userPrincipalName"));
    let p1 = problem(&rows[1]);
    assert_eq!((rows[1].line, p1.column), (4, 3));
    assert!(p1.message.contains("found a number"), "{}", p1.message);

    let (rows, _) =
        read_text("{\"upn\": \"a@x\"}\n{\"n\": 1, \"upn\": \"b c\"}\n{\"upn\": \"c@x\",}\n");
    let p = problem(&rows[1]);
    assert_eq!((rows[1].line, p.column), (2, 17));
    let p = problem(&rows[2]);
    assert_eq!(rows[2].line, 3);
    assert!(p.message.contains("not valid JSON"), "{}", p.message);
}

#[test]
fn file_errors_name_file_line_and_column() {
    let path = write("syntax.json", "[\n  \"a@x\",\n  \"b@x\"\n  \"c@x\"\n]\n");
    let err = input::read_all(&path, &InputOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{}:4:3: invalid JSON", path.display())),
        "{msg}"
    );
    assert_eq!(err.path(), path);

    let missing = scratch("does-not-exist.csv");
    let err = input::read_all(&missing, &InputOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}: cannot read the file", missing.display()))
    );

    let empty = write("empty.csv", "");
    let err = input::read_all(&empty, &InputOptions::default()).unwrap_err();
    assert!(err.to_string().contains("the file is empty"), "{err}");
}

// ---- JSON specifics --------------------------------------------------------------------

#[test]
fn json_pages_notes_and_objects_without_users() {
    let (rows, s) = read_text(
        r#"{"@odata.context":"c","@odata.nextLink":"n","value":[{"id":"3179e48a-750b-4051-897c-87b9720928f7"},{"displayName":"x"}]}"#,
    );
    assert_eq!(rows.len(), 2);
    assert!(
        s.notes.iter().any(|n| n.contains("nextLink")),
        "{:?}",
        s.notes
    );
    let p = problem(&rows[1]);
    assert!(p.message.contains("no user property") && p.message.contains("\"displayName\""));
    assert_eq!(rows[1].extra("displayName"), Some("x"));

    let (rows, _) = read_text(r#"[{"id": 42}]"#);
    assert!(problem(&rows[0]).message.contains("holds 42"));
    let (rows, _) = read_text(r#"{"userPrincipalName": "a@x", "accountEnabled": true}"#);
    assert_eq!(keys(&rows), [(KeyKind::Upn, "a@x")]);
    assert_eq!(rows[0].extra("accountEnabled"), Some("true"));
    let (rows, _) = read_text("[]");
    assert!(rows.is_empty());
}

#[test]
fn a_large_json_array_streams_in_chunks() {
    let mut text = String::from("[\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "  {{\"userPrincipalName\": \"u{i}@x\", \"n\": {i}}},\n"
        ));
    }
    text.push_str("  \"last@x\"\n]\n");
    let mut chunks = 0;
    let mut count = 0;
    input::read_from(
        "big.json",
        text.as_bytes(),
        &InputOptions::default(),
        |rows| {
            chunks += 1;
            for r in &rows {
                assert_eq!(r.row, count);
                assert_eq!(r.line, count + 2);
                count += 1;
            }
            Ok::<(), InputError>(())
        },
    )
    .unwrap();
    assert_eq!(count, 20_001);
    assert!(chunks > 5);
}

// ---- the streaming contract ----------------------------------------------------------

#[derive(Debug, PartialEq)]
struct Stop;

impl From<InputError> for Stop {
    fn from(e: InputError) -> Stop {
        panic!("{e}")
    }
}

#[test]
fn a_failing_sink_stops_the_read() {
    let mut text = String::from("upn\n");
    for i in 0..200_000 {
        text.push_str(&format!("u{i}@x\n"));
    }
    let mut calls = 0;
    let result = input::read_from("big.csv", text.as_bytes(), &InputOptions::default(), |_| {
        calls += 1;
        if calls == 2 { Err(Stop) } else { Ok(()) }
    });
    assert_eq!(result.unwrap_err(), Stop);
    assert_eq!(calls, 2);
}

// ---- `mfa-reset check` -----------------------------------------------------------------

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn check_exit_codes_and_output() {
    let broken = sample("broken.csv");
    let broken = broken.to_str().unwrap();
    let (code, stdout, stderr) = check(&[broken]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{broken}:3:1: column \"userPrincipalName\": user key \"alice@contoso.example/../../users/x\" contains '/'"
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("{broken}:9: note: ")), "{stdout}");
    assert!(
        stdout.contains("10 rows: 2 valid users (0 by object id, 2 by UPN, 0 by mail), 7 invalid rows, 1 duplicate"),
        "{stdout}"
    );
    assert!(
        stderr.contains("7 invalid rows") && stderr.contains("--skip-invalid"),
        "{stderr}"
    );
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("{broken}:")))
            .count(),
        7 + 1 + 2
    );

    let (code, _, stderr) = check(&[broken, "--skip-invalid"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("will be left out"), "{stderr}");

    for name in [
        "users-comma.csv",
        "users-unicode-text.txt",
        "graph-page.json",
        "users.txt",
    ] {
        let (code, stdout, stderr) = check(&[sample(name).to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: {stdout}{stderr}");
        assert!(stdout.contains("read as "), "{stdout}");
    }

    let forced = write("forced.csv", "Login,Name\nalice@contoso.example,Alice\n");
    let (code, stdout, _) = check(&[forced.to_str().unwrap(), "--column", "login"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("1 valid user"), "{stdout}");
}

#[test]
fn check_file_errors_exit_2_with_a_clear_message() {
    let missing = scratch("missing.csv");
    let (code, stdout, stderr) = check(&[missing.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with(&format!(
            "mfa-reset: error: {}: cannot read the file",
            missing.display()
        )),
        "{stderr}"
    );

    let nocol = write("nocol.csv", "Name,Ticket\nAlice,1\n");
    let (code, _, stderr) = check(&[nocol.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{}:1: no column holds users", nocol.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--column"), "{stderr}");

    let (code, _, stderr) = check(&[nocol.to_str().unwrap(), "--column", "upn"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("there is no column \"upn\""), "{stderr}");

    let bad_json = write("bad.json", "[\"a@x\",,]");
    let (code, _, stderr) = check(&[bad_json.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{}:1:8: invalid JSON", bad_json.display())),
        "{stderr}"
    );

    let cp1252 = write("cp1252.csv", b"upn,name\nzoe@x,Zo\xEB\n");
    let (code, _, stderr) = check(&[cp1252.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!("{}:2:9: byte 0xEB", cp1252.display())),
        "{stderr}"
    );
}

#[test]
fn check_reads_standard_input() {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["check", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a@contoso.example\nb@contoso.example\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("2 valid users"), "{stdout}");
}

// ---- invisible characters (#20 item 5): one rule for every format ------------------------

/// The note a read gives for invisible characters removed from the edges of key cells.
fn invisible_note(s: &InputSummary) -> &str {
    s.notes
        .iter()
        .find(|n| n.contains("invisible characters"))
        .unwrap_or_else(|| panic!("no note of invisible characters: {:?}", s.notes))
}

#[test]
fn invisible_characters_at_key_edges_are_removed_with_one_note_in_every_format() {
    // A leading U+200B, a trailing U+FEFF, a trailing U+00A0, and (as Windows' "copy as
    // path" brings) U+202A … U+202C around a key; the ASCII spaces are not counted.
    let keys_in = [
        "\u{200B}alice@contoso.example",
        "bob@contoso.example\u{FEFF}",
        "carol@contoso.example\u{A0}",
        "\u{202A}dan@contoso.example\u{202C}",
        "  erin@contoso.example ",
    ];
    let expect = [
        "alice@contoso.example",
        "bob@contoso.example",
        "carol@contoso.example",
        "dan@contoso.example",
        "erin@contoso.example",
    ];
    let csv = format!("userPrincipalName,ticket\n{}", {
        let mut t = String::new();
        for (i, k) in keys_in.iter().enumerate() {
            t.push_str(&format!("{k},T-{i}\n"));
        }
        t
    });
    let plain = keys_in.join("\n");
    let strings = serde_json::to_string(&keys_in).unwrap();
    let objects = serde_json::to_string(
        &keys_in
            .iter()
            .map(|k| serde_json::json!({ "userPrincipalName": k }))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let lines = keys_in
        .iter()
        .map(|k| serde_json::to_string(k).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    // The same characters written as JSON escapes.
    let escaped = r#"["\u200balice@contoso.example", "bob@contoso.example\ufeff", "carol@contoso.example\u00a0", "\u202adan@contoso.example\u202c", "  erin@contoso.example "]"#;
    for (what, bytes, first_at) in [
        (
            "CSV",
            csv.clone().into_bytes(),
            "line 2, column 1 (\"userPrincipalName\")",
        ),
        (
            "CSV, UTF-16",
            utf16(&csv, false),
            "line 2, column 1 (\"userPrincipalName\")",
        ),
        ("plain list", plain.into_bytes(), "line 1, column 1"),
        ("JSON strings", strings.into_bytes(), "line 1, column 2"),
        (
            "JSON objects",
            objects.into_bytes(),
            "line 1, column 23 (\"userPrincipalName\")",
        ),
        ("JSON Lines", lines.into_bytes(), "line 1, column 1"),
        (
            "JSON escapes",
            escaped.as_bytes().to_vec(),
            "line 1, column 2",
        ),
    ] {
        let (rows, s) = read_bytes(&bytes, None);
        assert_eq!((s.rows, s.valid, s.invalid), (5, 5, 0), "{what}");
        for (row, want) in rows.iter().zip(expect) {
            assert_eq!(key(row).as_str(), want, "{what}");
            assert_eq!(row.value, want, "{what}");
        }
        let note = invisible_note(&s);
        assert!(
            note.contains(&format!(
                "from the edges of 4 cells naming users, first U+200B ZERO WIDTH SPACE at {first_at}, \
                 also U+FEFF ZERO WIDTH NO-BREAK SPACE (byte-order mark), U+00A0 NO-BREAK SPACE, \
                 U+202A LEFT-TO-RIGHT EMBEDDING;"
            )),
            "{what}: {note}"
        );
    }
    // Nothing removed, nothing said.
    let (_, s) = read_text("userPrincipalName\n alice@contoso.example \n");
    assert!(s.notes.is_empty(), "{:?}", s.notes);
}

#[test]
fn an_invisible_character_inside_a_key_makes_the_row_invalid_naming_it() {
    let csv = "userPrincipalName,ticket\nalice@contoso.example,T-1\nbo\u{200B}b@contoso.example,T-2\n\u{200B}ca\u{A0}rol@contoso.example,T-3\n";
    let json = "[\"alice@contoso.example\",\n \"bo\\u200bb@contoso.example\",\n {\"userPrincipalName\": \"\\u200bca\\u00a0rol@contoso.example\"}]";
    for (what, text, places) in [
        ("CSV", csv, [(3, 1), (4, 1)]),
        ("JSON", json, [(2, 2), (3, 24)]),
    ] {
        let (rows, s) = read_text(text);
        assert_eq!((s.rows, s.valid, s.invalid), (3, 1, 2), "{what}");
        let p = problem(&rows[1]);
        assert_eq!((p.line, p.column), places[0], "{what}");
        assert!(
            p.message.contains(
                "user key \"bo\\u{200b}b@contoso.example\" holds the invisible character \
                 U+200B ZERO WIDTH SPACE at character 3"
            ),
            "{what}: {}",
            p.message
        );
        assert!(p.hint.starts_with("retype the value"), "{}", p.hint);
        // The leading U+200B is removed, the NO-BREAK SPACE inside refused.
        let p = problem(&rows[2]);
        assert_eq!((p.line, p.column), places[1], "{what}");
        assert!(
            p.message
                .contains("\"ca\\u{a0}rol@contoso.example\" holds the invisible character U+00A0 NO-BREAK SPACE at character 3"),
            "{what}: {}",
            p.message
        );
    }
}

#[test]
fn a_upn_column_beside_an_id_follows_the_same_rule() {
    let id = "3179e48a-750b-4051-897c-87b9720928f7";
    let (rows, s) = read_text(&format!(
        "id,userPrincipalName\n{id},alice@contoso.example\u{A0}\n{id},al\u{AD}ice@contoso.example\n"
    ));
    assert_eq!(rows[0].upn.as_deref(), Some("alice@contoso.example"));
    assert!(invisible_note(&s).contains("first U+00A0 NO-BREAK SPACE at line 2, column 2"));
    let p = problem(&rows[1]);
    assert_eq!((p.line, p.column), (3, 2));
    assert!(
        p.message.contains(
            "UPN \"al\\u{ad}ice@contoso.example\" holds the invisible character U+00AD SOFT HYPHEN"
        ),
        "{}",
        p.message
    );
}

#[test]
fn direction_overrides_are_refused_even_at_an_edge() {
    let (rows, _) = read_text("\u{202E}moc.osotnoc@ecila\nbob@contoso.example\n");
    let p = problem(&rows[0]);
    assert!(
        p.message
            .contains("U+202E RIGHT-TO-LEFT OVERRIDE at character 1: it reverses how the text after it is shown"),
        "{}",
        p.message
    );
}

#[test]
fn check_says_invisible_characters_removed_and_refuses_them_inside() {
    let edges = write(
        "invisible-edges.csv",
        "userPrincipalName\n\u{200B}alice@contoso.example\nbob@contoso.example\u{FEFF}\ncarol@contoso.example\u{A0}\n",
    );
    let (code, out, _) = check(&[edges.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "{}: note: removed invisible characters from the edges of 3 cells naming users, first \
             U+200B ZERO WIDTH SPACE at line 2, column 1 (\"userPrincipalName\")",
            edges.display()
        )),
        "{out}"
    );
    let inside = write(
        "invisible-inside.csv",
        "userPrincipalName\nalice@contoso.example\nbo\u{200B}b@contoso.example\n",
    );
    let (code, out, err) = check(&[inside.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{}:3:1: column \"userPrincipalName\": user key \"bo\\u{{200b}}b@contoso.example\" holds \
             the invisible character U+200B ZERO WIDTH SPACE at character 3",
            inside.display()
        )),
        "{out}"
    );
}
