//! A small model of Graph's published schema (OData CSDL), enough to check a request
//! against it: entity types with their `BaseType` chain, enum types, entity sets, bound
//! actions; and [`Csdl::check`], which takes one request (method, version, relative URL,
//! JSON body) and either accepts it or says exactly which part does not exist.
//!
//! The schema read is `tests/data/graph-v1.0-authentication.csdl.xml`, an extract of
//! `schemas/v1.0-Prod.csdl` in the public repository microsoftgraph/msgraph-metadata (the
//! commit is named in the file's opening comment). To refresh it, take the newer
//! `v1.0-Prod.csdl`, keep the same elements (the `user`, `authentication`,
//! `authenticationMethod` and every type deriving from it, `directoryObject`,
//! `directoryRole`, `entity`, the enums they use, the `revokeSignInSessions` action and the
//! `users`/`directoryRoles` entity sets), drop annotations, and update the comment's commit.
//!
//! The checker only knows the forms mfa-reset sends, and refuses anything else rather than
//! accept what it does not understand: it is a test of the tool's requests, not an OData
//! implementation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

/// A type reference as the CSDL writes it, `Collection(graph.x)` or `graph.x`, reduced to
/// the type's short name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    pub name: String,
    pub collection: bool,
}

impl TypeRef {
    fn parse(text: &str) -> TypeRef {
        let (inner, collection) = match text
            .strip_prefix("Collection(")
            .and_then(|t| t.strip_suffix(')'))
        {
            Some(inner) => (inner, true),
            None => (text, false),
        };
        TypeRef {
            name: short_name(inner).to_string(),
            collection,
        }
    }
}

/// `graph.user` and `microsoft.graph.user` are both `user`; `Edm.String` stays as it is.
fn short_name(qualified: &str) -> &str {
    qualified
        .strip_prefix("microsoft.graph.")
        .or_else(|| qualified.strip_prefix("graph."))
        .unwrap_or(qualified)
}

/// One `EntityType`, with only what it declares itself (see [`Csdl::properties`] for the
/// inherited view).
#[derive(Debug, Clone, Default)]
pub struct EntityType {
    pub base: Option<String>,
    pub is_abstract: bool,
    pub properties: BTreeSet<String>,
    pub navigation: BTreeMap<String, TypeRef>,
}

/// One bound `Action`.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: String,
    /// The type of its binding parameter.
    pub binding: TypeRef,
    /// Its other parameters: the body's properties.
    pub parameters: BTreeSet<String>,
}

/// The schema.
#[derive(Debug, Clone, Default)]
pub struct Csdl {
    pub entity_types: BTreeMap<String, EntityType>,
    pub enum_types: BTreeSet<String>,
    /// Entity set name → its entity type.
    pub entity_sets: BTreeMap<String, String>,
    pub actions: Vec<Action>,
}

/// Where a walk along a URL path stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// An entity set or a collection-valued navigation property, of this element type.
    Collection { ty: String, from_set: bool },
    /// One entity; `by_navigation` when reached through a navigation property (so that
    /// `$ref` may follow).
    Entity { ty: String, by_navigation: bool },
    /// A bound action: the path ends here.
    Action(String),
    /// `$ref` of an entity: the path ends here.
    Ref,
}

