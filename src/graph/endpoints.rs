//! Where mfa-reset sends its requests: the national cloud (`--cloud`), its login and Graph
//! hosts, and the `--login-url` / `--graph-url` overrides that point the tool at a proxy
//! or the emulator.
//!
//! An [`Endpoints`] is built once from the command line and validated before any request:
//! an override must be a bare service root (`scheme://host[:port]`, optional trailing
//! slash), with no path, version, query, fragment or credentials, over `https://` — plain
//! `http://` only to a loopback host (`127.0.0.0/8`, `::1`, `localhost`), so that a token
//! can never cross a network unencrypted. The token scope always names the cloud's own
//! Graph resource (`https://graph.microsoft.com/.default` and its national twins), even
//! when `--graph-url` points elsewhere: a proxy or the emulator stands in for Graph, it
//! does not change the audience of the token.
//!
//! Hosts per cloud follow Microsoft's national-cloud deployments page, as summarised in
//! `reference/graph-api.md` §8.5.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use percent_encoding::utf8_percent_encode;
use thiserror::Error;

// The tenant segment of the token URL is encoded as a user key's path segment is: everything
// outside RFC 3986 `pchar`, so that a tenant name stays one path segment.
use super::key::SEGMENT;

/// A Microsoft cloud: which Entra and Graph deployment the tenant lives in. `--cloud`
/// names it by [`Cloud::as_str`] (the flag itself is parsed in `cli::args::values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cloud {
    /// The worldwide service (also GCC moderate tenants).
    #[default]
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// Microsoft Azure operated by 21Vianet (China).
    China,
}

impl Cloud {
    /// Every cloud, in the order `--help` lists them.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::UsgovDod, Cloud::China];

    /// The value `--cloud` takes for this cloud.
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::UsgovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    /// The Entra token service root.
    pub fn login_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The Microsoft Graph service root (also the token's resource).
    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The client-credentials scope: the Graph resource + `/.default`.
    pub fn scope(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com/.default",
            Cloud::Usgov => "https://graph.microsoft.us/.default",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us/.default",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/.default",
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Graph API version root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ApiVersion {
    #[default]
    V1,
    Beta,
}

impl ApiVersion {
    /// `"v1.0"` or `"beta"`, as the path spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `--login-url` or `--graph-url` value was refused. Every message names the flag,
/// the value (credentials and query masked) and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EndpointError {
    #[error("{flag} is empty; give a service root such as {example}, or leave the flag out")]
    Empty {
        flag: &'static str,
        example: &'static str,
    },

    #[error(
        "{flag} value {value:?} contains {what}; give a service root such as {example}",
        what = describe(*.ch)
    )]
    BadChar {
        flag: &'static str,
        value: String,
        ch: char,
        example: &'static str,
    },

    #[error(
        "{flag} value {value:?} is not a URL: it must start with https:// (or http:// to a \
         loopback address), e.g. {example}"
    )]
    NotAUrl {
        flag: &'static str,
        value: String,
        example: &'static str,
    },

    #[error(
        "{flag} value {value:?} uses the scheme {scheme:?}; only https:// (and http:// to a \
         loopback address) is supported, e.g. {example}"
    )]
    Scheme {
        flag: &'static str,
        value: String,
        scheme: String,
        example: &'static str,
    },

    #[error(
        "{flag} value {value:?} uses plain http:// to {host}, which is not a loopback address; \
         use https:// (plain http:// is allowed only to 127.0.0.0/8, [::1] or localhost)"
    )]
    PlainHttp {
        flag: &'static str,
        value: String,
        host: String,
    },

    #[error(
        "{flag} value {value:?} contains credentials (user:password@); remove them: \
         mfa-reset authenticates with a token, and a secret never belongs on the command line"
    )]
    Userinfo { flag: &'static str, value: String },

    #[error(
        "{flag} value {value:?} has a query or fragment ({what}); give the service root only, e.g. {suggestion}"
    )]
    QueryOrFragment {
        flag: &'static str,
        value: String,
        what: &'static str,
        suggestion: String,
    },

    #[error(
        "{flag} value {value:?} has the path {path:?}; give the service root only, e.g. \
         {suggestion} ({adds})"
    )]
    Path {
        flag: &'static str,
        value: String,
        path: String,
        suggestion: String,
        adds: &'static str,
    },

    #[error(
        "{flag} value {value:?} has an invalid host: {reason}; give a service root such as {example}"
    )]
    Host {
        flag: &'static str,
        value: String,
        reason: String,
        example: &'static str,
    },

    #[error("{flag} value {value:?} has an invalid port: {reason}; give a port from 1 to 65535")]
    Port {
        flag: &'static str,
        value: String,
        reason: String,
    },
}

fn describe(ch: char) -> String {
    if ch == ' ' {
        "a space".to_string()
    } else if ch.is_whitespace() {
        format!("the whitespace character {}", ch.escape_unicode())
    } else {
        format!("the control character {}", ch.escape_unicode())
    }
}

