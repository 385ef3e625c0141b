//! End-to-end: Jobs, CronJobs, the TTL-after-finished controller and
//! DaemonSets on simulated nodes, driven by `/usr/bin/kubectl`.

mod common;

use common::Server;

const FAST: &[&str] = &["--pod-ready-delay", "200ms", "--pod-delete-delay", "200ms"];

fn job(name: &str, extra_spec: &str, annotations: &str, restart: &str) -> String {
    format!(
        "apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
spec:
{extra_spec}
  template:
    metadata:
      annotations: {{{annotations}}}
    spec:
      restartPolicy: {restart}
      containers:
      - name: main
        image: busybox
"
    )
}

fn condition(s: &Server, job: &str, type_: &str) -> String {
    s.jsonpath(
        &["get", "job", job],
        &format!("{{.status.conditions[?(@.type==\"{type_}\")].status}}"),
    )
}

#[test]
fn a_job_completes_and_one_fails_by_its_pod_failure_policy() {
    let s = Server::with_args(FAST);
    let ok = job(
        "pi",
        "  completions: 3\n  parallelism: 2",
        "sim.ironkube.io/exit-after: 1s",
        "Never",
    );
    s.ok_stdin(&["apply", "-f", "-"], &ok);
    s.ok(&[
        "wait",
        "--for=condition=complete",
        "job/pi",
        "--timeout=60s",
    ]);
    assert_eq!(
        s.jsonpath(&["get", "job", "pi"], "{.status.succeeded}"),
        "3"
    );
    // Upstream's order: SuccessCriteriaMet, then Complete, both with
    // CompletionsReached; the tracking finalizers are gone.
    assert_eq!(
        s.jsonpath(
            &["get", "job", "pi"],
            "{range .status.conditions[*]}{.type}/{.reason} {end}"
        ),
        "SuccessCriteriaMet/CompletionsReached Complete/CompletionsReached "
    );
    assert!(
        s.jsonpath(&["get", "job", "pi"], "{.status.completionTime}")
            .len()
            > 10
    );
    assert_eq!(
        s.jsonpath(
            &["get", "pods", "-l", "job-name=pi"],
            "{range .items[*]}{.status.phase}:{.metadata.finalizers}{\"\\n\"}{end}"
        ),
        "Succeeded:\nSucceeded:\nSucceeded:\n"
    );
    let table = s.ok(&["get", "job", "pi"]);
    assert!(
        table.starts_with("NAME   STATUS     COMPLETIONS   DURATION   AGE"),
        "{table}"
    );
    assert!(table.contains("Complete   3/3"), "{table}");

    let boom = job(
        "boom",
        "  backoffLimit: 6
  podFailurePolicy:
    rules:
    - action: FailJob
      onExitCodes:
        containerName: main
        operator: In
        values: [42]",
        "sim.ironkube.io/exit-after: 1s, sim.ironkube.io/exit-code: \"42\"",
        "Never",
    );
    s.ok_stdin(&["apply", "-f", "-"], &boom);
    s.ok(&[
        "wait",
        "--for=condition=failed",
        "job/boom",
        "--timeout=60s",
    ]);
    let pod = s.jsonpath(
        &["get", "pods", "-l", "job-name=boom"],
        "{.items[0].metadata.name}",
    );
    assert_eq!(
        s.jsonpath(
            &["get", "job", "boom"],
            "{.status.conditions[?(@.type==\"Failed\")].message}"
        ),
        format!(
            "Container main for pod default/{pod} failed with exit code 42 matching FailJob rule at index 0"
        )
    );
    assert_eq!(condition(&s, "boom", "FailureTarget"), "True");
    // One failure, no retries: the policy failed the Job at once.
    assert_eq!(s.jsonpath(&["get", "job", "boom"], "{.status.failed}"), "1");
}

#[test]
fn backoff_limit_indexed_completions_and_ttl() {
    let s = Server::with_args(FAST);
    let fails = job(
        "flaky",
        "  backoffLimit: 1",
        "sim.ironkube.io/exit-after: 200ms, sim.ironkube.io/exit-code: \"1\"",
        "Never",
    );
    s.ok_stdin(&["apply", "-f", "-"], &fails);
    // Two failures (the second after the 10 s back-off) exceed the limit of 1.
    s.ok(&[
        "wait",
        "--for=condition=failed",
        "job/flaky",
        "--timeout=60s",
    ]);
    assert_eq!(
        s.jsonpath(
            &["get", "job", "flaky"],
            "{.status.conditions[?(@.type==\"Failed\")].reason}"
        ),
        "BackoffLimitExceeded"
    );
    assert_eq!(
        s.jsonpath(&["get", "job", "flaky"], "{.status.failed}"),
        "2"
    );

    let indexed = job(
        "idx",
        "  completions: 4\n  parallelism: 2\n  completionMode: Indexed",
        "sim.ironkube.io/exit-after: 300ms",
        "Never",
    );
    s.ok_stdin(&["apply", "-f", "-"], &indexed);
    s.wait_until("the indexed job completes", || {
        s.jsonpath(&["get", "job", "idx"], "{.status.completedIndexes}") == "0-3"
    });
    // Pods carry their index as annotation, label, hostname and env.
    let pods = s.jsonpath(
        &["get", "pods", "-l", "job-name=idx"],
        "{range .items[*]}{.metadata.labels.batch\\.kubernetes\\.io/job-completion-index}/{.spec.hostname}/{.spec.containers[0].env[0].name}{\"\\n\"}{end}",
    );
    let mut lines: Vec<&str> = pods.lines().collect();
    lines.sort();
    lines.dedup();
    assert!(lines.contains(&"0/idx-0/JOB_COMPLETION_INDEX"), "{pods}");
    assert!(lines.contains(&"3/idx-3/JOB_COMPLETION_INDEX"), "{pods}");
    // ttlSecondsAfterFinished: once finished, the Job and its pods go.
    s.ok(&[
        "patch",
        "job",
        "idx",
        "-p",
        r#"{"spec":{"ttlSecondsAfterFinished":1}}"#,
    ]);
    s.wait_until("the finished job is deleted", || {
        !s.kubectl(&["get", "job", "idx"]).status.success()
    });
    s.wait_until("its pods are deleted", || {
        s.jsonpath(
            &["get", "pods", "-l", "job-name=idx"],
            "{.items[*].metadata.name}",
        )
        .is_empty()
    });
}

