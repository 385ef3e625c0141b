//! Authentication by client certificate: kube-apiserver's `--client-ca-file`
//! (upstream `staging/src/k8s.io/apiserver/pkg/authentication/request/x509`
//! with `CommonNameUserConversion`).
//!
//! As upstream (`secure_serving.go` sets Go's `tls.RequestClientCert`), the
//! TLS server only *requests* a client certificate: the handshake proves the
//! client holds the certificate's key and nothing more. Whether the
//! certificate verifies against the client CA, for client authentication, is
//! the authenticator's decision, made once per connection here
//! ([`ClientCa::authenticate`]) and handed to each of its requests as a
//! [`PeerCert`] extension. A verified certificate names the user: its
//! subject's CommonName, its Organizations as groups, in order, then
//! `system:authenticated`. One that does not verify authenticates nobody: the
//! request is `401 Unauthorized` unless a bearer token authenticates it (the
//! x509 authenticator comes first in upstream's union, tokens after it), and
//! it must never fall back to the anonymous user (upstream's `FailOnError`).

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AttributeTypeAndValue;

use super::UserInfo;

/// The CA bundle client certificates are verified against.
#[derive(Debug)]
pub struct ClientCa {
    /// rustls' WebPKI verifier: chains to one of the CAs, within validity,
    /// usable for client authentication (extended key usage).
    verifier: Arc<dyn ClientCertVerifier>,
}

impl ClientCa {
    /// Reads a PEM bundle, as Go's `AppendCertsFromPEM`: blocks other than
    /// certificates are skipped, and so are certificates that cannot be a
    /// trust anchor; at least one must be left.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        let certs = rustls_pemfile::certs(&mut pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("invalid PEM: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if ignored > 0 {
            tracing::warn!("client CA bundle: {ignored} certificate(s) could not be used");
        }
        if added == 0 {
            return Err("no usable CA certificate found".into());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .allow_unauthenticated()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(ClientCa { verifier })
    }

    /// The TLS side: request a client certificate (naming the CAs as
    /// acceptable issuers), accept a connection without one, and check only
    /// that the client holds the key of the one it presents.
    pub fn tls_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        Arc::new(RequestClientCert(self.verifier.clone()))
    }

    /// What the certificate chain a client presented says, `None` when it
    /// presented none or one without a CommonName (upstream: no user, no
    /// error, so other authenticators decide).
    pub fn authenticate(&self, chain: &[CertificateDer<'_>]) -> Option<PeerCert> {
        let (leaf, intermediates) = chain.split_first()?;
        let verdict = match self
            .verifier
            .verify_client_cert(leaf, intermediates, UnixTime::now())
        {
            Err(e) => Verdict::Rejected(format!("verifying certificate failed: {e}")),
            Ok(_) => match certificate_user(leaf) {
                Ok(None) => return None,
                Ok(Some((user, not_after))) => Verdict::Verified { user, not_after },
                Err(e) => Verdict::Rejected(e),
            },
        };
        Some(PeerCert(Arc::new(verdict)))
    }
}

/// A connection's client certificate as authentication sees it; a copy is
/// put into each request of the connection (`http::Extensions`).
#[derive(Debug, Clone)]
pub struct PeerCert(Arc<Verdict>);

#[derive(Debug)]
enum Verdict {
    /// Verified when the connection was made; valid until `not_after`
    /// (Unix seconds), as upstream verifies on every request.
    Verified { user: UserInfo, not_after: i64 },
    /// Presented but not verified, and why.
    Rejected(String),
}

impl PeerCert {
    /// The user the certificate authenticates now, or why it does not.
    pub fn user(&self) -> Result<&UserInfo, String> {
        match &*self.0 {
            Verdict::Verified { user, not_after } => {
                if chrono::Utc::now().timestamp() > *not_after {
                    Err("verifying certificate failed: certificate expired".into())
                } else {
                    Ok(user)
                }
            }
            Verdict::Rejected(why) => Err(why.clone()),
        }
    }
}

/// The user a certificate names (`CommonNameUserConversion` and upstream's
/// authenticated-group adder), with its `notAfter`; `None` when the
/// subject has no CommonName.
fn certificate_user(der: &[u8]) -> Result<Option<(UserInfo, i64)>, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("x509: cannot parse certificate: {e}"))?;
    let subject = cert.subject();
    // Go's `pkix.Name`: the last CommonName wins, every Organization is kept.
    let name = match subject.iter_common_name().last() {
        Some(cn) => attr_string(cn)?,
        None => String::new(),
    };
    if name.is_empty() {
        return Ok(None);
    }
    let mut groups = subject
        .iter_organization()
        .map(attr_string)
        .collect::<Result<Vec<_>, _>>()?;
    if name != "system:anonymous"
        && !groups
            .iter()
            .any(|g| g == "system:authenticated" || g == "system:unauthenticated")
    {
        groups.push("system:authenticated".into());
    }
    let user = UserInfo {
        name,
        groups,
        ..Default::default()
    };
    Ok(Some((user, cert.validity().not_after.timestamp())))
}