impl Csdl {
    /// Reads a CSDL file; panics (this is test support) with the reason when it cannot.
    pub fn load(path: &Path) -> Csdl {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Csdl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Csdl, String> {
        let doc = roxmltree::Document::parse(text).map_err(|e| e.to_string())?;
        let mut csdl = Csdl::default();
        let attr = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<String, String> {
            node.attribute(name)
                .map(str::to_string)
                .ok_or_else(|| format!("a <{}> has no {name}", node.tag_name().name()))
        };
        for node in doc.descendants().filter(roxmltree::Node::is_element) {
            match node.tag_name().name() {
                "EntityType" => {
                    let mut ty = EntityType {
                        base: node
                            .attribute("BaseType")
                            .map(|b| short_name(b).to_string()),
                        is_abstract: node.attribute("Abstract") == Some("true"),
                        ..EntityType::default()
                    };
                    for child in node.children().filter(roxmltree::Node::is_element) {
                        match child.tag_name().name() {
                            "Property" => {
                                ty.properties.insert(attr(child, "Name")?);
                            }
                            "NavigationProperty" => {
                                ty.navigation.insert(
                                    attr(child, "Name")?,
                                    TypeRef::parse(&attr(child, "Type")?),
                                );
                            }
                            _ => {}
                        }
                    }
                    csdl.entity_types.insert(attr(node, "Name")?, ty);
                }
                "EnumType" => {
                    csdl.enum_types.insert(attr(node, "Name")?);
                }
                "EntitySet" => {
                    csdl.entity_sets.insert(
                        attr(node, "Name")?,
                        short_name(&attr(node, "EntityType")?).to_string(),
                    );
                }
                "Action" if node.attribute("IsBound") == Some("true") => {
                    let mut parameters = node
                        .children()
                        .filter(|c| c.has_tag_name("Parameter"))
                        .map(|c| Ok((attr(c, "Name")?, attr(c, "Type")?)))
                        .collect::<Result<Vec<_>, String>>()?
                        .into_iter();
                    let (_, binding) = parameters
                        .next()
                        .ok_or_else(|| "a bound action has no binding parameter".to_string())?;
                    csdl.actions.push(Action {
                        name: attr(node, "Name")?,
                        binding: TypeRef::parse(&binding),
                        parameters: parameters.map(|(name, _)| name).collect(),
                    });
                }
                _ => {}
            }
        }
        Ok(csdl)
    }

    /// `ty` and its base types, nearest first; stops at a type outside the schema.
    fn chain<'a>(&'a self, ty: &str) -> impl Iterator<Item = (&'a str, &'a EntityType)> + use<'a> {
        let mut next = self.entity_types.get_key_value(ty);
        std::iter::from_fn(move || {
            let (name, entity) = next?;
            next = entity
                .base
                .as_deref()
                .and_then(|base| self.entity_types.get_key_value(base));
            Some((name.as_str(), entity))
        })
    }

    /// Whether `ty` is `base` or derives from it.
    pub fn derives_from(&self, ty: &str, base: &str) -> bool {
        self.chain(ty).any(|(name, _)| name == base)
    }

    /// The structural properties of `ty`, inherited ones included.
    pub fn properties(&self, ty: &str) -> BTreeSet<&str> {
        self.chain(ty)
            .flat_map(|(_, e)| e.properties.iter().map(String::as_str))
            .collect()
    }

    /// The navigation property `name` of `ty` or of a base type.
    pub fn navigation(&self, ty: &str, name: &str) -> Option<&TypeRef> {
        self.chain(ty).find_map(|(_, e)| e.navigation.get(name))
    }

    /// The action `name` bound to a single `ty` (or to one of its base types).
    fn bound_action(&self, ty: &str, name: &str) -> Option<&Action> {
        self.actions.iter().find(|a| {
            a.name == name && !a.binding.collection && self.derives_from(ty, &a.binding.name)
        })
    }

    /// Every entity type deriving (directly or not) from `base`, `base` excluded.
    pub fn derived_types(&self, base: &str) -> Vec<&str> {
        self.entity_types
            .keys()
            .map(String::as_str)
            .filter(|t| *t != base && self.derives_from(t, base))
            .collect()
    }

    /// Checks one request: `version` (`v1.0` or `beta`), `url` relative to the version
    /// root with its query, `body` as sent. `Err` names the part that the schema does not
    /// have, or the form the checker does not understand.
    pub fn check(
        &self,
        method: &str,
        version: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(), String> {
        if version != "v1.0" {
            return Err(format!(
                "{method} {url}: version {version:?} cannot be checked against the v1.0 schema"
            ));
        }
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let at = self
            .walk(method, path)
            .map_err(|e| format!("{method} {url}: {e}"))?;
        self.check_method(method, &at, body)
            .and_then(|()| self.check_query(method, &at, query))
            .map_err(|e| format!("{method} {url}: {e}"))
    }

    /// Walks `path` from its entity set to what it addresses.
    fn walk(&self, method: &str, path: &str) -> Result<At, String> {
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| format!("the path {path:?} does not start with '/'"))?;
        let mut segments = rest.split('/');
        let first = segments.next().unwrap_or_default();
        // `users('key')`: the set and its key in one segment.
        let (set, keyed) = match first.split_once('(') {
            Some((set, key)) if key.ends_with(')') && key.len() > 1 => (set, true),
            Some(_) => return Err(format!("the segment {first:?} is not a key form")),
            None => (first, false),
        };
        let ty = self
            .entity_sets
            .get(set)
            .ok_or_else(|| format!("{set:?} is not an entity set of the schema"))?;
        let mut at = if keyed {
            At::Entity {
                ty: ty.clone(),
                by_navigation: false,
            }
        } else {
            At::Collection {
                ty: ty.clone(),
                from_set: true,
            }
        };
        for segment in segments {
            if segment.is_empty() {
                return Err("the path has an empty segment".into());
            }
            at = match at {
                At::Action(name) => {
                    return Err(format!(
                        "{segment:?} follows the action {name:?}, which ends a path"
                    ));
                }
                At::Ref => return Err(format!("{segment:?} follows $ref, which ends a path")),
                At::Collection { ty, from_set } => {
                    if let Some(cast) = segment.strip_prefix("microsoft.graph.") {
                        self.cast(&ty, cast)?;
                        At::Collection {
                            ty: cast.to_string(),
                            from_set,
                        }
                    } else if segment.starts_with('$') || segment.contains('(') {
                        return Err(format!(
                            "{segment:?} is not a key of the collection of {ty}"
                        ));
                    } else {
                        // A key.
                        At::Entity {
                            ty,
                            by_navigation: !from_set,
                        }
                    }
                }
                At::Entity { ty, by_navigation } => {
                    if segment == "$ref" {
                        if !by_navigation {
                            return Err(format!(
                                "$ref follows a {ty} not reached through a navigation property"
                            ));
                        }
                        At::Ref
                    } else if let Some(cast) = segment.strip_prefix("microsoft.graph.") {
                        self.cast(&ty, cast)?;
                        At::Entity {
                            ty: cast.to_string(),
                            by_navigation,
                        }
                    } else if let Some(nav) = self.navigation(&ty, segment) {
                        if !self.entity_types.contains_key(&nav.name) {
                            return Err(format!(
                                "{ty}.{segment} is of type {}, which is not in the schema extract",
                                nav.name
                            ));
                        }
                        if nav.collection {
                            At::Collection {
                                ty: nav.name.clone(),
                                from_set: false,
                            }
                        } else {
                            At::Entity {
                                ty: nav.name.clone(),
                                by_navigation: true,
                            }
                        }
                    } else if let Some(action) = self.bound_action(&ty, segment) {
                        if method != "POST" {
                            return Err(format!(
                                "the action {segment:?} is called with POST, not {method}"
                            ));
                        }
                        At::Action(action.name.clone())
                    } else {
                        return Err(format!(
                            "{segment:?} is neither a navigation property of {ty} nor an action bound to it"
                        ));
                    }
                }
            };
        }
        Ok(at)
    }

    /// A cast from `from` to `to`: `to` must exist and derive from `from`.
    fn cast(&self, from: &str, to: &str) -> Result<(), String> {
        if !self.entity_types.contains_key(to) {
            return Err(format!(
                "the cast to \"microsoft.graph.{to}\" names no entity type of the schema"
            ));
        }
        if !self.derives_from(to, from) {
            return Err(format!(
                "the cast to \"microsoft.graph.{to}\" names a type that does not derive from {from}"
            ));
        }
        Ok(())
    }

    /// What `method` may do with what the path addresses, and the body's properties.
    fn check_method(&self, method: &str, at: &At, body: Option<&Value>) -> Result<(), String> {
        let no_body = |what: &str| match body {
            None => Ok(()),
            Some(_) => Err(format!("{what} carries no body")),
        };
        match (method, at) {
            ("GET", At::Collection { .. } | At::Entity { .. }) => no_body("a GET"),
            ("DELETE", At::Entity { ty, by_navigation }) => {
                if !by_navigation {
                    // Deleting a user or a directory role: not something mfa-reset does.
                    return Err(format!(
                        "DELETE of a whole {ty} is not a request mfa-reset sends"
                    ));
                }
                no_body("a DELETE")
            }
            ("DELETE", At::Ref) => no_body("a DELETE of $ref"),
            ("PATCH", At::Entity { ty, .. }) => self.check_body(ty, body, "PATCH"),
            (
                "POST",
                At::Collection {
                    ty,
                    from_set: false,
                },
            ) => {
                if self.entity_types.get(ty).is_some_and(|t| t.is_abstract) {
                    return Err(format!("{ty} is abstract: nothing of it can be created"));
                }
                self.check_body(ty, body, "POST")
            }
            ("POST", At::Action(name)) => {
                let action = self
                    .actions
                    .iter()
                    .find(|a| &a.name == name)
                    .expect("the walk found it");
                let object = body
                    .and_then(Value::as_object)
                    .ok_or_else(|| format!("the action {name:?} takes a JSON object body"))?;
                match object.keys().find(|k| !action.parameters.contains(*k)) {
                    Some(k) => Err(format!("{k:?} is not a parameter of the action {name:?}")),
                    None => Ok(()),
                }
            }
            (method, at) => Err(format!("{method} is not checked on {at:?}")),
        }
    }

    /// A PATCH or create body: a JSON object whose every name is a structural property of
    /// `ty`.
    fn check_body(&self, ty: &str, body: Option<&Value>, method: &str) -> Result<(), String> {
        let object = body
            .and_then(Value::as_object)
            .ok_or_else(|| format!("a {method} of {ty} needs a JSON object body"))?;
        if object.is_empty() {
            return Err(format!("a {method} of {ty} with an empty body"));
        }
        let properties = self.properties(ty);
        match object.keys().find(|k| !properties.contains(k.as_str())) {
            Some(k) => Err(format!("the body's {k:?} is not a property of {ty}")),
            None => Ok(()),
        }
    }

    /// `$select`, `$filter`, `$expand` and `$top`, only on a GET.
    fn check_query(&self, method: &str, at: &At, query: &str) -> Result<(), String> {
        if query.is_empty() {
            return Ok(());
        }
        let (ty, collection) = match (method, at) {
            ("GET", At::Collection { ty, .. }) => (ty, true),
            ("GET", At::Entity { ty, .. }) => (ty, false),
            _ => return Err(format!("a query on a {method} of {at:?} is not checked")),
        };
        let properties = self.properties(ty);
        let navigation = |name: &str| self.navigation(ty, name).is_some();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "$select" => {
                    for p in value.split(',') {
                        if !properties.contains(p) && !navigation(p) {
                            return Err(format!("$select names {p:?}, not a property of {ty}"));
                        }
                    }
                }
                "$expand" => {
                    for p in value.split(',') {
                        if !navigation(p) {
                            return Err(format!(
                                "$expand names {p:?}, not a navigation property of {ty}"
                            ));
                        }
                    }
                }
                "$filter" if collection => {
                    for p in filter_properties(&value)? {
                        if !properties.contains(p.as_str()) {
                            return Err(format!("$filter names {p:?}, not a property of {ty}"));
                        }
                    }
                }
                "$top" if collection => {
                    if value.parse::<u32>().map_or(true, |n| n == 0) {
                        return Err(format!("$top={value} is not a positive count"));
                    }
                }
                other => {
                    return Err(format!(
                        "the query option {other:?} is not one the checker knows here"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The property names of a `$filter` of the forms mfa-reset sends: `p eq 'v'`,
/// `p in ('a', 'b')`, joined with `and`/`or`, optionally parenthesised. Anything else is
/// an error.
pub fn filter_properties(filter: &str) -> Result<Vec<String>, String> {
    let tokens = tokenize(filter)?;
    let mut names = Vec::new();
    let mut at = 0;
    parse_or(&tokens, &mut at, &mut names)?;
    if at != tokens.len() {
        return Err(format!("$filter {filter:?}: unexpected {:?}", tokens[at]));
    }
    Ok(names)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal,
    Open,
    Close,
    Comma,
}

fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                // A string literal; '' is a quote inside it.
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                        None => return Err(format!("$filter {filter:?}: an unclosed literal")),
                    }
                }
                tokens.push(Token::Literal);
            }
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(format!(
                    "$filter {filter:?}: unexpected character {other:?}"
                ));
            }
        }
    }
    Ok(tokens)
}

