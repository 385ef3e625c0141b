//! The ReplicaSet controller's I/O loop (decisions in `replicaset_logic.rs`).
//! Upstream: `pkg/controller/replicaset/replica_set.go`.
//!
//! Each sync reads the ReplicaSet's pods with a consistent list (no
//! `resourceVersion`), so it always sees its own earlier creates and deletes;
//! together with the runtime never syncing one ReplicaSet twice at once, that
//! gives what upstream's "expectations" give an informer-cache controller:
//! no double creates or deletes.

use std::sync::Arc;

use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use super::events::{Kind as EventType, Recorder};
use super::replicaset_logic as logic;

const RESYNC: std::time::Duration = std::time::Duration::from_secs(30);

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
}

pub async fn run(client: kube::Client) {
    let rs_api: Api<ReplicaSet> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let recorder = Recorder::new(client.clone(), "replicaset-controller");
    let ctx = Arc::new(Ctx { client, recorder });
    let controller = Controller::new(rs_api, watcher::Config::default());
    let store = controller.store();
    // A pod change wakes its controller, or, for an orphan, every ReplicaSet
    // of its namespace that selects it (adoption).
    let mapper = move |pod: Pod| {
        if let Some(owner) = logic::controller_ref(&pod.metadata) {
            if owner.kind == "ReplicaSet" && owner.api_version == "apps/v1" {
                let ns = pod.namespace().unwrap_or_default();
                return vec![ObjectRef::<ReplicaSet>::new(&owner.name).within(&ns)];
            }
            return Vec::new();
        }
        store
            .state()
            .iter()
            .filter(|rs| rs.namespace() == pod.namespace() && logic::rs_selects(rs, &pod))
            .map(|rs| ObjectRef::from_obj(rs.as_ref()))
            .collect()
    };
    controller
        .watches(pods, watcher::Config::default(), mapper)
        .run(reconcile, error_policy, ctx)
        .for_each(|_| async {})
        .await;
}

fn error_policy(_rs: Arc<ReplicaSet>, err: &kube::Error, _ctx: Arc<Ctx>) -> Action {
    tracing::debug!(error = %err, "replicaset controller retry");
    Action::requeue(super::RETRY)
}

async fn event(ctx: &Ctx, rs: &ReplicaSet, type_: EventType, reason: &str, note: String) {
    ctx.recorder
        .publish(&rs.object_ref(&()), type_, reason, &note)
        .await;
}

