//! End-to-end: `kubectl auth can-i` against a real server, with the real
//! `/usr/bin/kubectl` (which posts SelfSubjectAccessReview and
//! SelfSubjectRulesReview as protobuf). Every expected output is what
//! kubectl printed against kube-apiserver v1.36.2 after the same commands,
//! less two `/.well-known` rows that the openshift/kubernetes build used for
//! the comparison adds with a ClusterRole of its own
//! (`system:openshift:public-info-viewer`).

mod common;

use common::Server;

/// `kubectl auth can-i ...`: exit code, stdout, stderr.
fn can_i(s: &Server, args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["auth", "can-i"];
    a.extend_from_slice(args);
    let out = s.kubectl(&a);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const BUILDER: &str = "--as=system:serviceaccount:foo:builder";

/// `auth can-i --list -n foo` as the service account bound in `foo`.
const LIST_IN_FOO: &str = "\
Resources                                       Non-Resource URLs                      Resource Names   Verbs
selfsubjectreviews.authentication.k8s.io        []                                     []               [create]
selfsubjectaccessreviews.authorization.k8s.io   []                                     []               [create]
selfsubjectrulesreviews.authorization.k8s.io    []                                     []               [create]
pods/log                                        []                                     []               [get list watch create]
pods                                            []                                     []               [get list watch create]
                                                [/.well-known/openid-configuration/]   []               [get]
                                                [/.well-known/openid-configuration]    []               [get]
                                                [/api/*]                               []               [get]
                                                [/api]                                 []               [get]
                                                [/apis/*]                              []               [get]
                                                [/apis]                                []               [get]
                                                [/healthz]                             []               [get]
                                                [/healthz]                             []               [get]
                                                [/livez]                               []               [get]
                                                [/livez]                               []               [get]
                                                [/openapi/*]                           []               [get]
                                                [/openapi]                             []               [get]
                                                [/openid/v1/jwks/]                     []               [get]
                                                [/openid/v1/jwks]                      []               [get]
                                                [/readyz]                              []               [get]
                                                [/readyz]                              []               [get]
                                                [/version/]                            []               [get]
                                                [/version/]                            []               [get]
                                                [/version]                             []               [get]
                                                [/version]                             []               [get]
";

/// The same in `default`, where nothing binds it.
const LIST_IN_DEFAULT: &str = "\
Resources                                       Non-Resource URLs                      Resource Names   Verbs
selfsubjectreviews.authentication.k8s.io        []                                     []               [create]
selfsubjectaccessreviews.authorization.k8s.io   []                                     []               [create]
selfsubjectrulesreviews.authorization.k8s.io    []                                     []               [create]
                                                [/.well-known/openid-configuration/]   []               [get]
                                                [/.well-known/openid-configuration]    []               [get]
                                                [/api/*]                               []               [get]
                                                [/api]                                 []               [get]
                                                [/apis/*]                              []               [get]
                                                [/apis]                                []               [get]
                                                [/healthz]                             []               [get]
                                                [/healthz]                             []               [get]
                                                [/livez]                               []               [get]
                                                [/livez]                               []               [get]
                                                [/openapi/*]                           []               [get]
                                                [/openapi]                             []               [get]
                                                [/openid/v1/jwks/]                     []               [get]
                                                [/openid/v1/jwks]                      []               [get]
                                                [/readyz]                              []               [get]
                                                [/readyz]                              []               [get]
                                                [/version/]                            []               [get]
                                                [/version/]                            []               [get]
                                                [/version]                             []               [get]
                                                [/version]                             []               [get]
";

#[test]
fn auth_can_i_as_upstream() {
    let s = Server::bare();
    s.ok(&["create", "namespace", "foo"]);
    s.ok(&["-n", "foo", "create", "serviceaccount", "builder"]);
    s.ok(&[
        "-n",
        "foo",
        "create",
        "role",
        "builder",
        "--verb=get,list,watch",
        "--resource=pods,pods/log",
        "--verb=create",
    ]);
    s.ok(&[
        "-n",
        "foo",
        "create",
        "rolebinding",
        "builder",
        "--role=builder",
        "--serviceaccount=foo:builder",
    ]);

    // The admin.
    assert_eq!(
        can_i(&s, &["list", "pods"]),
        (0, "yes\n".into(), String::new())
    );
    assert_eq!(
        can_i(&s, &["get", "/healthz"]),
        (0, "yes\n".into(), String::new())
    );
    assert_eq!(
        can_i(&s, &["create", "deployments.apps/scale"]),
        (0, "yes\n".into(), String::new())
    );
    assert_eq!(
        can_i(
            &s,
            &[
                "list",
                "pods",
                "--as=system:serviceaccount:default:default",
                "-n",
                "kube-system"
            ]
        ),
        (1, "no\n".into(), String::new())
    );

    // The service account, bound in foo only.
    for (args, want) in [
        (&["list", "pods", "-n", "foo", BUILDER][..], (0, "yes\n")),
        (&["create", "pods", "-n", "foo", BUILDER][..], (0, "yes\n")),
        (
            &["get", "pods", "--subresource=log", "-n", "foo", BUILDER][..],
            (0, "yes\n"),
        ),
        (&["list", "pods", "-n", "default", BUILDER][..], (1, "no\n")),
        (&["delete", "pods", "-n", "foo", BUILDER][..], (1, "no\n")),
        (&["list", "pods", "-A", BUILDER][..], (1, "no\n")),
    ] {
        assert_eq!(
            can_i(&s, args),
            (want.0, want.1.to_string(), String::new()),
            "{args:?}"
        );
    }
    assert_eq!(
        can_i(&s, &["--list", "-n", "foo", BUILDER]),
        (0, LIST_IN_FOO.to_string(), String::new())
    );
    assert_eq!(
        can_i(&s, &["--list", BUILDER]),
        (0, LIST_IN_DEFAULT.to_string(), String::new())
    );
}
