//! End-to-end: authentication by client certificate (`--client-ca-file`),
//! through the real `kubectl` and `curl`. A certificate signed by the client
//! CA authenticates as its subject (CN: the user, O: the groups); one signed
//! by another CA authenticates nobody (401, as kube-apiserver, whose TLS
//! only requests client certificates) and the server goes on serving; bearer
//! tokens keep working, also next to a certificate that does not verify.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{KUBECTL, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;

/// A CA whose certificate is written to `dir/<name>.crt`.
fn ca(dir: &Path, name: &str) -> Issuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
    Issuer::new(p, key)
}

/// A client certificate and key, `dir/<name>.crt` and `dir/<name>.key`,
/// for CN=`cn` and the organizations `orgs`, in order.
fn client(
    dir: &Path,
    name: &str,
    issuer: &Issuer<'static, KeyPair>,
    cn: &str,
    orgs: &[&str],
) -> (PathBuf, PathBuf) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    // rcgen keeps one value per attribute type: more Organizations go in
    // under the same OID (2.5.4.10) as a custom type.
    for (i, o) in orgs.iter().enumerate() {
        let t = if i == 0 {
            DnType::OrganizationName
        } else {
            DnType::CustomDnType(vec![2, 5, 4, 10])
        };
        assert!(i < 2, "two organizations at most");
        p.distinguished_name.push(t, *o);
    }
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    let (crt, k) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (crt, k)
}

/// A kubeconfig authenticating with a client certificate only.
fn cert_kubeconfig(s: &Server, dir: &Path, name: &str, (crt, key): &(PathBuf, PathBuf)) -> PathBuf {
    let path = dir.join(format!("{name}.kubeconfig"));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: {}\nusers:\n- name: {name}\n  user:\n    client-certificate: {}\n    client-key: {}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: {name}\ncurrent-context: c\n",
        s.url,
        s.dir.join("ca.crt").display(),
        crt.display(),
        key.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn kubectl(kubeconfig: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("60")
        .arg(KUBECTL)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .output()
        .unwrap()
}

fn whoami(out: &Output) -> (String, Vec<String>) {
    assert!(
        out.status.success(),
        "kubectl auth whoami failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let user = &v["status"]["userInfo"];
    let groups = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    (user["username"].as_str().unwrap().to_string(), groups)
}

/// curl with a client certificate (and maybe a bearer token): (status, body).
fn curl(
    s: &Server,
    cert: &(PathBuf, PathBuf),
    token: Option<&str>,
    method: &str,
    path: &str,
) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "20", "-X", method])
        .arg("--cacert")
        .arg(s.dir.join("ca.crt"))
        .arg("--cert")
        .arg(&cert.0)
        .arg("--key")
        .arg(&cert.1)
        .args(["-w", "\n%{http_code}"]);
    if let Some(t) = token {
        cmd.arg("-H").arg(format!("Authorization: Bearer {t}"));
    }
    if method == "POST" {
        cmd.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#,
        ]);
    }
    let out = cmd.arg(format!("{}{path}", s.url)).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

const REVIEWS: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

#[test]
fn client_certificates_authenticate_as_their_subject() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    let home = pki.join("home");
    let trusted = ca(pki, "client-ca");
    let other = ca(pki, "other-ca");
    let jane = client(pki, "jane", &trusted, "jane", &["devs", "qa"]);
    let mallory = client(pki, "mallory", &other, "mallory", &["system:masters"]);
    let ca_file = pki.join("client-ca.crt");
    let s = Server::start_in(
        &pki.join("data"),
        &[
            "--disable-controllers",
            "--client-ca-file",
            ca_file.to_str().unwrap(),
        ],
    );

    // kubectl with jane's certificate and no token.
    let kc = cert_kubeconfig(&s, pki, "jane", &jane);
    let (name, groups) = whoami(&kubectl(&kc, &home, &["auth", "whoami", "-o", "json"]));
    assert_eq!(name, "jane");
    assert_eq!(groups, ["devs", "qa", "system:authenticated"]);
    // The same over curl, which sends its certificate whatever CAs the
    // server names.
    let (code, body) = curl(&s, &jane, None, "POST", REVIEWS);
    assert_eq!(code, 201, "{body}");
    assert!(body.contains(r#""username":"jane""#), "{body}");

    // A certificate from another CA authenticates nobody. kubectl (Go) does
    // not even send it, as its issuer is not among those the server names.
    let kc = cert_kubeconfig(&s, pki, "mallory", &mallory);
    let out = kubectl(&kc, &home, &["auth", "whoami", "-o", "json"]);
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("mallory"));
    // curl does send it: 401, as kube-apiserver (the handshake succeeds).
    let (code, body) = curl(&s, &mallory, None, "GET", "/api/v1/namespaces");
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("Unauthorized"), "{body}");
    // A bearer token still authenticates next to it (upstream's union goes
    // on to the token authenticators).
    let (code, body) = curl(&s, &mallory, Some(&s.token), "POST", REVIEWS);
    assert_eq!(code, 201, "{body}");
    assert!(body.contains(r#""username":"ironkube-admin""#), "{body}");
    // A verified certificate comes before the token, as upstream.
    let (code, body) = curl(&s, &jane, Some(&s.token), "POST", REVIEWS);
    assert_eq!(code, 201, "{body}");
    assert!(body.contains(r#""username":"jane""#), "{body}");

    // The server goes on serving, and the admin kubeconfig (a token) works.
    let (name, groups) = whoami(&s.kubectl(&["auth", "whoami", "-o", "json"]));
    assert_eq!(name, "ironkube-admin");
    assert_eq!(groups, ["system:masters", "system:authenticated"]);
    assert!(
        s.ok(&["get", "namespaces", "-o", "name"])
            .contains("namespace/default")
    );
}

#[test]
fn without_a_client_ca_certificates_are_not_requested() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = tmp.path();
    let trusted = ca(pki, "client-ca");
    let jane = client(pki, "jane", &trusted, "jane", &["devs"]);
    let s = Server::start_in(&pki.join("data"), &["--disable-controllers"]);
    // The certificate is not asked for, so it names nobody: the request
    // has no credentials (401, or 403 for system:anonymous where anonymous
    // requests are served).
    let (code, body) = curl(&s, &jane, None, "POST", REVIEWS);
    assert!(code == 401 || code == 403, "{code} {body}");
    assert!(!body.contains("jane"), "{body}");
    let (code, body) = curl(&s, &jane, Some(&s.token), "POST", REVIEWS);
    assert_eq!(code, 201, "{body}");
    assert!(body.contains(r#""username":"ironkube-admin""#), "{body}");
}

#[test]
fn a_client_ca_file_without_certificates_stops_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_ironkube"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tmp.path().join("data"))
        .arg("--client-ca-file")
        .arg(&empty)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("client CA file"), "{err}");
}
