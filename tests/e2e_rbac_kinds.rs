//! End-to-end: the rbac.authorization.k8s.io/v1 kinds through the real
//! `kubectl`, which sends them as protobuf (`kubectl create role ...`) and
//! as JSON (`kubectl apply`). Every expected line is what kube-apiserver
//! v1.36 printed for the same commands. Authorization itself is not checked
//! here: the kinds are stored, validated and printed as upstream does.

mod common;

use common::Server;

fn stderr(s: &Server, args: &[&str], stdin: Option<&str>) -> String {
    let out = s.kubectl_stdin(args, stdin);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn roles_and_bindings_as_upstream() {
    let s = Server::start();
    s.ok(&["create", "namespace", "rb"]);
    assert_eq!(
        s.ok(&[
            "-n",
            "rb",
            "create",
            "role",
            "pod-reader",
            "--verb=get,list",
            "--resource=pods"
        ])
        .trim(),
        "role.rbac.authorization.k8s.io/pod-reader created"
    );
    s.ok(&[
        "create",
        "clusterrole",
        "ns-viewer",
        "--verb=get",
        "--resource=namespaces",
    ]);
    s.ok(&[
        "-n",
        "rb",
        "create",
        "rolebinding",
        "rb1",
        "--role=pod-reader",
        "--user=alice",
        "--group=devs",
        "--serviceaccount=rb:default",
    ]);
    s.ok(&[
        "create",
        "clusterrolebinding",
        "crb1",
        "--clusterrole=ns-viewer",
        "--user=bob",
    ]);

    let wide = s.ok(&["-n", "rb", "get", "rolebindings", "-o", "wide"]);
    let lines: Vec<&str> = wide.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        (row[0], row[1], row[3], row[4], row[5]),
        ("rb1", "Role/pod-reader", "alice", "devs", "rb/default")
    );
    let roles = s.ok(&["-n", "rb", "get", "roles"]);
    assert!(
        roles.starts_with("NAME         CREATED AT\npod-reader   20"),
        "{roles}"
    );
    assert_eq!(
        s.ok(&["get", "clusterrole", "ns-viewer", "-o", "jsonpath={.rules}"]),
        r#"[{"apiGroups":[""],"resources":["namespaces"],"verbs":["get"]}]"#
    );
    // Defaults: user and group subjects get the RBAC API group.
    assert_eq!(
        s.ok(&[
            "-n",
            "rb",
            "get",
            "rolebinding",
            "rb1",
            "-o",
            "jsonpath={.subjects}"
        ]),
        r#"[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice"},{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"devs"},{"kind":"ServiceAccount","name":"default","namespace":"rb"}]"#
    );

    let err = stderr(
        &s,
        &[
            "-n",
            "rb",
            "patch",
            "rolebinding",
            "rb1",
            "--type=merge",
            "-p",
            r#"{"roleRef":{"name":"other"}}"#,
        ],
        None,
    );
    assert_eq!(
        err.trim(),
        r#"The RoleBinding "rb1" is invalid: roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"other"}: cannot change roleRef"#
    );
    let err = stderr(
        &s,
        &["apply", "-f", "-"],
        Some(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: bad}\n\
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: x}\nsubjects:\n\
- {kind: ServiceAccount, name: default}\n- {kind: Robot, name: r}\n",
        ),
    );
    assert_eq!(
        err.trim(),
        "The ClusterRoleBinding \"bad\" is invalid: \n\
* roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"\n\
* subjects[0].namespace: Required value\n\
* subjects[1].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\""
    );
    let err = stderr(
        &s,
        &["apply", "-f", "-"],
        Some(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: badrole, namespace: rb}\n\
rules:\n- verbs: []\n  nonResourceURLs: [\"/healthz\"]\n- verbs: [get]\n",
        ),
    );
    assert_eq!(
        err.trim(),
        "The Role \"badrole\" is invalid: \n\
* rules[0].verbs: Required value: verbs must contain at least one value\n\
* rules[0].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs\n\
* rules[1].apiGroups: Required value: resource rules must supply at least one api group\n\
* rules[1].resources: Required value: resource rules must supply at least one resource"
    );
    assert_eq!(
        s.ok(&["-n", "rb", "delete", "role", "pod-reader"]).trim(),
        "role.rbac.authorization.k8s.io \"pod-reader\" deleted"
    );
    let resources = s.ok(&[
        "api-resources",
        "--api-group=rbac.authorization.k8s.io",
        "--no-headers",
    ]);
    let names: Vec<&str> = resources
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        [
            "clusterrolebindings",
            "clusterroles",
            "rolebindings",
            "roles"
        ]
    );
}