fn parse_or(tokens: &[Token], at: &mut usize, names: &mut Vec<String>) -> Result<(), String> {
    parse_term(tokens, at, names)?;
    while let Some(Token::Word(w)) = tokens.get(*at)
        && (w == "and" || w == "or")
    {
        *at += 1;
        parse_term(tokens, at, names)?;
    }
    Ok(())
}

fn parse_term(tokens: &[Token], at: &mut usize, names: &mut Vec<String>) -> Result<(), String> {
    match tokens.get(*at) {
        Some(Token::Open) => {
            *at += 1;
            parse_or(tokens, at, names)?;
            expect(tokens, at, &Token::Close)
        }
        Some(Token::Word(property)) => {
            names.push(property.clone());
            *at += 1;
            match tokens.get(*at) {
                Some(Token::Word(op)) if op == "eq" => {
                    *at += 1;
                    expect(tokens, at, &Token::Literal)
                }
                Some(Token::Word(op)) if op == "in" => {
                    *at += 1;
                    expect(tokens, at, &Token::Open)?;
                    expect(tokens, at, &Token::Literal)?;
                    while tokens.get(*at) == Some(&Token::Comma) {
                        *at += 1;
                        expect(tokens, at, &Token::Literal)?;
                    }
                    expect(tokens, at, &Token::Close)
                }
                other => Err(format!(
                    "$filter: after {property:?} expected eq or in, found {other:?}"
                )),
            }
        }
        other => Err(format!("$filter: expected a property, found {other:?}")),
    }
}

fn expect(tokens: &[Token], at: &mut usize, wanted: &Token) -> Result<(), String> {
    if tokens.get(*at) == Some(wanted) {
        *at += 1;
        Ok(())
    } else {
        Err(format!(
            "$filter: expected {wanted:?}, found {:?}",
            tokens.get(*at)
        ))
    }
}
