//! Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-<key>`
//! headers make a request act as someone else, each part authorized with
//! the `impersonate` verb for the real requester first.
//!
//! Upstream: `apiserver/pkg/endpoints/filters/impersonation.go`.

use http::HeaderMap;

use super::AppState;
use crate::apimachinery::status::ApiError;
use crate::apimachinery::validation::go_quote;
use crate::auth::UserInfo;
use crate::auth::rbac::Attributes;

/// One thing the requester asks to act as (upstream's ObjectReference
/// kinds `ServiceAccount`, `User`, `Group`, `UserExtra`, `UID`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
    Extra { key: String, value: String },
    Uid(String),
}

impl Target {
    /// What the requester must be allowed to `impersonate`.
    fn attributes(&self, requester: &UserInfo) -> Attributes {
        let mut a = Attributes {
            user: requester.clone(),
            verb: "impersonate".into(),
            resource_request: true,
            ..Default::default()
        };
        match self {
            Target::ServiceAccount { namespace, name } => {
                a.api_version = "v1".into();
                a.resource = "serviceaccounts".into();
                a.namespace = namespace.clone();
                a.name = name.clone();
            }
            Target::User(n) => {
                a.api_version = "v1".into();
                a.resource = "users".into();
                a.name = n.clone();
            }
            Target::Group(n) => {
                a.api_version = "v1".into();
                a.resource = "groups".into();
                a.name = n.clone();
            }
            Target::Extra { key, value } => {
                a.api_group = "authentication.k8s.io".into();
                a.api_version = "v1".into();
                a.resource = "userextras".into();
                a.subresource = key.clone();
                a.name = value.clone();
            }
            Target::Uid(u) => {
                a.api_group = "authentication.k8s.io".into();
                a.api_version = "v1".into();
                a.resource = "uids".into();
                a.name = u.clone();
            }
        }
        a
    }
}

fn go_strings(list: &[&str]) -> String {
    let items: Vec<String> = list.iter().map(|s| go_quote(s)).collect();
    format!("[]string{{{}}}", items.join(", "))
}

/// `%#v` of the `user.DefaultInfo` the headers ask for, as upstream's
/// refusal of groups, extras or a uid without a user prints it.
fn go_user_info(targets: &[Target]) -> String {
    let mut groups = Vec::new();
    let mut extra: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut uid = "";
    for t in targets {
        match t {
            Target::Group(g) => groups.push(g.as_str()),
            Target::Extra { key, value } => extra.entry(key).or_default().push(value),
            Target::Uid(u) => uid = u,
            _ => {}
        }
    }
    let groups = if groups.is_empty() {
        "[]string(nil)".to_string()
    } else {
        go_strings(&groups)
    };
    let extra = if extra.is_empty() {
        "map[string][]string(nil)".to_string()
    } else {
        let items: Vec<String> = extra
            .iter()
            .map(|(k, v)| format!("{}:{}", go_quote(k), go_strings(v)))
            .collect();
        format!("map[string][]string{{{}}}", items.join(", "))
    };
    format!(
        "&user.DefaultInfo{{Name:\"\", UID:{}, Groups:{groups}, Extra:{extra}}}",
        go_quote(uid)
    )
}

/// A DNS-1123 label (namespace names, `ValidateNamespaceName`).
fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain (service account names).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `serviceaccount.SplitUsername`.
fn split_service_account(user: &str) -> Option<(String, String)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let mut parts = rest.split(':');
    let (ns, name) = (parts.next()?, parts.next()?);
    if parts.next().is_some() || !is_dns_label(ns) || !is_dns_subdomain(name) {
        return None;
    }
    Some((ns.to_string(), name.to_string()))
}

/// `unescapeExtraKey`: extra keys are percent-encoded in header names.
fn unescape_extra_key(key: &str) -> String {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        // Upstream keeps the key as it was if it does not unescape.
        if bytes[i] == b'%' {
            return key.to_string();
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| key.to_string())
}

const USER: &str = "impersonate-user";
const GROUP: &str = "impersonate-group";
const UID: &str = "impersonate-uid";
const EXTRA: &str = "impersonate-extra-";

