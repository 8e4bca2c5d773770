//! One element of a JSON user list ([`Item`]) into one row: a string is a key; an object
//! is read like a CSV row, its user property found by name (`keys::KeyPlan`) and every
//! other property carried through; anything else is an invalid row.

use std::borrow::Cow;
use std::path::Path;

use super::{Body, Field, FieldValue, Item};
use crate::graph::key::KeyKind;
use crate::input::keys::{self, KeyPlan, Want};
use crate::input::parsed::Parsed;
use crate::input::{InputError, RowProblem};

/// A value quoted in a row that could not be read: at most 200 characters.
pub(super) fn cut(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Turns one item into a row. For the file's very first item, an object without any user
/// property is a file-level error (the whole file is surely shaped that way).
pub(crate) fn item_row(
    path: &Path,
    column: Option<&str>,
    item: Item,
    first: bool,
    out: &mut Parsed,
) -> Result<(), InputError> {
    let Item {
        line,
        column: at,
        body,
    } = item;
    match body {
        Body::Text(s) => string_row(&s, line, at, out),
        Body::Other(what) => other_row(what, line, at, out),
        Body::Object(fields) => {
            let object = Object {
                fields: &fields,
                line,
                column: at,
            };
            match KeyPlan::new(fields.iter().map(|f| f.name.as_str()), column) {
                Some(plan) => object.push_row(&plan, out),
                None if first => return Err(object.no_user_column(path, column)),
                None => object.push_without_user(column, out),
            }
        }
    }
    Ok(())
}

/// A string element: an object id or a UPN.
fn string_row(s: &str, line: usize, at: usize, out: &mut Parsed) {
    let (value, removed) = keys::clean_noting(s);
    if !value.is_empty() {
        out.stripped.saw(removed, line, at, None);
    }
    let key = keys::read_key(&value, Want::Any, line, at, None);
    let upn = matches!(&key, Ok(k) if k.kind() == KeyKind::Upn).then_some(&*value);
    out.push(line, &value, key, upn);
}

/// An element that is neither a string nor an object (`what` it is): an invalid row.
fn other_row(what: &str, line: usize, at: usize, out: &mut Parsed) {
    let key = Err(RowProblem {
        line,
        column: at,
        column_name: None,
        message: format!(
            "expected a user: a string (object id or UPN) or an object with an id or \
             userPrincipalName property; found {what}"
        ),
        hint: "correct or delete this element".to_string(),
    });
    out.push(line, "", key, None);
}

/// An object element: its properties and where it starts.
struct Object<'a> {
    fields: &'a [Field],
    line: usize,
    column: usize,
}

impl Object<'_> {
    /// The property names, quoted, for messages.
    fn names(&self) -> String {
        self.fields
            .iter()
            .map(|f| format!("{:?}", f.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The file-level error for a first object without a user property.
    fn no_user_column(&self, path: &Path, column: Option<&str>) -> InputError {
        InputError::NoUserColumn {
            path: path.to_path_buf(),
            line: self.line,
            headers: self.fields.iter().map(|f| f.name.clone()).collect(),
            requested: column.map(str::to_string),
        }
    }

    /// Carries every property `plan` does not read the user from through as an extra.
    fn push_extras(&self, plan: Option<&KeyPlan>, out: &mut Parsed) {
        for (i, f) in self.fields.iter().enumerate() {
            if plan.is_some_and(|p| p.uses(i)) {
                continue;
            }
            let value = match &f.value {
                FieldValue::Text(s) => keys::trim(s),
                FieldValue::Json(j) => j,
                FieldValue::Null => "",
            };
            out.extra(&f.name, value);
        }
    }

    /// The invalid row of an object (not the file's first) without a user property, or
    /// without the `--column` one.
    fn push_without_user(&self, column: Option<&str>, out: &mut Parsed) {
        let message = match column {
            Some(c) => format!("this object has no {c:?} property; it has {}", self.names()),
            None => format!(
                "this object has no user property ({}); it has {}",
                keys::RECOGNISED,
                if self.fields.is_empty() {
                    "none".to_string()
                } else {
                    self.names()
                }
            ),
        };
        let key = Err(RowProblem {
            line: self.line,
            column: self.column,
            column_name: None,
            message,
            hint: "add the user's id or userPrincipalName, name the property that holds it with \
                   --column, or delete the element"
                .to_string(),
        });
        self.push_extras(None, out);
        out.push(self.line, "", key, None);
    }

    /// The row of an object with a user property: the first primary property with a
    /// non-empty value addresses the user.
    fn push_row(&self, plan: &KeyPlan, out: &mut Parsed) {
        let (i, want, value) = self.chosen(plan);
        let field = &self.fields[i];
        let (value, mut key) = match value {
            Ok((value, removed)) => {
                out.stripped
                    .saw(removed, field.line, field.column, Some(&field.name));
                let key = keys::read_key(&value, want, field.line, field.column, Some(&field.name));
                (value, key)
            }
            Err(json) => {
                let key = Err(not_a_key(field, &json));
                (json, key)
            }
        };
        let upn_is_key = matches!(&key, Ok(k) if k.kind() == KeyKind::Upn);
        let upn = match plan.upn {
            _ if upn_is_key => Some(Cow::Borrowed(value.as_str())),
            Some(u) if u != i => self.upn(u, &mut key, out),
            Some(_) => Some(Cow::Borrowed(value.as_str())).filter(|u| !u.is_empty()),
            None => None,
        };
        self.push_extras(Some(plan), out);
        out.push(self.line, &value, key, upn.as_deref());
    }

    /// The property that addresses the user (its index and the key it should hold) and
    /// its value: the first primary property with a non-empty string (and the first
    /// invisible character removed from its edges), `Err` with its JSON for one that
    /// holds something else; the first primary property, empty, when none has a value.
    #[allow(clippy::type_complexity)]
    fn chosen(&self, plan: &KeyPlan) -> (usize, Want, Result<(String, Option<char>), String>) {
        for &(i, want) in &plan.primary {
            match &self.fields[i].value {
                FieldValue::Text(s) => {
                    let (value, removed) = keys::clean_noting(s);
                    if !value.is_empty() {
                        return (i, want, Ok((value.into_owned(), removed)));
                    }
                }
                FieldValue::Json(j) => return (i, want, Err(j.clone())),
                FieldValue::Null => {}
            }
        }
        (
            plan.primary[0].0,
            plan.primary[0].1,
            Ok((String::new(), None)),
        )
    }

    /// The UPN property's (number `u`) value, for a row addressed by object id or mail;
    /// an invisible character inside it makes `key` a problem (`keys::read_upn_cell`).
    fn upn(
        &self,
        u: usize,
        key: &mut Result<crate::graph::key::UserKey, RowProblem>,
        out: &mut Parsed,
    ) -> Option<Cow<'_, str>> {
        let f = &self.fields[u];
        match &f.value {
            FieldValue::Text(s) => {
                keys::read_upn_cell(s, f.line, f.column, Some(&f.name), key, &mut out.stripped)
            }
            _ => None,
        }
    }
}

/// Why the user property `field`, which holds `json` (not a string), gives no key.
fn not_a_key(field: &Field, json: &str) -> RowProblem {
    RowProblem {
        line: field.line,
        column: field.column,
        column_name: Some(field.name.clone()),
        message: format!(
            "property {:?} holds {}, not a user key",
            field.name,
            cut(json)
        ),
        hint: "give the object id or UPN as a string".to_string(),
    }
}
