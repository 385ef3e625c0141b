//! End-to-end: authorization with the real `kubectl`. A service account
//! bound in one namespace and not another, impersonation, anonymous
//! requests, the bootstrap policy (aggregated `admin`/`edit`/`view`), and a
//! Deployment rolling out with every controller acting as its own
//! identity. The expected messages are what kube-apiserver printed for the
//! same commands.

mod common;

use common::Server;
use std::process::Command;

fn err(s: &Server, args: &[&str]) -> String {
    let out = s.kubectl(args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}

/// curl without credentials; (status, body).
fn anonymous(s: &Server, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-k", "--max-time", "30", "-w", "\n%{http_code}"])
        .arg(format!("{}{path}", s.url))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn a_service_account_reads_pods_where_it_is_bound_only() {
    let s = Server::bare();
    s.ok(&["create", "namespace", "team-a"]);
    s.ok(&["create", "namespace", "team-b"]);
    s.ok(&["-n", "team-a", "create", "serviceaccount", "builder"]);
    s.ok(&[
        "-n",
        "team-a",
        "create",
        "role",
        "pod-reader",
        "--verb=get,list,watch",
        "--resource=pods",
    ]);
    s.ok(&[
        "-n",
        "team-a",
        "create",
        "rolebinding",
        "builder-reads",
        "--role=pod-reader",
        "--serviceaccount=team-a:builder",
    ]);
    let token = s.ok(&["-n", "team-a", "create", "token", "builder"]);
    let token = format!("--token={}", token.trim());
    let out = s.kubectl(&[&token, "-n", "team-a", "get", "pods"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "No resources found in team-a namespace."
    );
    assert_eq!(
        err(&s, &[&token, "-n", "team-b", "get", "pods"]),
        "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:team-a:builder\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-b\""
    );
    // Not a cluster-wide reader either, and no RBAC writer.
    assert_eq!(
        err(
            &s,
            &[
                &token,
                "-n",
                "team-a",
                "create",
                "role",
                "more",
                "--verb=delete",
                "--resource=pods"
            ]
        ),
        "Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden: User \"system:serviceaccount:team-a:builder\" cannot create resource \"roles\" in API group \"rbac.authorization.k8s.io\" in the namespace \"team-a\""
    );
    // Everyone authenticated may still read the public endpoints.
    assert_eq!(s.ok(&[&token, "get", "--raw", "/healthz"]), "ok");
    // The admin impersonating the account sees what it sees.
    let as_sa = "--as=system:serviceaccount:team-a:builder";
    s.ok(&[as_sa, "-n", "team-a", "get", "pods"]);
    assert!(
        err(&s, &[as_sa, "-n", "team-b", "get", "pods"]).ends_with("in the namespace \"team-b\"")
    );
    // The account may not impersonate anyone (1.33's message).
    assert_eq!(
        err(&s, &[&token, "-n", "team-a", "get", "pods", "--as=jane"]),
        "Error from server (Forbidden): users \"jane\" is forbidden: User \"system:serviceaccount:team-a:builder\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    // Removing the binding takes the right away at once.
    s.ok(&["-n", "team-a", "delete", "rolebinding", "builder-reads"]);
    assert!(
        err(&s, &[&token, "-n", "team-a", "get", "pods"])
            .starts_with("Error from server (Forbidden)")
    );
}

#[test]
fn impersonating_users_and_groups() {
    // With controllers: `view` and `admin` are filled by aggregation.
    let s = Server::start();
    s.wait_until("view aggregated", || {
        !s.jsonpath(&["get", "clusterrole", "view"], "{.rules}")
            .is_empty()
    });
    // A user with no binding at all: only what every authenticated user has.
    assert_eq!(
        err(&s, &["--as=jane", "get", "nodes"]),
        "Error from server (Forbidden): nodes is forbidden: User \"jane\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
    );
    // A group that is bound grants the impersonated user its rights.
    s.ok(&[
        "create",
        "clusterrolebinding",
        "ops-view",
        "--clusterrole=view",
        "--group=ops",
    ]);
    s.ok(&[
        "--as=jane",
        "--as-group=ops",
        "-n",
        "kube-system",
        "get",
        "configmaps",
    ]);
    let who = s.ok(&[
        "--as=jane",
        "--as-group=ops",
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo}",
    ]);
    assert_eq!(
        who,
        r#"{"groups":["ops","system:authenticated"],"username":"jane"}"#
    );
    // `view` is aggregated from the `aggregate-to-view` roles: no secrets.
    assert!(
        err(
            &s,
            &[
                "--as=jane",
                "--as-group=ops",
                "-n",
                "kube-system",
                "get",
                "secrets"
            ]
        )
        .contains("cannot list resource \"secrets\"")
    );
    // The admin role is aggregated by the controller from the bootstrap
    // roles; describe shows its rules.
    s.wait_until("admin aggregated", || {
        !s.jsonpath(&["get", "clusterrole", "admin"], "{.rules}")
            .is_empty()
    });
    let described = s.ok(&["describe", "clusterrole", "admin"]);
    assert!(
        described.starts_with(
            "Name:         admin\nLabels:       kubernetes.io/bootstrapping=rbac-defaults\n"
        ),
        "{described}"
    );
    assert!(
        described.contains("  pods                                            [] ")
            || described.contains("pods "),
        "{described}"
    );
}

#[test]
fn anonymous_requests() {
    let s = Server::bare();
    assert_eq!(anonymous(&s, "/healthz"), (200, "ok".into()));
    assert_eq!(anonymous(&s, "/version").0, 200);
    let (code, body) = anonymous(&s, "/api/v1/namespaces/kube-system/pods");
    assert_eq!(code, 403);
    assert_eq!(
        body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
    );
    let (code, body) = anonymous(&s, "/api");
    assert_eq!(code, 403);
    assert!(
        body.contains(
            r#""message":"forbidden: User \"system:anonymous\" cannot get path \"/api\"""#
        ),
        "{body}"
    );
    drop(s);
    let s = Server::with_args(&["--disable-controllers", "--anonymous-auth=false"]);
    let (code, body) = anonymous(&s, "/healthz");
    assert_eq!(code, 401);
    assert!(body.contains(r#""reason":"Unauthorized""#), "{body}");
    // The admin kubeconfig still works.
    s.ok(&["get", "namespaces"]);
}

#[test]
fn the_controllers_act_as_themselves() {
    let s = Server::start();
    s.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=3",
    ]);
    s.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    s.wait_until("3 running pods", || {
        s.jsonpath(
            &["get", "pods", "-l", "app=web"],
            "{.items[*].status.phase}",
        ) == "Running Running Running"
    });
    // Their service accounts exist, as kube-controller-manager creates them.
    s.wait_until("controller service accounts", || {
        s.kubectl(&[
            "-n",
            "kube-system",
            "get",
            "serviceaccount",
            "deployment-controller",
        ])
        .status
        .success()
    });
    // Nothing was refused along the way.
    let log = std::fs::read_to_string(s.dir.with_extension("log")).unwrap_or_default();
    assert!(
        !log.contains("is forbidden"),
        "a component was refused:\n{log}"
    );
}

#[test]
fn always_allow_lets_everyone_in() {
    let s = Server::with_args(&["--disable-controllers", "--authorization-mode=AlwaysAllow"]);
    s.ok(&["--as=nobody", "get", "secrets", "-A"]);
    assert_eq!(anonymous(&s, "/api/v1/namespaces").0, 200);
}

/// The `kube` crate as a service account: a refused list is an
/// `Error::Api` with upstream's Status; an allowed one works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_sees_the_403_status() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams};
    let s = Server::bare();
    s.ok(&["-n", "default", "create", "serviceaccount", "reader"]);
    s.ok(&[
        "-n",
        "default",
        "create",
        "rolebinding",
        "reader-view",
        "--clusterrole=view",
        "--serviceaccount=default:reader",
    ]);
    s.ok(&[
        "create",
        "clusterrole",
        "pod-view",
        "--verb=get,list",
        "--resource=pods",
    ]);
    // `view` is aggregated by the controller, absent here: bind a plain role too.
    s.ok(&[
        "-n",
        "default",
        "create",
        "rolebinding",
        "reader-pods",
        "--clusterrole=pod-view",
        "--serviceaccount=default:reader",
    ]);
    let token = s.ok(&["-n", "default", "create", "token", "reader"]);
    let text = std::fs::read_to_string(s.kubeconfig()).expect("kubeconfig");
    let text = text
        .lines()
        .map(|l| match l.trim().strip_prefix("token: ") {
            Some(_) => format!("    token: {}", token.trim()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let kc = kube::config::Kubeconfig::from_yaml(&text).expect("parse kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(cfg).expect("client");
    let mine: Api<Pod> = Api::namespaced(client.clone(), "default");
    assert!(mine.list(&ListParams::default()).await.is_ok());
    let theirs: Api<Pod> = Api::namespaced(client, "kube-system");
    match theirs.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403);
            assert_eq!(status.reason, "Forbidden");
            assert_eq!(
                status.message,
                "pods is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
            );
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}