/// Which override is being read, for messages.
#[derive(Clone, Copy)]
enum Flag {
    Login,
    Graph,
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Flag::Login => "--login-url",
            Flag::Graph => "--graph-url",
        }
    }

    fn example(self) -> &'static str {
        match self {
            Flag::Login => "https://login.microsoftonline.com",
            Flag::Graph => "https://graph.microsoft.com",
        }
    }

    fn adds(self) -> &'static str {
        match self {
            Flag::Login => "mfa-reset adds /{tenant}/oauth2/v2.0/token itself",
            Flag::Graph => "mfa-reset adds /v1.0 or /beta itself",
        }
    }
}

/// The value as a message may show it: credentials before an `@` in the authority masked,
/// a query or fragment cut off.
fn shown(value: &str) -> String {
    let cut = value.find(['?', '#']).unwrap_or(value.len());
    let mut out = value[..cut].to_string();
    let authority_start = out.find("://").map_or(0, |i| i + 3);
    let authority_end = out[authority_start..]
        .find('/')
        .map_or(out.len(), |i| authority_start + i);
    if let Some(at) = out[authority_start..authority_end].rfind('@') {
        out.replace_range(authority_start..authority_start + at, "***");
    }
    if cut < value.len() {
        out.push_str(&value[cut..cut + 1]);
        out.push('…');
    }
    out
}

/// True for a URL (`scheme://host[:port]/…`) whose host never leaves the machine.
pub fn is_loopback_url(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    is_loopback(host)
}

/// True for hosts that never leave the machine.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Ok(v4) = host.parse::<Ipv4Addr>() {
        return v4.is_loopback();
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'))
        && let Ok(v6) = inner.parse::<Ipv6Addr>()
    {
        return v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback());
    }
    false
}

/// Reads an override: `scheme://host[:port][/]`, returned normalised (scheme and host
/// lower-case, no trailing slash).
///
/// The checks run in this order, and the first that fails is the error: the text itself
/// (empty, whitespace, controls), the scheme, credentials, the host, the port, anything
/// after the authority, and last plain `http://` to a host that is not loopback.
fn parse_root(flag: Flag, value: &str) -> Result<String, EndpointError> {
    let given = Given { flag, value };
    given.check_characters()?;
    let (scheme, rest) = given.scheme()?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(EndpointError::Userinfo {
            flag: flag.name(),
            value: shown(value),
        });
    }
    let (host, port) = given.host_and_port(authority)?;
    let port = given.port(port)?;
    let root = match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    given.check_tail(tail, &root)?;
    if scheme == "http" && !is_loopback(&host) {
        return Err(EndpointError::PlainHttp {
            flag: flag.name(),
            value: shown(value),
            host,
        });
    }
    Ok(root)
}

/// An override being read: which flag, and its value as given (errors show it masked).
#[derive(Clone, Copy)]
struct Given<'a> {
    flag: Flag,
    value: &'a str,
}

