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

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use thiserror::Error;

/// A Microsoft cloud: which Entra and Graph deployment the tenant lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Cloud {
    /// The worldwide service (also GCC moderate tenants).
    #[default]
    #[value(name = "global")]
    Global,
    /// US Government L4 (GCC High).
    #[value(name = "usgov")]
    Usgov,
    /// US Government L5 (DoD).
    #[value(name = "usgov-dod")]
    UsgovDod,
    /// Microsoft Azure operated by 21Vianet (China).
    #[value(name = "china")]
    China,
}

impl Cloud {
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
fn parse_root(flag: Flag, value: &str) -> Result<String, EndpointError> {
    let name = flag.name();
    let example = flag.example();
    if value.is_empty() {
        return Err(EndpointError::Empty {
            flag: name,
            example,
        });
    }
    if let Some(ch) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(EndpointError::BadChar {
            flag: name,
            value: shown(value),
            ch,
            example,
        });
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(EndpointError::NotAUrl {
            flag: name,
            value: shown(value),
            example,
        });
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(EndpointError::Scheme {
            flag: name,
            value: shown(value),
            scheme,
            example,
        });
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(EndpointError::Userinfo {
            flag: name,
            value: shown(value),
        });
    }

    let port_error = |reason: String| EndpointError::Port {
        flag: name,
        value: shown(value),
        reason,
    };
    let host_error = |reason: String| EndpointError::Host {
        flag: name,
        value: shown(value),
        reason,
        example,
    };

    // Host and port.
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((literal, after)) = bracketed.split_once(']') else {
            return Err(host_error("an IPv6 address lacks its closing ']'".into()));
        };
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err(host_error(format!(
                "[{literal}] is not an IPv6 address (zone ids are not supported)"
            )));
        }
        let port = match after {
            "" => None,
            p => match p.strip_prefix(':') {
                Some(p) => Some(p),
                None => {
                    return Err(host_error(format!(
                        "unexpected {after:?} after the IPv6 address"
                    )));
                }
            },
        };
        (format!("[{}]", literal.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err(host_error(
                "an IPv6 address must be written in brackets, e.g. http://[::1]:8080".into(),
            ));
        }
        if host.is_empty() {
            return Err(host_error("the host is empty".into()));
        }
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(host_error(format!(
                "{bad:?} is not allowed in a host name (write international names in their \
                 xn-- form)"
            )));
        }
        if host.starts_with('.') || host.contains("..") {
            return Err(host_error(format!("{host:?} has an empty label")));
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        None => None,
        Some("") => return Err(port_error("nothing follows the ':'".into())),
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(port_error(format!("{p:?} is not a number")));
        }
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(port_error(format!("{p} is out of range"))),
            Ok(n) => Some(n),
        },
    };
    let root = match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };

    if let Some(i) = tail.find(['?', '#']) {
        return Err(EndpointError::QueryOrFragment {
            flag: name,
            value: shown(value),
            what: if tail[i..].starts_with('?') {
                "'?…'"
            } else {
                "'#…'"
            },
            suggestion: root,
        });
    }
    if !tail.is_empty() && tail != "/" {
        return Err(EndpointError::Path {
            flag: name,
            value: shown(value),
            path: tail.to_string(),
            suggestion: root,
            adds: flag.adds(),
        });
    }
    if scheme == "http" && !is_loopback(&host) {
        return Err(EndpointError::PlainHttp {
            flag: name,
            value: shown(value),
            host,
        });
    }
    Ok(root)
}

