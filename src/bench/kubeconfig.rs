//! The part of a kubeconfig the load generator needs: the current context's
//! server, how to trust it, and how to authenticate (bearer token or client
//! certificate). A small serde parse rather than `kube::Config`, so the bytes
//! end up in our own rustls configuration.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawConfig {
    #[serde(default)]
    clusters: Vec<NamedCluster>,
    #[serde(default)]
    users: Vec<NamedUser>,
    #[serde(default)]
    contexts: Vec<NamedContext>,
    current_context: Option<String>,
}

#[derive(Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: RawCluster,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawCluster {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
}

#[derive(Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: RawUser,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
struct RawUser {
    token: Option<String>,
    token_file: Option<String>,
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
}

#[derive(Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: RawContext,
}

#[derive(Deserialize, Default)]
struct RawContext {
    cluster: Option<String>,
    user: Option<String>,
    namespace: Option<String>,
}

/// Everything needed to reach and authenticate to one API server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub server: String,
    pub ca_pem: Option<Vec<u8>>,
    pub insecure: bool,
    pub tls_server_name: Option<String>,
    pub token: Option<String>,
    pub client_cert_pem: Option<Vec<u8>>,
    pub client_key_pem: Option<Vec<u8>>,
    pub namespace: Option<String>,
}

/// `--kubeconfig`, else the first entry of `$KUBECONFIG`, else `~/.kube/config`.
pub fn default_path(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = flag {
        return Ok(p.to_path_buf());
    }
    if let Ok(v) = std::env::var("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&v).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    let home = std::env::var_os("HOME")
        .ok_or_else(|| anyhow!("no --kubeconfig, no $KUBECONFIG and no $HOME"))?;
    Ok(PathBuf::from(home).join(".kube").join("config"))
}

/// Reads and resolves a kubeconfig file (relative paths are relative to its directory).
pub fn load(path: &Path) -> Result<Target> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    parse(&text, dir).with_context(|| format!("kubeconfig {}", path.display()))
}

/// Parses kubeconfig text; file references are resolved against `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<Target> {
    let raw: RawConfig = serde_saphyr::from_str(text).context("parsing YAML")?;
    let ctx = match raw.current_context.as_deref().filter(|c| !c.is_empty()) {
        Some(name) => raw
            .contexts
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.context)
            .ok_or_else(|| anyhow!("current-context {name:?} not found"))?,
        None => match raw.contexts.first() {
            Some(c) => &c.context,
            None => &RawContext::default(),
        },
    };
    let cluster = match ctx.cluster.as_deref() {
        Some(name) => raw
            .clusters
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.cluster)
            .ok_or_else(|| anyhow!("cluster {name:?} not found"))?,
        None => raw
            .clusters
            .first()
            .map(|c| &c.cluster)
            .ok_or_else(|| anyhow!("no clusters"))?,
    };
    let default_user = RawUser::default();
    let user = match ctx.user.as_deref() {
        Some(name) => raw
            .users
            .iter()
            .find(|u| u.name == name)
            .map(|u| &u.user)
            .ok_or_else(|| anyhow!("user {name:?} not found"))?,
        None => raw.users.first().map(|u| &u.user).unwrap_or(&default_user),
    };
    let server = cluster
        .server
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("cluster has no server"))?;
    let ca_pem = data_or_file(
        cluster.certificate_authority_data.as_deref(),
        cluster.certificate_authority.as_deref(),
        dir,
        "certificate-authority",
    )?;
    let token = match (&user.token, &user.token_file) {
        (Some(t), _) if !t.is_empty() => Some(t.trim().to_string()),
        (_, Some(f)) if !f.is_empty() => {
            let p = dir.join(f);
            let t = std::fs::read_to_string(&p)
                .with_context(|| format!("reading token-file {}", p.display()))?;
            Some(t.trim().to_string())
        }
        _ => None,
    };
    let client_cert_pem = data_or_file(
        user.client_certificate_data.as_deref(),
        user.client_certificate.as_deref(),
        dir,
        "client-certificate",
    )?;
    let client_key_pem = data_or_file(
        user.client_key_data.as_deref(),
        user.client_key.as_deref(),
        dir,
        "client-key",
    )?;
    if client_cert_pem.is_some() != client_key_pem.is_some() {
        bail!("client-certificate and client-key must be given together");
    }
    Ok(Target {
        server: server.trim_end_matches('/').to_string(),
        ca_pem,
        insecure: cluster.insecure_skip_tls_verify.unwrap_or(false),
        tls_server_name: cluster.tls_server_name.clone().filter(|s| !s.is_empty()),
        token,
        client_cert_pem,
        client_key_pem,
        namespace: ctx.namespace.clone().filter(|s| !s.is_empty()),
    })
}