async fn reconcile(rs: Arc<ReplicaSet>, ctx: Arc<Ctx>) -> Result<Action, kube::Error> {
    let ns = rs.namespace().unwrap_or_default();
    let name = rs.name_any();
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &ns);
    // Work on the latest version, not the cache's.
    let Some(rs) = rs_api.get_opt(&name).await? else {
        return Ok(Action::await_change());
    };
    let pods_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    let all_pods = pods_api.list(&ListParams::default()).await?.items;
    let now = Utc::now();

    // Claim: adopt matching orphans, release owned pods that stopped matching.
    let mut owned: Vec<Pod> = Vec::new();
    if rs.metadata.deletion_timestamp.is_none() {
        for pod in &all_pods {
            match logic::claim_decision(&rs, pod) {
                logic::ClaimDecision::Owned => owned.push(pod.clone()),
                logic::ClaimDecision::Adopt => {
                    let patch = logic::adopt_patch(&rs, pod);
                    match pods_api
                        .patch(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Strategic(&patch),
                        )
                        .await
                    {
                        Ok(p) => owned.push(p),
                        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => {}
                        Err(e) => return Err(e),
                    }
                }
                logic::ClaimDecision::Release => {
                    let patch = logic::release_patch(&rs, pod);
                    match pods_api
                        .patch(
                            &pod.name_any(),
                            &PatchParams::default(),
                            &Patch::Strategic(&patch),
                        )
                        .await
                    {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 422 => {}
                        Err(e) => return Err(e),
                    }
                }
                logic::ClaimDecision::Ignore => {}
            }
        }
    }
    let active: Vec<Pod> = logic::filter_active_pods(&owned)
        .into_iter()
        .filter_map(|i| owned.get(i).cloned())
        .collect();

    let mut manage_error: Option<String> = None;
    if rs.metadata.deletion_timestamp.is_none() {
        let (creates, deletes) = logic::manage_diff(active.len(), logic::desired_replicas(&rs));
        if creates > 0 {
            let template = logic::pod_from_template(&rs, "");
            let pp = PostParams::default();
            if template
                .metadata
                .labels
                .as_ref()
                .is_none_or(|l| l.is_empty())
            {
                manage_error = Some(logic::NO_LABELS_ERROR.to_string());
            } else {
                'batches: for batch in
                    logic::slow_start_batches(creates, logic::SLOW_START_INITIAL_BATCH_SIZE)
                {
                    let results = futures::future::join_all(
                        (0..batch).map(|_| pods_api.create(&pp, &template)),
                    )
                    .await;
                    let mut failed = false;
                    for r in results {
                        match r {
                            Ok(p) => {
                                event(
                                    &ctx,
                                    &rs,
                                    EventType::Normal,
                                    logic::SUCCESSFUL_CREATE_POD_REASON,
                                    logic::created_pod_event_message(&p.name_any()),
                                )
                                .await;
                            }
                            Err(e) => {
                                let msg = e.to_string();
                                event(
                                    &ctx,
                                    &rs,
                                    EventType::Warning,
                                    logic::FAILED_CREATE_POD_REASON,
                                    logic::error_creating_event_message(&msg),
                                )
                                .await;
                                manage_error = Some(msg);
                                failed = true;
                            }
                        }
                    }
                    if failed {
                        break 'batches;
                    }
                }
            }
        } else if deletes > 0 {
            let all_rs = rs_api.list(&ListParams::default()).await?.items;
            let related: Vec<Pod> = logic::indirectly_related_pods(&rs, &all_rs, &all_pods)
                .into_iter()
                .filter_map(|i| all_pods.get(i).cloned())
                .collect();
            let related = if related.is_empty() {
                active.clone()
            } else {
                related
            };
            let victims = logic::pods_to_delete(&active, &related, deletes, now);
            let results =
                futures::future::join_all(victims.iter().filter_map(|i| active.get(*i)).map(|p| {
                    let dp = DeleteParams {
                        preconditions: Some(Preconditions {
                            uid: p.metadata.uid.clone(),
                            resource_version: None,
                        }),
                        ..Default::default()
                    };
                    let name = p.name_any();
                    let api = pods_api.clone();
                    async move { (name.clone(), api.delete(&name, &dp).await) }
                }))
                .await;
            for (pod_name, r) in results {
                match r {
                    Ok(_) => {
                        event(
                            &ctx,
                            &rs,
                            EventType::Normal,
                            logic::SUCCESSFUL_DELETE_POD_REASON,
                            logic::deleted_pod_event_message(&pod_name),
                        )
                        .await;
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        event(
                            &ctx,
                            &rs,
                            EventType::Normal,
                            logic::SUCCESSFUL_DELETE_POD_REASON,
                            logic::deleted_pod_event_message(&pod_name),
                        )
                        .await;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        event(
                            &ctx,
                            &rs,
                            EventType::Warning,
                            logic::FAILED_DELETE_POD_REASON,
                            logic::error_deleting_event_message(&msg),
                        )
                        .await;
                        manage_error = Some(logic::unable_to_delete_error(&msg));
                    }
                }
            }
        }
    }

    let status = logic::calculate_status(&rs, &active, manage_error.as_deref(), now);
    if logic::needs_status_update(&rs, &status) {
        let mut updated = rs.clone();
        updated.status = Some(status.clone());
        match rs_api
            .replace_status(&name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            // A newer version exists; its own event brings us back.
            Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => {
                return Ok(Action::requeue(std::time::Duration::from_millis(100)));
            }
            Err(e) => return Err(e),
        }
    }
    if manage_error.is_some() {
        return Ok(Action::requeue(super::RETRY));
    }
    // Besides events, look again now and then: a periodic resync bounds the
    // effect of any missed notification, as informer resyncs do upstream.
    Ok(match logic::min_ready_requeue_after(&rs, &status, false) {
        Some(d) => Action::requeue(d),
        None => Action::requeue(RESYNC),
    })
}
