//! Which tenant a credential is for: the id its access token names (the `tid` claim, read
//! without trusting the token for anything else: Graph checks it), and, where the app may
//! read `/organization`, the organisation's id, name and default domain. A plan records
//! it, the reports show it, and `apply` and `resume` refuse a plan made for another
//! tenant.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::preflight::{Answered, Preflight, PreflightError};
use super::request::GraphRequest;

/// A tenant as far as the credential and Graph tell it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantIdentity {
    /// The directory (tenant) id, lower-case.
    pub id: String,
    /// The organisation's name, when the app may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The default verified domain, when the app may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<String>,
}

impl TenantIdentity {
    /// Whether `self` and `other` are the same tenant (by id).
    pub fn same_as(&self, other: &TenantIdentity) -> bool {
        self.id.eq_ignore_ascii_case(&other.id)
    }
}

impl fmt::Display for TenantIdentity {
    /// `Contoso (contoso.com, tenant 72f988bf-…)`, or `tenant 72f988bf-…` alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.display_name, &self.default_domain) {
            (Some(name), Some(domain)) => write!(f, "{name} ({domain}, tenant {})", self.id),
            (Some(name), None) => write!(f, "{name} (tenant {})", self.id),
            (None, Some(domain)) => write!(f, "{domain} (tenant {})", self.id),
            (None, None) => write!(f, "tenant {}", self.id),
        }
    }
}

/// The `tid` claim of `token` when it is a JWT naming a tenant by GUID; `None` for an
/// opaque token.
pub fn tid_claim(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let tid = claims.get("tid")?.as_str()?;
    is_guid(tid).then(|| tid.to_ascii_lowercase())
}

/// Whether `s` is a GUID (a tenant's id, not a domain).
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The tenant the client's credential is for: the token's `tid`, completed (or, for an
/// opaque token, found) by `/organization` where the app may read it. `None` when neither
/// tells. Only a refused credential or an unreachable Graph is an error.
pub async fn read(preflight: &Preflight<'_>) -> Result<Option<TenantIdentity>, PreflightError> {
    let token = preflight.client().tokens().token().await.ok();
    let tid = token.and_then(|t| tid_claim(t.secret().expose()));
    let organization = match preflight.ask(&GraphRequest::organization()).await? {
        Answered::Body(Some(body)) => body["value"].as_array().and_then(|v| v.first()).cloned(),
        Answered::Body(None) | Answered::Refused(_) => None,
    };
    let Some(id) = tid.or_else(|| {
        organization
            .as_ref()
            .and_then(|o| o["id"].as_str())
            .filter(|id| is_guid(id))
            .map(str::to_ascii_lowercase)
    }) else {
        return Ok(None);
    };
    let mut identity = TenantIdentity {
        id,
        display_name: None,
        default_domain: None,
    };
    // The organisation read with the token's credential is the token's tenant; one that
    // says otherwise is not taken for its name.
    if let Some(org) = organization.filter(|o| {
        o["id"]
            .as_str()
            .is_some_and(|id| id.eq_ignore_ascii_case(&identity.id))
    }) {
        identity.display_name = org["displayName"].as_str().map(str::to_string);
        identity.default_domain = org["verifiedDomains"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["isDefault"].as_bool() == Some(true))
            .and_then(|d| d["name"].as_str())
            .map(str::to_string);
    }
    Ok(Some(identity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn the_tid_claim_is_read_from_a_jwt_and_nothing_else_is_taken_for_one() {
        assert_eq!(
            tid_claim(&jwt(
                r#"{"tid":"72F988BF-86F1-41AF-91AB-2D7CD011DB47","aud":"x"}"#
            ))
            .as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(tid_claim(&jwt(r#"{"tid":"contoso.com"}"#)), None);
        assert_eq!(tid_claim(&jwt(r#"{"aud":"x"}"#)), None);
        assert_eq!(tid_claim("an-opaque-token"), None);
        assert_eq!(tid_claim("a.b!.c"), None);
    }

    #[test]
    fn a_tenant_reads_with_its_name_and_domain_when_known() {
        let mut t = TenantIdentity {
            id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            display_name: None,
            default_domain: None,
        };
        assert_eq!(t.to_string(), "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47");
        t.display_name = Some("Contoso".into());
        t.default_domain = Some("contoso.com".into());
        assert_eq!(
            t.to_string(),
            "Contoso (contoso.com, tenant 72f988bf-86f1-41af-91ab-2d7cd011db47)"
        );
    }
}