/// Bytes percent-encoded in the tenant segment of the token URL: everything outside RFC
/// 3986 `pchar`, so that a tenant name stays one path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

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
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn ok(cloud: Cloud, login: Option<&str>, graph: Option<&str>) -> Endpoints {
        Endpoints::new(cloud, login, graph).unwrap_or_else(|e| panic!("{e}"))
    }

    fn graph_err(url: &str) -> EndpointError {
        Endpoints::new(Cloud::Global, None, Some(url)).unwrap_err()
    }

    fn login_err(url: &str) -> EndpointError {
        Endpoints::new(Cloud::Global, Some(url), None).unwrap_err()
    }

    #[test]
    fn clouds_have_their_published_hosts_and_scopes() {
        let e = ok(Cloud::Global, None, None);
        assert_eq!(e.login(), "https://login.microsoftonline.com");
        assert_eq!(e.graph(), "https://graph.microsoft.com");
        assert_eq!(e.scope(), "https://graph.microsoft.com/.default");

        let e = ok(Cloud::Usgov, None, None);
        assert_eq!(e.login(), "https://login.microsoftonline.us");
        assert_eq!(e.graph(), "https://graph.microsoft.us");
        assert_eq!(e.scope(), "https://graph.microsoft.us/.default");

        let e = ok(Cloud::UsgovDod, None, None);
        assert_eq!(e.login(), "https://login.microsoftonline.us");
        assert_eq!(e.graph(), "https://dod-graph.microsoft.us");
        assert_eq!(e.scope(), "https://dod-graph.microsoft.us/.default");

        let e = ok(Cloud::China, None, None);
        assert_eq!(e.login(), "https://login.chinacloudapi.cn");
        assert_eq!(e.graph(), "https://microsoftgraph.chinacloudapi.cn");
        assert_eq!(
            e.scope(),
            "https://microsoftgraph.chinacloudapi.cn/.default"
        );

        for cloud in Cloud::value_variants() {
            assert_eq!(Endpoints::for_cloud(*cloud), ok(*cloud, None, None));
            assert_eq!(cloud.scope(), format!("{}/.default", cloud.graph_url()));
        }
        assert_eq!(Endpoints::default(), Endpoints::for_cloud(Cloud::Global));
    }

    #[test]
    fn cloud_value_names() {
        let names: Vec<String> = Cloud::value_variants()
            .iter()
            .map(|c| c.to_possible_value().unwrap().get_name().to_string())
            .collect();
        assert_eq!(names, ["global", "usgov", "usgov-dod", "china"]);
        for c in Cloud::value_variants() {
            assert_eq!(c.to_string(), c.to_possible_value().unwrap().get_name());
            assert_eq!(Cloud::from_str(c.as_str(), false), Ok(*c));
        }
        assert_eq!(Cloud::default(), Cloud::Global);
    }

    #[test]
    fn urls() {
        let e = ok(Cloud::Global, None, None);
        assert_eq!(
            e.token_url("contoso.onmicrosoft.com"),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            e.graph_root(ApiVersion::V1),
            "https://graph.microsoft.com/v1.0"
        );
        assert_eq!(
            e.graph_root(ApiVersion::Beta),
            "https://graph.microsoft.com/beta"
        );
        assert_eq!(ApiVersion::V1.as_str(), "v1.0");
        assert_eq!(ApiVersion::Beta.to_string(), "beta");
        // A tenant cannot add path segments to the token URL.
        assert_eq!(
            e.token_url("a/../b?c#d"),
            "https://login.microsoftonline.com/a%2F..%2Fb%3Fc%23d/oauth2/v2.0/token"
        );
        assert_eq!(
            e.token_url(".."),
            "https://login.microsoftonline.com/%2E%2E/oauth2/v2.0/token"
        );
    }

    #[test]
    fn overrides_replace_hosts_but_not_the_scope() {
        let e = ok(
            Cloud::Usgov,
            Some("http://127.0.0.1:8080/"),
            Some("http://127.0.0.1:8080"),
        );
        assert_eq!(e.login(), "http://127.0.0.1:8080");
        assert_eq!(e.graph(), "http://127.0.0.1:8080");
        assert_eq!(e.scope(), "https://graph.microsoft.us/.default");
        assert_eq!(
            e.token_url("sim"),
            "http://127.0.0.1:8080/sim/oauth2/v2.0/token"
        );
        assert_eq!(e.graph_root(ApiVersion::Beta), "http://127.0.0.1:8080/beta");

        let e = ok(
            Cloud::Global,
            None,
            Some("https://graph-proxy.corp.example:8443/"),
        );
        assert_eq!(e.graph(), "https://graph-proxy.corp.example:8443");
        assert_eq!(e.login(), "https://login.microsoftonline.com");
        assert_eq!(e.scope(), "https://graph.microsoft.com/.default");
    }

    #[test]
    fn scheme_and_host_are_normalised() {
        let e = ok(
            Cloud::Global,
            Some("HTTPS://Login.MicrosoftOnline.COM/"),
            None,
        );
        assert_eq!(e.login(), "https://login.microsoftonline.com");
    }

    #[test]
    fn plain_http_only_to_loopback() {
        for url in [
            "http://127.0.0.1",
            "http://127.0.0.1:8080",
            "http://127.1.2.3:9",
            "http://localhost:3000",
            "http://LOCALHOST",
            "http://[::1]:8080",
            "http://[::1]",
            "http://[::ffff:127.0.0.1]:80",
        ] {
            assert!(
                Endpoints::new(Cloud::Global, Some(url), Some(url)).is_ok(),
                "{url}"
            );
        }
        for url in [
            "http://graph.microsoft.com",
            "http://10.0.0.1:8080",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "http://0.0.0.0:8080",
            "http://127.1",
        ] {
            let e = graph_err(url);
            assert!(matches!(e, EndpointError::PlainHttp { .. }), "{url}: {e}");
            let msg = e.to_string();
            assert!(msg.starts_with("--graph-url value"), "{msg}");
            assert!(msg.contains("use https://"), "{msg}");
            assert!(matches!(
                login_err(url),
                EndpointError::PlainHttp {
                    flag: "--login-url",
                    ..
                }
            ));
        }
        // https is fine anywhere.
        assert!(Endpoints::new(Cloud::Global, None, Some("https://10.0.0.1:8443")).is_ok());
        assert!(Endpoints::new(Cloud::Global, None, Some("https://[2001:db8::1]")).is_ok());
    }

    #[test]
    fn a_path_is_refused_with_the_root_to_use() {
        let e = graph_err("https://graph.microsoft.com/v1.0");
        assert!(matches!(e, EndpointError::Path { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("--graph-url"), "{msg}");
        assert!(msg.contains("\"/v1.0\""), "{msg}");
        assert!(msg.contains("e.g. https://graph.microsoft.com "), "{msg}");
        assert!(msg.contains("adds /v1.0 or /beta itself"), "{msg}");

        let msg =
            login_err("https://login.microsoftonline.com/contoso/oauth2/v2.0/token").to_string();
        assert!(msg.contains("--login-url"), "{msg}");
        assert!(msg.contains("oauth2/v2.0/token itself"), "{msg}");

        for url in [
            "https://x.example//",
            "https://x.example/beta/",
            "http://[::1]:1/a",
        ] {
            assert!(
                matches!(graph_err(url), EndpointError::Path { .. }),
                "{url}"
            );
        }
    }

    #[test]
    fn query_and_fragment_are_refused() {
        for url in [
            "https://graph.microsoft.com?x=1",
            "https://graph.microsoft.com/?x=1",
            "https://graph.microsoft.com#frag",
            "https://graph.microsoft.com/#",
        ] {
            let e = graph_err(url);
            assert!(
                matches!(e, EndpointError::QueryOrFragment { .. }),
                "{url}: {e}"
            );
            assert!(e.to_string().contains("give the service root only"), "{e}");
        }
        // The query itself is not echoed (it might carry a code or key).
        let msg = graph_err("https://proxy.example/?key=hunter2").to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn credentials_are_refused_and_not_echoed() {
        for url in [
            "https://user:hunter2@graph.example",
            "https://hunter2@graph.example/",
            "http://user:hunter2@127.0.0.1:8080",
        ] {
            let e = graph_err(url);
            assert!(matches!(e, EndpointError::Userinfo { .. }), "{url}: {e}");
            let msg = e.to_string();
            assert!(!msg.contains("hunter2"), "{msg}");
            assert!(
                msg.contains("***@graph.example") || msg.contains("***@127.0.0.1"),
                "{msg}"
            );
        }
        // An '@' after the authority is a path, not credentials.
        assert!(matches!(
            graph_err("https://graph.example/a@b"),
            EndpointError::Path { .. }
        ));
    }

    #[test]
    fn other_schemes_are_refused() {
        for url in [
            "ftp://graph.example",
            "file:///etc/passwd",
            "ws://127.0.0.1",
        ] {
            assert!(
                matches!(graph_err(url), EndpointError::Scheme { .. }),
                "{url}"
            );
        }
        for url in ["graph.microsoft.com", "127.0.0.1:8080", "https:/x.example"] {
            assert!(
                matches!(graph_err(url), EndpointError::NotAUrl { .. }),
                "{url}"
            );
        }
    }

    #[test]
    fn hosts_and_ports_are_checked() {
        for url in [
            "https://",
            "https:///",
            "https://:443",
            "https://graph..example",
            "https://.graph.example",
            "https://gräph.example",
            "https://graph%2eexample",
            "https://[::1",
            "https://[not-v6]",
            "https://[fe80::1%25eth0]",
            "https://[::1]x",
            "https://::1",
            "https://fe80::1:8080",
        ] {
            assert!(
                matches!(graph_err(url), EndpointError::Host { .. }),
                "{url}: {}",
                graph_err(url)
            );
        }
        for url in [
            "https://graph.example:",
            "https://graph.example:http",
            "https://graph.example:0",
            "https://graph.example:65536",
            "https://graph.example:+443",
            "http://[::1]:",
        ] {
            assert!(
                matches!(graph_err(url), EndpointError::Port { .. }),
                "{url}: {}",
                graph_err(url)
            );
        }
        assert_eq!(
            ok(Cloud::Global, None, Some("https://graph.example:65535")).graph(),
            "https://graph.example:65535"
        );
        assert_eq!(
            ok(Cloud::Global, None, Some("http://[0:0:0:0:0:0:0:1]:8080/")).graph(),
            "http://[0:0:0:0:0:0:0:1]:8080"
        );
    }

    #[test]
    fn whitespace_control_and_empty_are_refused() {
        assert!(matches!(graph_err(""), EndpointError::Empty { .. }));
        assert!(
            login_err("")
                .to_string()
                .starts_with("--login-url is empty")
        );
        for url in [
            " https://graph.example",
            "https://graph.example ",
            "https://graph.example\n",
            "https://graph\u{0}.example",
        ] {
            assert!(
                matches!(graph_err(url), EndpointError::BadChar { .. }),
                "{url:?}"
            );
        }
    }

    #[test]
    fn shown_masks_credentials_and_query() {
        assert_eq!(shown("https://a:b@h/x?y"), "https://***@h/x?…");
        assert_eq!(shown("https://h/a@b"), "https://h/a@b");
        assert_eq!(shown("h@x"), "***@x");
        assert_eq!(shown("https://h#frag"), "https://h#…");
    }
}