/// A directory string, as Go's x509 parser reads the types it supports.
fn attr_string(atv: &AttributeTypeAndValue<'_>) -> Result<String, String> {
    let value = atv.attr_value();
    let data = value.data;
    match value.header.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::NumericString => {
            std::str::from_utf8(data)
                .map(str::to_string)
                .map_err(|_| "x509: invalid string in subject".to_string())
        }
        // Go keeps a T61String's bytes as they are.
        Tag::T61String => Ok(String::from_utf8_lossy(data).into_owned()),
        Tag::BmpString if data.len() % 2 == 0 => char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .map_err(|_| "x509: invalid BMPString in subject".to_string()),
        _ => Err("x509: unsupported string type in subject".into()),
    }
}

/// Go's `tls.RequestClientCert` on top of the WebPKI verifier: the
/// certificate itself is not judged during the handshake, the signature
/// proving the client holds its key is.
#[derive(Debug)]
struct RequestClientCert(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
        ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };

    const O: &[u64] = &[2, 5, 4, 10];

    struct Ca {
        pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    fn ca(cn: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        let cert = p.self_signed(&key).expect("ca");
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// A client certificate; `dn` in order (rcgen keeps one value per
    /// attribute type, so a second Organization goes in as a custom type
    /// with the same OID).
    fn client(ca: &Ca, dn: &[(DnType, DnValue)], eku: ExtendedKeyUsagePurpose) -> Vec<u8> {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        // Not rcgen's default subject (CN=rcgen self signed cert).
        p.distinguished_name = DistinguishedName::new();
        for (t, v) in dn {
            p.distinguished_name.push(t.clone(), v.clone());
        }
        p.extended_key_usages = vec![eku];
        let key = KeyPair::generate().expect("key");
        p.signed_by(&key, &ca.issuer).expect("sign").der().to_vec()
    }

    fn utf8(s: &str) -> DnValue {
        DnValue::Utf8String(s.into())
    }

    fn jane(ca: &Ca) -> Vec<u8> {
        client(
            ca,
            &[
                (DnType::CommonName, utf8("jane")),
                (DnType::OrganizationName, utf8("devs")),
                (DnType::CustomDnType(O.to_vec()), utf8("qa")),
            ],
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn user_of(ca: &Ca, der: Vec<u8>) -> Option<Result<UserInfo, String>> {
        let ca = ClientCa::from_pem(&ca.pem).expect("client ca");
        ca.authenticate(&[CertificateDer::from(der)])
            .map(|p| p.user().cloned())
    }

    #[test]
    fn subject_common_name_and_organizations_name_the_user() {
        let ca = ca("test-ca");
        let (user, not_after) = certificate_user(&jane(&ca)).unwrap().unwrap();
        assert_eq!(user.name, "jane");
        assert_eq!(user.groups, ["devs", "qa", "system:authenticated"]);
        assert_eq!(user.uid, "");
        assert!(user.extra.is_empty());
        assert!(not_after > chrono::Utc::now().timestamp());
        assert_eq!(user_of(&ca, jane(&ca)), Some(Ok(user)));
    }

    #[test]
    fn string_types_and_groups_as_upstream() {
        let ca = ca("test-ca");
        let der = client(
            &ca,
            &[
                (
                    DnType::CommonName,
                    DnValue::BmpString("zoë".try_into().expect("bmp")),
                ),
                (
                    DnType::OrganizationName,
                    DnValue::PrintableString("dev ops".try_into().expect("printable")),
                ),
                (
                    DnType::CustomDnType(O.to_vec()),
                    utf8("system:authenticated"),
                ),
            ],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        let (user, _) = certificate_user(&der).unwrap().unwrap();
        assert_eq!(user.name, "zoë");
        // `system:authenticated` is not added twice.
        assert_eq!(user.groups, ["dev ops", "system:authenticated"]);
    }

    #[test]
    fn no_common_name_is_no_user() {
        let ca = ca("test-ca");
        let der = client(
            &ca,
            &[(DnType::OrganizationName, utf8("devs"))],
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        assert_eq!(certificate_user(&der).unwrap(), None);
        assert_eq!(user_of(&ca, der), None);
    }

    #[test]
    fn untrusted_or_server_only_certificates_are_rejected() {
        let trusted = ca("trusted");
        let other = ca("other");
        let err = user_of(&trusted, jane(&other))
            .expect("presented")
            .unwrap_err();
        assert!(err.starts_with("verifying certificate failed"), "{err}");
        let server_only = client(
            &trusted,
            &[(DnType::CommonName, utf8("jane"))],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        assert!(matches!(user_of(&trusted, server_only), Some(Err(_))));
        assert!(
            ClientCa::from_pem(&trusted.pem)
                .unwrap()
                .authenticate(&[])
                .is_none()
        );
    }

    #[test]
    fn a_certificate_expired_since_the_handshake_authenticates_nobody() {
        let user = UserInfo {
            name: "jane".into(),
            ..Default::default()
        };
        let now = chrono::Utc::now().timestamp();
        let valid = PeerCert(Arc::new(Verdict::Verified {
            user: user.clone(),
            not_after: now + 60,
        }));
        assert_eq!(valid.user(), Ok(&user));
        let expired = PeerCert(Arc::new(Verdict::Verified {
            user,
            not_after: now - 1,
        }));
        assert!(expired.user().is_err());
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        assert!(ClientCa::from_pem("").is_err());
        let key = KeyPair::generate().unwrap().serialize_pem();
        assert!(ClientCa::from_pem(&key).is_err());
        let two = format!("{key}{}{}", ca("a").pem, ca("b").pem);
        assert!(ClientCa::from_pem(&two).is_ok());
    }
}