/// A `*-data` field (base64) wins over its file field, as in client-go.
fn data_or_file(
    data: Option<&str>,
    file: Option<&str>,
    dir: &Path,
    what: &str,
) -> Result<Option<Vec<u8>>> {
    if let Some(d) = data.filter(|d| !d.is_empty()) {
        let compact: String = d.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .with_context(|| format!("{what}-data is not base64"))?;
        return Ok(Some(bytes));
    }
    if let Some(f) = file.filter(|f| !f.is_empty()) {
        let p = dir.join(f);
        let bytes = std::fs::read(&p).with_context(|| format!("reading {what} {}", p.display()))?;
        return Ok(Some(bytes));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn token_and_ca_data_from_the_current_context() {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster:\n    server: https://other:1\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n    certificate-authority-data: {}\nusers:\n- name: u\n  user:\n    token: abc\ncontexts:\n- name: x\n  context:\n    cluster: other\n    user: u\n- name: ctx\n  context:\n    cluster: c\n    user: u\n    namespace: ns1\ncurrent-context: ctx\npreferences: {{}}\n",
            b64("CA PEM")
        );
        let t = parse(&text, Path::new("/nonexistent")).expect("parse");
        assert_eq!(t.server, "https://127.0.0.1:6443");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA PEM"[..]));
        assert_eq!(t.token.as_deref(), Some("abc"));
        assert_eq!(t.namespace.as_deref(), Some("ns1"));
        assert!(!t.insecure);
        assert!(t.client_cert_pem.is_none());
    }

    #[test]
    fn client_certificates_from_data_and_files_and_token_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.crt"), "CA").expect("write");
        std::fs::write(dir.path().join("tok"), "secret\n").expect("write");
        let text = format!(
            "clusters:\n- name: c\n  cluster:\n    server: https://k:443\n    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes\nusers:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n    token-file: tok\ncontexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n",
            b64("CERT"),
            b64("KEY")
        );
        let t = parse(&text, dir.path()).expect("parse");
        assert_eq!(t.ca_pem.as_deref(), Some(&b"CA"[..]));
        assert!(t.insecure);
        assert_eq!(t.tls_server_name.as_deref(), Some("kubernetes"));
        assert_eq!(t.client_cert_pem.as_deref(), Some(&b"CERT"[..]));
        assert_eq!(t.client_key_pem.as_deref(), Some(&b"KEY"[..]));
        assert_eq!(t.token.as_deref(), Some("secret"));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let e = parse(
            "clusters: []\ncontexts:\n- name: a\n  context: {cluster: c}\ncurrent-context: b\n",
            Path::new("."),
        )
        .expect_err("missing context");
        assert!(format!("{e:#}").contains("current-context"));
        let e = parse(
            "clusters:\n- name: c\n  cluster:\n    server: https://x\n    certificate-authority-data: '%%%'\n",
            Path::new("."),
        )
        .expect_err("bad base64");
        assert!(format!("{e:#}").contains("base64"));
        let e = parse(
            "clusters:\n- name: c\n  cluster:\n    server: https://x\nusers:\n- name: u\n  user:\n    client-certificate-data: QQ==\n",
            Path::new("."),
        )
        .expect_err("cert without key");
        assert!(format!("{e:#}").contains("together"));
    }
}
