//! End-to-end: CustomResourceDefinitions and custom resources through the
//! real `kubectl`, `curl` and kube-rs (`#[derive(CustomResource)]`), and the
//! kube-rs operator in `examples/website_controller.rs`. Expected answers are
//! upstream kube-apiserver v1.36's.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Server;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const CRONTAB_CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.labelSelector
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    - name: Age
      type: date
      jsonPath: .metadata.creationTimestamp
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-validations:
            - rule: "self.replicas <= 10"
              message: "too many"
            properties:
              cronSpec:
                type: string
                description: The cron schedule.
                pattern: '^(\d+|\*)(/\d+)?(\s+(\d+|\*)(/\d+)?){4}$'
              image: {type: string}
              replicas: {type: integer, minimum: 0, default: 1}
          status:
            type: object
            properties:
              replicas: {type: integer}
              labelSelector: {type: string}
  - name: v1beta1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"#;

const CRONTAB: &str = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: c1}
spec: {cronSpec: "* * * * */5", image: img}
"#;

fn install_crontabs(s: &Server) {
    let out = s.ok_stdin(&["apply", "-f", "-"], CRONTAB_CRD);
    assert!(
        out.contains(
            "customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created"
        ),
        "{out}"
    );
    // `kubectl wait` fails at once on `status.conditions: null`, which a CRD
    // has until the naming controller first writes it (upstream's create
    // answer has it null too): wait for that first, as a loaded machine
    // may take longer than kubectl's start-up.
    s.wait_until("the CRD's first condition", || {
        !s.jsonpath(
            &["get", "crd", "crontabs.stable.example.com"],
            "{.status.conditions}",
        )
        .is_empty()
    });
    s.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=30s",
        "crd/crontabs.stable.example.com",
    ]);
}

fn stderr_of(s: &Server, args: &[&str], stdin: Option<&str>) -> String {
    let out = s.kubectl_stdin(args, stdin);
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn kubectl_apply_get_explain_scale_and_delete_crontabs() {
    let s = Server::bare();
    install_crontabs(&s);
    let out = s.ok_stdin(&["apply", "-f", "-"], CRONTAB);
    assert!(
        out.contains("crontab.stable.example.com/c1 created"),
        "{out}"
    );

    // Printer columns, defaulting (replicas: 1) and the short name.
    let out = s.ok(&["get", "ct"]);
    let header: Vec<&str> = out
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "SPEC", "REPLICAS", "AGE"], "{out}");
    let row: Vec<&str> = out
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(&row[..7], ["c1", "*", "*", "*", "*", "*/5", "1"], "{out}");

    // Category `all`.
    let out = s.ok(&["get", "all"]);
    assert!(out.contains("crontab.stable.example.com/c1"), "{out}");

    // kubectl explain reads /openapi/v3/apis/stable.example.com/v1.
    let out = s.ok(&["explain", "crontabs.spec"]);
    assert!(out.contains("KIND:       CronTab"), "{out}");
    assert!(out.contains("cronSpec\t<string>"), "{out}");
    assert!(out.contains("The cron schedule."), "{out}");
    assert!(out.contains("replicas\t<integer>"), "{out}");
    // The same from /openapi/v2 (gnostic protobuf), as older clients read it.
    let out = s.ok(&["explain", "crontabs.spec", "--output=plaintext-openapiv2"]);
    assert!(out.contains("KIND:     CronTab"), "{out}");
    assert!(out.contains("cronSpec\t<string>"), "{out}");
    // And the CRD kind itself (/openapi/v3/apis/apiextensions.k8s.io/v1).
    let out = s.ok(&["explain", "crd.spec.names.shortNames"]);
    assert!(out.contains("GROUP:      apiextensions.k8s.io"), "{out}");
    assert!(out.contains("FIELD: shortNames <[]string>"), "{out}");

    // Strict field validation (kubectl's default) names the unknown field.
    let err = stderr_of(
        &s,
        &["apply", "-f", "-"],
        Some(&CRONTAB.replace("image: img", "image: img, extra: 1")),
    );
    assert!(
        err.contains(
            "CronTab in version \"v1\" cannot be handled as a CronTab: strict decoding error: unknown field \"spec.extra\""
        ),
        "{err}"
    );

    // Schema and CEL violations: 422 naming every field.
    let bad = r#"apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: bad}
