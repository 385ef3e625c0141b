//! End-to-end: the StatefulSet controller with the scheduler and simulated
//! nodes, driven by kubectl: ordered start, a partitioned rolling update,
//! `kubectl rollout history/undo`, ordered scale down, Parallel pods with
//! claim templates, and a lost pod replaced under its name.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::Server;

/// Pods become ready a second after they start, so that ordered creation is
/// visible from outside.
const SLOW_READY: &[&str] = &["--pod-ready-delay", "1s", "--pod-delete-delay", "200ms"];
const FAST: &[&str] = &["--pod-ready-delay", "200ms", "--pod-delete-delay", "200ms"];

fn stateful_set(name: &str, replicas: u32, image: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  clusterIP: None
  selector:
    app: {name}
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {name}
spec:
  serviceName: {name}
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
{extra_spec}  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: nginx
        image: {image}
"
    )
}

/// name → (phase, ready, image, revision, uid) of the set's pods that are
/// not terminating.
fn pods(s: &Server, app: &str) -> BTreeMap<String, (String, String, String, String, String)> {
    s.jsonpath(
        &["get", "pods", "-l", &format!("app={app}")],
        "{range .items[*]}{.metadata.name}|{.status.phase}|\
         {.status.conditions[?(@.type==\"Ready\")].status}|{.spec.containers[0].image}|\
         {.metadata.labels.controller-revision-hash}|{.metadata.uid}|{.metadata.deletionTimestamp}{\"\\n\"}{end}",
    )
    .lines()
    .filter_map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        (f.len() == 7 && f[6].is_empty()).then(|| {
            let s = |i: usize| f[i].to_string();
            (s(0), (s(1), s(2), s(3), s(4), s(5)))
        })
    })
    .collect()
}