/// `buildImpersonationRequests`: what the headers ask for, in upstream's
/// order (user, groups, extras, uid). Groups, extras or a uid without a
/// user are a 400 naming the user they would make.
fn targets(headers: &HeaderMap) -> Result<Vec<Target>, ApiError> {
    let mut out = Vec::new();
    let user = headers
        .get(USER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let has_user = !user.is_empty();
    if has_user {
        out.push(match split_service_account(&user) {
            Some((namespace, name)) => Target::ServiceAccount { namespace, name },
            None => Target::User(user),
        });
    }
    let mut others = false;
    for g in headers.get_all(GROUP) {
        others = true;
        out.push(Target::Group(
            String::from_utf8_lossy(g.as_bytes()).into_owned(),
        ));
    }
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix(EXTRA) {
            others = true;
            out.push(Target::Extra {
                key: unescape_extra_key(key),
                value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            });
        }
    }
    if let Some(uid) = headers.get(UID).filter(|v| !v.is_empty()) {
        others = true;
        out.push(Target::Uid(
            String::from_utf8_lossy(uid.as_bytes()).into_owned(),
        ));
    }
    if others && !has_user {
        return Err(ApiError::bad_request(format!(
            "requested {} without impersonating a user name",
            go_user_info(&out)
        )));
    }
    Ok(out)
}

/// The user the request acts as: `requester` itself without impersonation
/// headers, else the impersonated user once every part is allowed.
pub async fn impersonate(
    state: &AppState,
    requester: UserInfo,
    headers: &HeaderMap,
) -> Result<UserInfo, ApiError> {
    let targets = targets(headers)?;
    if targets.is_empty() {
        return Ok(requester);
    }
    let groups_given = headers.contains_key(GROUP);
    let mut user = UserInfo::default();
    for t in &targets {
        super::authz::require(state, &t.attributes(&requester)).await?;
        match t {
            Target::ServiceAccount { namespace, name } => {
                user.name = format!("system:serviceaccount:{namespace}:{name}");
                if !groups_given {
                    user.groups = vec![
                        "system:serviceaccounts".into(),
                        format!("system:serviceaccounts:{namespace}"),
                    ];
                }
            }
            Target::User(n) => user.name = n.clone(),
            Target::Group(g) => user.groups.push(g.clone()),
            Target::Extra { key, value } => user
                .extra
                .entry(key.clone())
                .or_default()
                .push(value.clone()),
            Target::Uid(u) => user.uid = u.clone(),
        }
    }
    if user.name != "system:anonymous" {
        if !user
            .groups
            .iter()
            .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
        {
            user.groups.push("system:authenticated".into());
        }
    } else if !user.groups.iter().any(|g| g == "system:unauthenticated") {
        user.groups.push("system:unauthenticated".into());
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn targets_in_upstream_order() {
        let t = targets(&headers(&[
            ("Impersonate-Group", "a"),
            ("Impersonate-User", "system:serviceaccount:ns:sa"),
            ("Impersonate-Extra-Scopes", "view"),
            ("Impersonate-Extra-Acme.com%2Fproject", "p1"),
            ("Impersonate-Uid", "u-1"),
        ]))
        .unwrap();
        assert_eq!(
            t,
            vec![
                Target::ServiceAccount {
                    namespace: "ns".into(),
                    name: "sa".into()
                },
                Target::Group("a".into()),
                Target::Extra {
                    key: "scopes".into(),
                    value: "view".into()
                },
                Target::Extra {
                    key: "acme.com/project".into(),
                    value: "p1".into()
                },
                Target::Uid("u-1".into()),
            ]
        );
        // An invalid service-account name is a plain user.
        let t = targets(&headers(&[(
            "Impersonate-User",
            "system:serviceaccount:NS:sa",
        )]))
        .unwrap();
        assert_eq!(t, vec![Target::User("system:serviceaccount:NS:sa".into())]);
        assert!(targets(&HeaderMap::new()).unwrap().is_empty());
    }

    #[test]
    fn groups_without_a_user_are_refused() {
        // Upstream's answers, taken from kube-apiserver v1.36.
        let e = targets(&headers(&[("Impersonate-Group", "devs")])).unwrap_err();
        assert_eq!(e.code, 400);
        assert_eq!(
            e.message,
            "requested &user.DefaultInfo{Name:\"\", UID:\"\", Groups:[]string{\"devs\"}, Extra:map[string][]string(nil)} without impersonating a user name"
        );
        let e = targets(&headers(&[
            ("Impersonate-Group", "devs"),
            ("Impersonate-Extra-Foo", "x"),
            ("Impersonate-Uid", "u1"),
        ]))
        .unwrap_err();
        assert_eq!(
            e.message,
            "requested &user.DefaultInfo{Name:\"\", UID:\"u1\", Groups:[]string{\"devs\"}, Extra:map[string][]string{\"foo\":[]string{\"x\"}}} without impersonating a user name"
        );
    }

    #[test]
    fn service_account_names() {
        assert_eq!(
            split_service_account("system:serviceaccount:default:builder"),
            Some(("default".into(), "builder".into()))
        );
        assert_eq!(split_service_account("system:serviceaccount:default"), None);
        assert_eq!(split_service_account("system:serviceaccount:a:b:c"), None);
        assert_eq!(split_service_account("jane"), None);
    }
}
