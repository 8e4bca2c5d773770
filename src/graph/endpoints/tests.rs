//! Tests of [`Endpoints`]: each cloud's published hosts and scope, the URLs built from them,
//! and every way a `--login-url` / `--graph-url` override is accepted, normalised or refused
//! (with the flag named and secrets never echoed).

use super::*;

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

    for cloud in Cloud::ALL {
        assert_eq!(Endpoints::for_cloud(cloud), ok(cloud, None, None));
        assert_eq!(cloud.scope(), format!("{}/.default", cloud.graph_url()));
    }
    assert_eq!(Endpoints::default(), Endpoints::for_cloud(Cloud::Global));
}

#[test]
fn cloud_value_names() {
    // How `--cloud` spells each cloud (the flag's parsing is tested in cli::args::values).
    let names: Vec<&str> = Cloud::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names, ["global", "usgov", "usgov-dod", "china"]);
    for c in Cloud::ALL {
        assert_eq!(c.to_string(), c.as_str());
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

    let msg = login_err("https://login.microsoftonline.com/contoso/oauth2/v2.0/token").to_string();
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