fn all_pod_names(s: &Server, app: &str) -> Vec<String> {
    s.jsonpath(
        &["get", "pods", "-l", &format!("app={app}")],
        "{range .items[*]}{.metadata.name}{\"\\n\"}{end}",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

fn status(s: &Server, name: &str, field: &str) -> String {
    s.jsonpath(&["get", "sts", name], &format!("{{.status.{field}}}"))
}

/// Whether `names` are `<app>-0 … <app>-(n-1)`: no gap below a pod.
fn is_prefix(app: &str, names: &[String]) -> bool {
    let mut ords: Vec<usize> = names
        .iter()
        .filter_map(|n| n.strip_prefix(&format!("{app}-"))?.parse().ok())
        .collect();
    ords.sort_unstable();
    ords.iter().enumerate().all(|(i, o)| i == *o)
}

#[test]

fn statefulset_starts_in_order_updates_a_partition_and_rolls_back() {
    let s = Server::with_args(SLOW_READY);
    s.ok_stdin(
        &["apply", "-f", "-"],
        &stateful_set("web", 3, "nginx:1.7.9", ""),
    );

    // OrderedReady: a pod only once every lower one is Running and Ready.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let seen = pods(&s, "web");
        let names: Vec<String> = seen.keys().cloned().collect();
        assert!(is_prefix("web", &names), "out of order: {names:?}");
        for (i, n) in names.iter().enumerate().skip(1) {
            // web-i exists: web-(i-1) was ready when it was created.
            let prev = format!("web-{}", i - 1);
            let ready_at = s.jsonpath(
                &["get", "pod", &prev],
                "{.status.conditions[?(@.type==\"Ready\")].lastTransitionTime}",
            );
            let created = s.jsonpath(&["get", "pod", n], "{.metadata.creationTimestamp}");
            if !ready_at.is_empty() && !created.is_empty() {
                assert!(
                    ready_at <= created,
                    "{n} created at {created} before {prev} was ready at {ready_at}"
                );
            }
        }
        if seen.len() == 3 && seen.values().all(|p| p.0 == "Running" && p.1 == "True") {
            break;
        }
        assert!(Instant::now() < deadline, "3 ready pods: {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let st = s.ok(&["rollout", "status", "sts/web", "--timeout=120s"]);
    assert!(st.contains("roll out complete"), "{st}");
    s.wait_until("status of 3 ready replicas", || {
        status(&s, "web", "readyReplicas") == "3" && status(&s, "web", "currentReplicas") == "3"
    });
    let rev1 = status(&s, "web", "currentRevision");
    assert!(rev1.starts_with("web-"), "{rev1}");
    assert_eq!(status(&s, "web", "updateRevision"), rev1);
    assert_eq!(status(&s, "web", "collisionCount"), "0");
    for (name, p) in pods(&s, "web") {
        assert_eq!(p.3, rev1, "{name}");
        let ord = name.trim_start_matches("web-");
        assert_eq!(
            s.jsonpath(
                &["get", "pod", &name],
                "{.metadata.labels.statefulset\\.kubernetes\\.io/pod-name} \
                 {.metadata.labels.apps\\.kubernetes\\.io/pod-index} {.spec.hostname} \
                 {.spec.subdomain} {.metadata.ownerReferences[0].kind}"
            ),
            format!("{name} {ord} {name} web StatefulSet")
        );
    }
    let line = s.ok(&["get", "sts", "web"]);
    assert!(
        line.lines().nth(1).is_some_and(|l| l.contains("3/3")),
        "{line}"
    );
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.kind=StatefulSet,involvedObject.name=web",
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
    ]);
    for i in 0..3 {
        assert!(
            events.contains(&format!(
                "SuccessfulCreate: create Pod web-{i} in StatefulSet web successful"
            )),
            "{events}"
        );
    }

    // A template change with partition 2: only web-2 is updated.
    let before = pods(&s, "web");
    s.ok(&[
        "patch",
        "sts",
        "web",
        "-p",
        r#"{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":2}}}}"#,
    ]);
    s.ok(&["set", "image", "sts/web", "nginx=nginx:1.9"]);
    s.wait_until("web-2 updated and ready", || {
        let rev2 = status(&s, "web", "updateRevision");
        let p = pods(&s, "web");
        rev2 != rev1
            && p.get("web-2").is_some_and(|w| {
                w.0 == "Running" && w.1 == "True" && w.2 == "nginx:1.9" && w.3 == rev2
            })
            && status(&s, "web", "updatedReplicas") == "1"
            && status(&s, "web", "readyReplicas") == "3"
    });
    let rev2 = status(&s, "web", "updateRevision");
    let after = pods(&s, "web");
    for n in ["web-0", "web-1"] {
        assert_eq!(after[n].2, "nginx:1.7.9", "{n}");
        assert_eq!(after[n].3, rev1, "{n}");
        assert_eq!(after[n].4, before[n].4, "{n} was replaced");
    }
    assert_ne!(after["web-2"].4, before["web-2"].4);
    assert_eq!(status(&s, "web", "currentRevision"), rev1);
    assert_eq!(status(&s, "web", "currentReplicas"), "2");
    let st = s.ok(&["rollout", "status", "sts/web", "--timeout=60s"]);
    assert!(
        st.contains("partitioned roll out complete: 1 new pods"),
        "{st}"
    );
    let hist = s.ok(&["rollout", "history", "sts/web"]);
    assert!(hist.contains("\n1 ") && hist.contains("\n2 "), "{hist}");
    assert_eq!(
        s.jsonpath(&["get", "controllerrevision", &rev2], "{.revision}"),
        "2"
    );

    // Undo: the template of revision 1 comes back; web-2 returns to it and
    // revision 1 becomes revision 3.
    s.ok(&["rollout", "undo", "sts/web"]);
    assert_eq!(
        s.jsonpath(
            &["get", "sts", "web"],
            "{.spec.template.spec.containers[0].image}"
        ),
        "nginx:1.7.9"
    );
    s.wait_until("every pod back at revision 1", || {
        let p = pods(&s, "web");
        p.len() == 3
            && p.values()
                .all(|w| w.0 == "Running" && w.1 == "True" && w.2 == "nginx:1.7.9" && w.3 == rev1)
            && status(&s, "web", "updateRevision") == rev1
            && status(&s, "web", "currentRevision") == rev1
            && status(&s, "web", "updatedReplicas") == "3"
    });
    assert_eq!(
        s.jsonpath(&["get", "controllerrevision", &rev1], "{.revision}"),
        "3"
    );
    let hist = s.ok(&["rollout", "history", "sts/web"]);
    assert!(hist.contains("\n2 ") && hist.contains("\n3 "), "{hist}");
    // kubectl compares the revision's data with the template byte for byte.
    let again = s.ok(&["rollout", "undo", "sts/web", "--to-revision=3"]);
    assert!(
        again.contains("skipped rollback (current template already matches revision 3)"),
        "{again}"
    );

    // Scale down: the highest ordinal goes first.
    s.ok(&["scale", "sts", "web", "--replicas=1"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let names = all_pod_names(&s, "web");
        assert!(
            is_prefix("web", &names),
            "scale down out of order: {names:?}"
        );
        if names == ["web-0"] {
            break;
        }
        assert!(Instant::now() < deadline, "scale down to web-0: {names:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    s.wait_until("status of 1 replica", || {
        status(&s, "web", "replicas") == "1"
    });

    // Deleting the set removes its pods (the garbage collector).
    s.ok(&["delete", "sts", "web"]);
    s.wait_until("pods gone", || all_pod_names(&s, "web").is_empty());
}

#[test]

fn parallel_statefulset_with_claim_templates_replaces_lost_pods() {
    let s = Server::with_args(FAST);
    let claims = "  podManagementPolicy: Parallel
  volumeClaimTemplates:
  - metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
";
    s.ok_stdin(
        &["apply", "-f", "-"],
        &stateful_set("db", 3, "postgres:16", claims),
    );
    s.wait_until("3 ready pods", || {
        let p = pods(&s, "db");
        p.len() == 3 && p.values().all(|w| w.0 == "Running" && w.1 == "True")
    });
    for i in 0..3 {
        assert_eq!(
            s.jsonpath(
                &["get", "pod", &format!("db-{i}")],
                "{.spec.volumes[?(@.name==\"data\")].persistentVolumeClaim.claimName}"
            ),
            format!("data-db-{i}")
        );
    }
    let served = s
        .ok(&["api-resources", "--api-group=", "-o", "name"])
        .lines()
        .any(|l| l == "persistentvolumeclaims");
    if served {
        // The claims exist, labelled with the selector's labels.
        s.wait_until("3 claims", || {
            s.jsonpath(
                &["get", "pvc", "-l", "app=db"],
                "{range .items[*]}{.metadata.name}{\"\\n\"}{end}",
            )
            .lines()
            .count()
                == 3
        });
    } else {
        // Not served: a warning for each claim, and the pods run anyway.
        let events = s.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.kind=StatefulSet,involvedObject.name=db,type=Warning",
            "-o",
            "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
        ]);
        assert!(
            events.contains(
                "FailedCreate: create Claim data-db-0 for Pod db-0 in StatefulSet db failed error:"
            ),
            "{events}"
        );
    }

    // A lost pod comes back under its name.
    let old = pods(&s, "db")["db-1"].4.clone();
    s.ok(&["delete", "pod", "db-1"]);
    s.wait_until("db-1 replaced", || {
        pods(&s, "db")
            .get("db-1")
            .is_some_and(|w| w.4 != old && w.0 == "Running" && w.1 == "True")
    });
    s.wait_until("status of 3 ready replicas", || {
        status(&s, "db", "readyReplicas") == "3"
    });
}