impl<'a> Given<'a> {
    /// Refuses an empty value, and one holding whitespace or a control character.
    fn check_characters(self) -> Result<(), EndpointError> {
        let (flag, example) = (self.flag.name(), self.flag.example());
        if self.value.is_empty() {
            return Err(EndpointError::Empty { flag, example });
        }
        match self
            .value
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            Some(ch) => Err(EndpointError::BadChar {
                flag,
                value: shown(self.value),
                ch,
                example,
            }),
            None => Ok(()),
        }
    }

    /// Splits `scheme://rest`, the scheme lower-cased; only `https` and `http` pass.
    fn scheme(self) -> Result<(String, &'a str), EndpointError> {
        let (flag, example) = (self.flag.name(), self.flag.example());
        let Some((scheme, rest)) = self.value.split_once("://") else {
            return Err(EndpointError::NotAUrl {
                flag,
                value: shown(self.value),
                example,
            });
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(EndpointError::Scheme {
                flag,
                value: shown(self.value),
                scheme,
                example,
            });
        }
        Ok((scheme, rest))
    }

    /// The host of `authority` (lower-case; an IPv6 literal in brackets) and the port text
    /// after its `:`, if any.
    fn host_and_port(self, authority: &'a str) -> Result<(String, Option<&'a str>), EndpointError> {
        match authority.strip_prefix('[') {
            Some(bracketed) => self.ipv6_host(bracketed),
            None => self.named_host(authority),
        }
    }

    /// `[literal]` or `[literal]:port`, the opening bracket already taken off.
    fn ipv6_host(self, bracketed: &'a str) -> Result<(String, Option<&'a str>), EndpointError> {
        let Some((literal, after)) = bracketed.split_once(']') else {
            return Err(self.host_error("an IPv6 address lacks its closing ']'".into()));
        };
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err(self.host_error(format!(
                "[{literal}] is not an IPv6 address (zone ids are not supported)"
            )));
        }
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(
                        self.host_error(format!("unexpected {after:?} after the IPv6 address"))
                    );
                }
            },
        };
        Ok((format!("[{}]", literal.to_ascii_lowercase()), port))
    }

    /// A host name or IPv4 address, with or without `:port`.
    fn named_host(self, authority: &'a str) -> Result<(String, Option<&'a str>), EndpointError> {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err(self.host_error(
                "an IPv6 address must be written in brackets, e.g. http://[::1]:8080".into(),
            ));
        }
        if host.is_empty() {
            return Err(self.host_error("the host is empty".into()));
        }
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(self.host_error(format!(
                "{bad:?} is not allowed in a host name (write international names in their \
                 xn-- form)"
            )));
        }
        if host.starts_with('.') || host.contains("..") {
            return Err(self.host_error(format!("{host:?} has an empty label")));
        }
        Ok((host.to_ascii_lowercase(), port))
    }

    /// The port after the `:`: digits only, 1 to 65535.
    fn port(self, port: Option<&str>) -> Result<Option<u16>, EndpointError> {
        match port {
            None => Ok(None),
            Some("") => Err(self.port_error("nothing follows the ':'".into())),
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
                Err(self.port_error(format!("{p:?} is not a number")))
            }
            Some(p) => match p.parse::<u16>() {
                Ok(0) | Err(_) => Err(self.port_error(format!("{p} is out of range"))),
                Ok(n) => Ok(Some(n)),
            },
        }
    }

    /// Refuses anything after the authority but a single `/`: a query or fragment, or a
    /// path; either error suggests `root` instead.
    fn check_tail(self, tail: &str, root: &str) -> Result<(), EndpointError> {
        if let Some(i) = tail.find(['?', '#']) {
            return Err(EndpointError::QueryOrFragment {
                flag: self.flag.name(),
                value: shown(self.value),
                what: if tail[i..].starts_with('?') {
                    "'?…'"
                } else {
                    "'#…'"
                },
                suggestion: root.to_string(),
            });
        }
        if !tail.is_empty() && tail != "/" {
            return Err(EndpointError::Path {
                flag: self.flag.name(),
                value: shown(self.value),
                path: tail.to_string(),
                suggestion: root.to_string(),
                adds: self.flag.adds(),
            });
        }
        Ok(())
    }

    fn host_error(self, reason: String) -> EndpointError {
        EndpointError::Host {
            flag: self.flag.name(),
            value: shown(self.value),
            reason,
            example: self.flag.example(),
        }
    }

    fn port_error(self, reason: String) -> EndpointError {
        EndpointError::Port {
            flag: self.flag.name(),
            value: shown(self.value),
            reason,
        }
    }
}

/// The login and Graph service roots a run talks to, and the token scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    login: String,
    graph: String,
    scope: String,
}

impl Endpoints {
    /// The endpoints of `cloud`, with its hosts replaced by `login_url` / `graph_url` when
    /// given (the values of `--login-url` / `--graph-url`, service roots without a path).
    pub fn new(
        cloud: Cloud,
        login_url: Option<&str>,
        graph_url: Option<&str>,
    ) -> Result<Endpoints, EndpointError> {
        let login = match login_url {
            Some(url) => parse_root(Flag::Login, url)?,
            None => cloud.login_url().to_string(),
        };
        let graph = match graph_url {
            Some(url) => parse_root(Flag::Graph, url)?,
            None => cloud.graph_url().to_string(),
        };
        Ok(Endpoints {
            login,
            graph,
            scope: cloud.scope().to_string(),
        })
    }

    /// The endpoints of `cloud` as Microsoft publishes them.
    pub fn for_cloud(cloud: Cloud) -> Endpoints {
        Endpoints {
            login: cloud.login_url().to_string(),
            graph: cloud.graph_url().to_string(),
            scope: cloud.scope().to_string(),
        }
    }

    /// The login service root, without a trailing slash.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The Graph service root, without a trailing slash or version.
    pub fn graph(&self) -> &str {
        &self.graph
    }

    /// The client-credentials scope: always the cloud's Graph resource + `/.default`.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The v2.0 token endpoint of `tenant` (a tenant id or domain, validated by the caller),
    /// percent-encoded so that it stays one path segment whatever it holds.
    pub fn token_url(&self, tenant: &str) -> String {
        let segment = match tenant {
            "." => "%2E".to_string(),
            ".." => "%2E%2E".to_string(),
            t => utf8_percent_encode(t, SEGMENT).to_string(),
        };
        format!("{}/{segment}/oauth2/v2.0/token", self.login)
    }

    /// The Graph version root: `{graph}/v1.0` or `{graph}/beta`.
    pub fn graph_root(&self, version: ApiVersion) -> String {
        format!("{}/{}", self.graph, version.as_str())
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints::for_cloud(Cloud::Global)
    }
}

#[cfg(test)]
mod tests;