spec: {cronSpec: x, image: 3}
"#;
    let err = stderr_of(&s, &["create", "-f", "-"], Some(bad));
    assert!(
        err.contains("spec.cronSpec: Invalid value: \"x\": spec.cronSpec in body should match"),
        "{err}"
    );
    assert!(
        err.contains(
            "spec.image: Invalid value: \"integer\": spec.image in body must be of type string: \"integer\""
        ),
        "{err}"
    );
    let err = stderr_of(
        &s,
        &["create", "-f", "-"],
        Some(
            &CRONTAB
                .replace("c1", "big")
                .replace("image: img", "image: img, replicas: 11"),
        ),
    );
    assert!(err.contains("spec: Invalid value"), "{err}");
    assert!(err.contains("too many"), "{err}");

    // Strategic merge patch is not for custom resources.
    let err = stderr_of(
        &s,
        &["patch", "ct", "c1", "-p", r#"{"spec":{"image":"y"}}"#],
        None,
    );
    assert!(
        err.contains("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        "{err}"
    );
    s.ok(&[
        "patch",
        "ct",
        "c1",
        "--type=merge",
        "-p",
        r#"{"spec":{"image":"y"}}"#,
    ]);

    // The scale subresource.
    let out = s.ok(&["scale", "ct", "c1", "--replicas=3"]);
    assert!(
        out.contains("crontab.stable.example.com/c1 scaled"),
        "{out}"
    );
    assert_eq!(
        s.jsonpath(
            &["get", "ct", "c1"],
            "{.spec.replicas} {.metadata.generation}"
        ),
        "3 3"
    );

    // The other served version rewrites apiVersion only.
    let (code, body) = s.curl(
        "GET",
        "/apis/stable.example.com/v1beta1/namespaces/default/crontabs/c1",
        None,
        None,
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    assert_eq!(v["apiVersion"], "stable.example.com/v1beta1");
    assert_eq!(v["spec"]["replicas"], 3);

    // Deleting the CRD deletes its custom resources, then stops serving it.
    let out = s.ok(&[
        "delete",
        "crd",
        "crontabs.stable.example.com",
        "--timeout=60s",
    ]);
    assert!(out.contains("deleted"), "{out}");
    let (code, _) = s.curl(
        "GET",
        "/apis/stable.example.com/v1/namespaces/default/crontabs",
        None,
        None,
    );
    assert_eq!(code, 404);
    install_crontabs(&s);
    assert_eq!(s.ok(&["get", "ct", "-o", "name"]), "");
}

#[test]
fn custom_resources_survive_a_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = Server::start_in(tmp.path(), &["--disable-controllers"]);
    install_crontabs(&s);
    s.ok_stdin(&["apply", "-f", "-"], CRONTAB);
    s.kill9();
    let s = Server::start_in(tmp.path(), &["--disable-controllers"]);
    s.wait_until("crontabs served again", || {
        s.kubectl(&["get", "ct", "c1"]).status.success()
    });
    assert_eq!(s.jsonpath(&["get", "ct", "c1"], "{.spec.image}"), "img");
}

#[test]
fn an_invalid_crd_names_every_cause() {
    let s = Server::bare();
    let bad = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: wrong.stable.example.com
spec:
  group: stable.example.com
  scope: Sideways
  names: {plural: things, kind: Thing}
  versions:
  - name: v1
    served: true
    storage: false
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {}
"#;
    let err = stderr_of(&s, &["create", "-f", "-"], Some(bad));
    for want in [
        "metadata.name: Invalid value: \"wrong.stable.example.com\": must be spec.names.plural+\".\"+spec.group",
        "spec.scope: Unsupported value: \"Sideways\": supported values: \"Cluster\", \"Namespaced\"",
        "spec.versions: Invalid value:",
        "must have exactly one version marked as storage version",
        // One version: upstream reports its schema where the internal
        // version keeps it.
        "spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
        "status.storedVersions: Invalid value: null: must have at least one stored version",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    // Nothing was stored.
    assert_eq!(s.ok(&["get", "crd", "-o", "name"]), "");
}

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "e2e.ironkube.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
struct WidgetSpec {
    size: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    color: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
struct WidgetStatus {
    seen: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_derived_custom_resource_create_apply_watch_and_status() {
    let s = Server::bare();
    let client = s.client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd())
        .await
        .expect("create crd");
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            crds.clone(),
            "widgets.e2e.ironkube.dev",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("established in time")
    .expect("condition");

    let widgets: Api<Widget> = Api::namespaced(client.clone(), "default");
    let mut events = widgets
        .watch(&WatchParams::default(), "0")
        .await
        .expect("watch")
        .boxed();

    let w = Widget::new(
        "w1",
        WidgetSpec {
            size: 1,
            color: None,
        },
    );
    let created = widgets
        .create(&PostParams::default(), &w)
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));

    // Server-side apply by a second manager sets one more field.
    let applied = widgets
        .patch(
            "w1",
            &PatchParams::apply("e2e-painter"),
            &Patch::Apply(json!({
                "apiVersion": "e2e.ironkube.dev/v1",
                "kind": "Widget",
                "spec": {"size": 1, "color": "red"}
            })),
        )
        .await
        .expect("apply");
    assert_eq!(applied.spec.color.as_deref(), Some("red"));
    assert_eq!(applied.metadata.generation, Some(2));
    let managers: Vec<String> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.contains(&"e2e-painter".to_string()),
        "{managers:?}"
    );

    // Status through the status subresource: spec changes there are ignored
    // and the generation does not move.
    let st = widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 99}, "status": {"seen": true}})),
        )
        .await
        .expect("status");
    assert_eq!(st.status.map(|s| s.seen), Some(true));
    assert_eq!(st.spec.size, 1);
    assert_eq!(st.metadata.generation, Some(2));

    // The watch saw all three writes.
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.try_next())
            .await
            .expect("event in time")
            .expect("watch item")
            .expect("open stream");
        match ev {
            WatchEvent::Added(_) => kinds.push("ADDED"),
            WatchEvent::Modified(_) => kinds.push("MODIFIED"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["ADDED", "MODIFIED", "MODIFIED"]);

    widgets
        .delete("w1", &DeleteParams::default())
        .await
        .expect("delete");
}