#[test]
fn a_cronjob_fires_twice_and_kubectl_creates_a_job_from_it() {
    let s = Server::with_args(FAST);
    let cj = "apiVersion: batch/v1
kind: CronJob
metadata:
  name: tick
spec:
  schedule: '@every 2s'
  successfulJobsHistoryLimit: 2
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {sim.ironkube.io/exit-after: 200ms}
        spec:
          restartPolicy: OnFailure
          containers:
          - name: t
            image: busybox
";
    s.ok_stdin(&["apply", "-f", "-"], cj);
    s.wait_until("two scheduled jobs completed", || {
        s.jsonpath(
            &["get", "jobs"],
            "{range .items[*]}{.metadata.ownerReferences[0].name}:{.status.succeeded}{\"\\n\"}{end}",
        )
        .lines()
        .filter(|l| *l == "tick:1")
        .count()
            >= 2
    });
    assert!(
        s.jsonpath(&["get", "cronjob", "tick"], "{.status.lastScheduleTime}")
            .len()
            > 10
    );
    s.wait_until("lastSuccessfulTime", || {
        s.jsonpath(&["get", "cronjob", "tick"], "{.status.lastSuccessfulTime}")
            .len()
            > 10
    });
    let annotation = s.jsonpath(
        &["get", "jobs"],
        "{.items[0].metadata.annotations.batch\\.kubernetes\\.io/cronjob-scheduled-timestamp}",
    );
    assert!(annotation.ends_with('Z'), "{annotation}");
    // History limit: never more than two successful Jobs for long.
    s.wait_until("history trimmed to two", || {
        s.jsonpath(
            &["get", "jobs"],
            "{range .items[*]}{.metadata.ownerReferences[0].name}:{.status.succeeded}{\"\\n\"}{end}",
        )
        .lines()
        .filter(|l| *l == "tick:1")
        .count()
            <= 2
    });
    s.ok(&[
        "patch",
        "cronjob",
        "tick",
        "-p",
        r#"{"spec":{"suspend":true}}"#,
    ]);
    s.ok(&["create", "job", "manual", "--from=cronjob/tick"]);
    s.ok(&[
        "wait",
        "--for=condition=complete",
        "job/manual",
        "--timeout=60s",
    ]);
    let table = s.ok(&["get", "cronjob", "tick"]);
    assert!(
        table.starts_with("NAME   SCHEDULE    TIMEZONE   SUSPEND   ACTIVE   LAST SCHEDULE"),
        "{table}"
    );
}

#[test]
fn a_daemonset_runs_on_every_node_follows_a_new_node_and_rolls() {
    let s = Server::with_args(&[
        "--nodes",
        "3",
        "--pod-ready-delay",
        "200ms",
        "--pod-delete-delay",
        "200ms",
    ]);
    let ds = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: a
        image: fluentd:1
";
    s.ok_stdin(&["apply", "-f", "-"], ds);
    s.ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);
    let nodes = |s: &Server| {
        let mut v: Vec<String> = s
            .jsonpath(
                &["get", "pods", "-l", "app=agent"],
                "{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}",
            )
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(nodes(&s), vec!["node-0", "node-1", "node-2"]);
    // A new node gets a pod; a cordoned one keeps its pod.
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-3\n  labels: {type: ironkube}\n",
    );
    s.wait_until("a pod on the new node", || {
        nodes(&s).contains(&"node-3".to_string())
    });
    s.ok(&["cordon", "node-1"]);
    // A template change rolls one node at a time.
    s.ok(&["set", "image", "ds/agent", "a=fluentd:2"]);
    s.ok(&["rollout", "status", "ds/agent", "--timeout=60s"]);
    let images = s.jsonpath(
        &["get", "pods", "-l", "app=agent"],
        "{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
    );
    assert!(images.lines().all(|l| l == "fluentd:2"), "{images}");
    assert!(nodes(&s).contains(&"node-1".to_string()));
    let history = s.ok(&["rollout", "history", "ds/agent"]);
    assert!(
        history.contains("1 ") && history.contains("2 "),
        "{history}"
    );
    let table = s.ok(&["get", "ds", "agent"]);
    assert!(
        table.starts_with(
            "NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE"
        ),
        "{table}"
    );
}