/// The example operator's binary, built by `cargo test` beside the tests.
fn example_binary(name: &str) -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_ironkube"));
    exe.parent()
        .map(|d| d.join("examples").join(name))
        .unwrap_or_default()
}

/// Kills the example by PID when the test ends.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_example_operator_turns_a_website_into_a_running_deployment() {
    let bin = example_binary("website_controller");
    assert!(bin.exists(), "{} not built", bin.display());
    let s = Server::with_args(&["--nodes", "1"]);
    let _ctl = Child(
        Command::new(&bin)
            .env("KUBECONFIG", s.kubeconfig())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start example"),
    );
    s.wait_until("the Website CRD established", || {
        s.kubectl(&["get", "crd", "websites.example.ironkube.dev"])
            .status
            .success()
            && s.jsonpath(
                &["get", "crd", "websites.example.ironkube.dev"],
                "{.status.conditions[?(@.type==\"Established\")].status}",
            ) == "True"
    });
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: example.ironkube.dev/v1\nkind: Website\nmetadata: {name: blog}\nspec: {image: nginx, replicas: 2}\n",
    );
    s.wait_until("the website ready", || {
        s.jsonpath(&["get", "website", "blog"], "{.status.ready}") == "2/2"
    });
    assert_eq!(
        s.jsonpath(
            &["get", "deployment", "blog"],
            "{.metadata.ownerReferences[0].kind}"
        ),
        "Website"
    );
    let out = s.ok(&["get", "websites"]);
    assert!(out.lines().nth(1).unwrap_or("").contains("2/2"), "{out}");
    // Deleting the Website deletes its Deployment (garbage collector).
    s.ok(&["delete", "website", "blog"]);
    s.wait_until("the deployment collected", || {
        !s.kubectl(&["get", "deployment", "blog"]).status.success()
    });
}
