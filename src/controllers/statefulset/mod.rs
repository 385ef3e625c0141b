//! The StatefulSet controller's I/O loop. Upstream:
//! `pkg/controller/statefulset/stateful_set.go` (the informer handlers and
//! `sync`), `stateful_set_control.go` (`UpdateStatefulSet`,
//! `getStatefulSetRevisions`, `truncateHistory`), `stateful_pod_control.go`
//! (pod and claim writes, events) and `stateful_set_status_updater.go`,
//! 1.33 behaviour. The decisions are pure: `utils.rs` (identity, claims,
//! revisions, status) and `control.rs` (the update algorithm).
//!
//! One sync of a set, as upstream's:
//!
//! 1. adopt orphaned ControllerRevisions the set selects, and claim pods
//!    (adopt selected orphans named `<set>-<ordinal>`, release owned pods
//!    that no longer match), after an uncached check that the set is still
//!    there;
//! 2. pick the update revision: the latest revision if it holds the set's
//!    template, an older one that does (a rollback: it takes the next
//!    revision number), or a new one (named `<set>-<hash>`, renamed with a
//!    higher `collisionCount` if another revision has that name); the
//!    current revision is `status.currentRevision`'s, else the update one;
//! 3. run the plan of `control.rs`: claims, then pods, created and deleted
//!    through the API, each with upstream's event (`SuccessfulCreate`
//!    "create Pod web-0 in StatefulSet web successful", `SuccessfulDelete`,
//!    `FailedCreate`, …);
//! 4. write `status` through `/status` when it changed (after
//!    `completeRollingUpdate`), then delete the revisions beyond
//!    `revisionHistoryLimit` that neither the status nor a pod uses.
//!
//! Reads come from the shared informers (sets, pods, revisions), as upstream
//! reads its listers; like upstream, the controller keeps no expectations:
//! pod names are fixed, so a create the cache has not shown yet fails with
//! `AlreadyExists` and the set is synced again. Claims are read with one
//! list of the namespace's claims per sync, and only for sets with
//! `volumeClaimTemplates` (upstream reads a claim informer). When the API
//! does not serve `persistentvolumeclaims` at all, creating a claim records
//! a `FailedCreate` warning and the pod is created without it; claims are
//! created as soon as the API serves them.

pub mod control;
pub mod utils;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod as CorePod};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Resource, ResourceExt};

use self::control::{Action, Plan, Step};
use self::utils::{Claim, Claims, PodId, UpdateRevision};
use crate::controllers::replicaset::logic as rs_logic;
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::cached_pod::Pod;
use crate::controllers::shared::events::{Kind as EventType, Recorder};
use crate::controllers::shared::history;
use crate::controllers::shared::informer::{Change, Informers, Key, key_of};
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// Upstream's `ConcurrentStatefulSetSyncs` default.
const WORKERS: usize = 5;
const RESYNC: Duration = Duration::from_secs(30);
/// How often a conflicting update is retried (client-go's
/// `retry.DefaultBackoff` has 4 steps).
const UPDATE_ATTEMPTS: usize = 5;

struct Ctx {
    client: kube::Client,
    recorder: Recorder,
    informers: Arc<Informers>,
    queue: Arc<Queue<Key>>,
}

fn key_string((ns, name): &Key) -> String {
    format!("{ns}/{name}")
}

/// An error's text as Go's `err.Error()` shows an API error: its message.
fn err_text(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        e => e.to_string(),
    }
}

fn is_code(e: &kube::Error, code: u16) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == code)
}

fn is_already_exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason == "AlreadyExists")
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409 && s.reason != "AlreadyExists")
}

/// The API does not serve the resource at all.
fn is_unserved(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s)
        if utils::is_unserved(s.code, s.details.as_ref().map(|d| d.name.as_str()), &s.message))
}

/// Go's `utilerrors.NewAggregate(errs).Error()`.
fn aggregate(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

pub async fn run(client: kube::Client, informers: Arc<Informers>) {
    let queue: Arc<Queue<Key>> = Queue::new();
    let ctx = Arc::new(Ctx {
        recorder: Recorder::new(client.clone(), "statefulset-controller"),
        client,
        informers: informers.clone(),
        queue: queue.clone(),
    });
    let mut set_changes = informers.stateful_sets.subscribe();
    let mut pod_changes = informers.pods.subscribe();
    let c = ctx.clone();
    let _sets = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = set_changes.recv().await {
            match change.as_ref() {
                Change::Added(s) | Change::Updated { new: s, .. } | Change::Deleted(s) => {
                    c.queue.add(key_of(&s.metadata))
                }
            }
        }
    }));
    let c = ctx.clone();
    let _pods = AbortOnDrop(tokio::spawn(async move {
        while let Some(change) = pod_changes.recv().await {
            match change.as_ref() {
                Change::Added(p) => add_pod(&c, p),
                Change::Updated { old, new } => update_pod(&c, old, new),
                Change::Deleted(p) => delete_pod(&c, p),
            }
        }
    }));
    let c = ctx.clone();
    let _resync = AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(RESYNC).await;
            for s in c.informers.stateful_sets.cache().list() {
                c.queue.add(key_of(&s.metadata));
            }
        }
    }));
    informers.pods.wait_synced().await;
    informers.stateful_sets.wait_synced().await;
    informers.controller_revisions.wait_synced().await;
    run_workers(queue, WORKERS, move |key| {
        let ctx = ctx.clone();
        async move {
            match sync(&ctx, &key).await {
                Ok(again) => again,
                Err(e) => {
                    tracing::debug!(error = %e, statefulset = %key_string(&key), "syncing statefulset");
                    Some(crate::controllers::RETRY)
                }
            }
        }
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Pod notifications (upstream addPod / updatePod / deletePod)
// ---------------------------------------------------------------------------------------------

/// Upstream `resolveControllerRef`: the cached set the pod's controller
/// reference names, if the uid matches.
fn resolve_owner(ctx: &Ctx, pod: &Pod) -> Option<Arc<StatefulSet>> {
    let r = rs_logic::controller_ref(&pod.metadata)?;
    if r.kind != utils::SET_KIND {
        return None;
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let set = ctx.informers.stateful_sets.cache().get(ns, &r.name)?;
    (set.metadata.uid.as_deref() == Some(r.uid.as_str())).then_some(set)
}

/// Upstream `getStatefulSetsForPod`: the sets of the pod's namespace that
/// select it.
fn enqueue_selecting(ctx: &Ctx, pod: &Pod) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    for set in ctx.informers.stateful_sets.cache().list_namespace(ns) {
        let non_empty = set.spec.as_ref().is_some_and(|s| {
            s.selector
                .match_labels
                .as_ref()
                .is_some_and(|m| !m.is_empty())
                || s.selector
                    .match_expressions
                    .as_ref()
                    .is_some_and(|e| !e.is_empty())
        });
        if non_empty && utils::selects(&set, pod.metadata.labels.as_ref()) {
            ctx.queue.add(key_of(&set.metadata));
        }
    }
}

fn add_pod(ctx: &Ctx, pod: &Pod) {
    if pod.metadata.deletion_timestamp.is_some() {
        delete_pod(ctx, pod);
        return;
    }
    if rs_logic::controller_ref(&pod.metadata).is_some() {
        if let Some(set) = resolve_owner(ctx, pod) {
            ctx.queue.add(key_of(&set.metadata));
        }
        return;
    }
    enqueue_selecting(ctx, pod);
}

fn update_pod(ctx: &Ctx, old: &Pod, cur: &Pod) {
    if old.metadata.resource_version == cur.metadata.resource_version {
        return;
    }
    let labels_changed = old.metadata.labels != cur.metadata.labels;
    let old_ref = rs_logic::controller_ref(&old.metadata);
    let cur_ref = rs_logic::controller_ref(&cur.metadata);
    let ref_changed = old_ref != cur_ref;
    if ref_changed
        && old_ref.is_some()
        && let Some(set) = resolve_owner(ctx, old)
    {
        ctx.queue.add(key_of(&set.metadata));
    }
    if cur_ref.is_some() {
        if let Some(set) = resolve_owner(ctx, cur) {
            let key = key_of(&set.metadata);
            let min_ready = utils::min_ready_seconds(&set);
            if min_ready > 0 && !rs_logic::is_pod_ready(old) && rs_logic::is_pod_ready(cur) {
                // Available only minReadySeconds later: look again then
                // (with upstream's second against clock skew).
                ctx.queue.add_after(
                    key.clone(),
                    Duration::from_secs(u64::from(min_ready.unsigned_abs()) + 1),
                );
            }
            ctx.queue.add(key);
        }
        return;
    }
    if labels_changed || ref_changed {
        enqueue_selecting(ctx, cur);
    }
}

fn delete_pod(ctx: &Ctx, pod: &Pod) {
    if let Some(set) = resolve_owner(ctx, pod) {
        ctx.queue.add(key_of(&set.metadata));
    }
}

// ---------------------------------------------------------------------------------------------
// Sync
// ---------------------------------------------------------------------------------------------

async fn event(ctx: &Ctx, set: &StatefulSet, (warning, reason, message): (bool, String, String)) {
    let kind = if warning {
        EventType::Warning
    } else {
        EventType::Normal
    };
    ctx.recorder
        .publish(&set.object_ref(&()), kind, &reason, &message)
        .await;
}

/// Upstream `RecheckDeletionTimestamp` for adoption: a live read of the set
/// must show the same uid and no deletion.
async fn can_adopt(ctx: &Ctx, set: &StatefulSet) -> Result<(), String> {
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), utils::namespace(set));
    let fresh = api.get(utils::name(set)).await.map_err(|e| err_text(&e))?;
    if fresh.metadata.uid != set.metadata.uid {
        return Err(format!(
            "original StatefulSet {}/{} is gone: got uid {}, wanted {}",
            utils::namespace(set),
            utils::name(set),
            fresh.metadata.uid.unwrap_or_default(),
            utils::uid(set)
        ));
    }
    if fresh.metadata.deletion_timestamp.is_some() {
        return Err(format!(
            "{}/{} has just been deleted",
            utils::namespace(set),
            utils::name(set)
        ));
    }
    Ok(())
}

/// Upstream `adoptOrphanRevisions` + `ListControllerRevisions`: the set's
/// revisions, orphans adopted.
async fn revisions_of(ctx: &Ctx, set: &StatefulSet) -> Result<Vec<ControllerRevision>, String> {
    let cache = ctx.informers.controller_revisions.cache();
    let mut candidates = cache.controlled_by(utils::uid(set));
    candidates.extend(cache.orphans(utils::namespace(set)));
    let mut revisions: Vec<ControllerRevision> = candidates
        .iter()
        .filter(|r| utils::is_set_revision(set, r))
        .map(|r| (**r).clone())
        .collect();
    if revisions
        .iter()
        .any(|r| rs_logic::controller_ref(&r.metadata).is_none())
    {
        can_adopt(ctx, set)
            .await
            .map_err(|e| format!("can't adopt ControllerRevisions: {e}"))?;
        let api: Api<ControllerRevision> =
            Api::namespaced(ctx.client.clone(), utils::namespace(set));
        for rev in revisions.iter_mut() {
            if rs_logic::controller_ref(&rev.metadata).is_some() {
                continue;
            }
            let patch = utils::adopt_patch(set, rev.metadata.uid.as_deref().unwrap_or_default());
            *rev = api
                .patch(
                    rev.metadata.name.as_deref().unwrap_or_default(),
                    &PatchParams::default(),
                    &Patch::Strategic(&patch),
                )
                .await
                .map_err(|e| err_text(&e))?;
        }
    }
    Ok(revisions)
}

/// Upstream `getPodsForStatefulSet` (`ClaimPods` with `isMemberOf`).
async fn pods_of(ctx: &Ctx, set: &StatefulSet) -> Result<Vec<Arc<Pod>>, String> {
    let cache = ctx.informers.pods.cache();
    let mut candidates = cache.controlled_by(utils::uid(set));
    candidates.extend(cache.orphans(utils::namespace(set)));
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), utils::namespace(set));
    let mut owned = Vec::new();
    let mut errs = Vec::new();
    let mut adoptable: Option<Result<(), String>> = None;
    for pod in candidates {
        let name = pod.name_any();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        match utils::claim_pod(set, &pod) {
            Claim::Owned => owned.push(pod),
            Claim::Ignore => {}
            Claim::Adopt => {
                if adoptable.is_none() {
                    adoptable = Some(can_adopt(ctx, set).await);
                }
                if let Some(Err(e)) = &adoptable {
                    errs.push(format!(
                        "can't adopt Pod {}/{name} ({uid}): {e}",
                        utils::namespace(set)
                    ));
                    continue;
                }
                let patch = utils::adopt_patch(set, &uid);
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Strategic(&patch))
                    .await
                {
                    Ok(p) => owned.push(Arc::new(p)),
                    Err(e) if is_code(&e, 404) => {}
                    Err(e) => errs.push(err_text(&e)),
                }
            }
            Claim::Release => {
                let patch = utils::release_patch(set, &uid);
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Strategic(&patch))
                    .await
                {
                    Ok(_) => {}
                    Err(e) if is_code(&e, 404) => {}
                    Err(e) => errs.push(err_text(&e)),
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(owned)
    } else {
        Err(aggregate(&errs))
    }
}

/// The namespace's claims, for a set with claim templates: `Ok(None)` when
/// the set has none or the API does not serve claims.
async fn claims_of(ctx: &Ctx, set: &StatefulSet) -> Result<Option<Claims>, String> {
    if utils::claim_templates(set).is_empty() {
        return Ok(None);
    }
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), utils::namespace(set));
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(Some(
            list.items.into_iter().map(|c| (c.name_any(), c)).collect(),
        )),
        Err(e) if is_unserved(&e) => Ok(None),
        Err(e) => Err(err_text(&e)),
    }
}

/// Upstream `CreateControllerRevision`: on a name collision with other
/// data, the collision count goes up and the name changes.
async fn create_revision(
    ctx: &Ctx,
    set: &StatefulSet,
    rev: ControllerRevision,
    mut collision_count: i32,
) -> Result<(ControllerRevision, i32), String> {
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), utils::namespace(set));
    let mut clone = rev.clone();
    loop {
        let name = utils::renamed_for_collision(set, &rev, collision_count);
        clone.metadata.name = Some(name.clone());
        match api.create(&PostParams::default(), &clone).await {
            Ok(created) => return Ok((created, collision_count)),
            Err(e) if is_already_exists(&e) => {
                let exists = api.get(&name).await.map_err(|e| err_text(&e))?;
                if history::equal_revision(&exists, &clone) {
                    return Ok((exists, collision_count));
                }
                collision_count = collision_count.saturating_add(1);
            }
            Err(e) => return Err(err_text(&e)),
        }
    }
}

/// Upstream `UpdateControllerRevision`: the revision takes a new number.
async fn renumber_revision(
    ctx: &Ctx,
    rev: &ControllerRevision,
    revision: i64,
) -> Result<ControllerRevision, String> {
    let api: Api<ControllerRevision> = Api::namespaced(
        ctx.client.clone(),
        rev.metadata.namespace.as_deref().unwrap_or_default(),
    );
    let name = rev.name_any();
    let mut clone = rev.clone();
    let mut last = String::new();
    for _ in 0..UPDATE_ATTEMPTS {
        if clone.revision == revision {
            return Ok(clone);
        }
        clone.revision = revision;
        match api.replace(&name, &PostParams::default(), &clone).await {
            Ok(r) => return Ok(r),
            Err(e) if is_conflict(&e) => {
                last = err_text(&e);
                clone = api.get(&name).await.map_err(|e| err_text(&e))?;
            }
            Err(e) => return Err(err_text(&e)),
        }
    }
    Err(last)
}

/// Upstream `sync` + `UpdateStatefulSet`; the result asks for the key again
/// after a delay.
async fn sync(ctx: &Ctx, key: &Key) -> Result<Option<Duration>, String> {
    let (ns, name) = key;
    let Some(set) = ctx.informers.stateful_sets.cache().get(ns, name) else {
        return Ok(None);
    };
    if !utils::selector_is_valid(&set) {
        // A non-transient error: not retried.
        return Ok(None);
    }
    let revisions = revisions_of(ctx, &set).await?;
    let owned = pods_of(ctx, &set).await?;
    let claims = claims_of(ctx, &set).await?;

    // The current and update revisions.
    let mut sorted: Vec<&ControllerRevision> = revisions.iter().collect();
    history::sort_revisions(&mut sorted);
    let collision_count = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let candidate = utils::new_revision(&set, history::next_revision(&sorted), collision_count);
    let (update_rev, collision_count) = match utils::choose_update_revision(&sorted, candidate) {
        UpdateRevision::Latest(i) => (sorted[i].clone(), collision_count),
        UpdateRevision::Rollback { index, revision } => (
            renumber_revision(ctx, sorted[index], revision).await?,
            collision_count,
        ),
        UpdateRevision::Create(rev) => create_revision(ctx, &set, *rev, collision_count).await?,
    };
    let status_current = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.as_deref())
        .unwrap_or_default();
    let current_rev = sorted
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(status_current))
        .map(|r| (*r).clone())
        .unwrap_or_else(|| update_rev.clone());
    let current_name = current_rev.name_any();
    let update_name = update_rev.name_any();
    let current_set = utils::apply_revision(&set, &current_rev)?;
    let update_set = utils::apply_revision(&set, &update_rev)?;

    // The plan, performed.
    let pods: Vec<&Pod> = owned.iter().map(|p| p.as_ref()).collect();
    let plan = control::plan(&control::Input {
        set: &set,
        current_set: &current_set,
        update_set: &update_set,
        current_revision: &current_name,
        update_revision: &update_name,
        collision_count,
        pods: &pods,
        claims: claims.as_ref(),
        now: Utc::now(),
    });
    if let Some(why) = &plan.waiting {
        tracing::trace!(statefulset = %key_string(key), "{why}");
    }
    let exec = Exec {
        ctx,
        set: &set,
        pods: Api::namespaced(ctx.client.clone(), ns),
        claims_api: Api::namespaced(ctx.client.clone(), ns),
        claims: Mutex::new(claims),
    };
    let mut counts = plan.counts;
    let result = exec.run(&plan, &mut counts).await;

    // The status (written even when a write failed, as upstream).
    let mut status = utils::status(&set, &current_name, &update_name, collision_count, counts);
    utils::complete_rolling_update(&set, &mut status);
    let mut again = None;
    if utils::inconsistent_status(&set, &status) {
        let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
        let mut updated = (*set).clone();
        updated.status = Some(status.clone());
        match api
            .replace_status(name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => {}
            // The cache was behind; the newer version's event brings us
            // back, and a short requeue covers the case where it came.
            Err(e) if is_code(&e, 409) || is_code(&e, 404) => {
                again = Some(Duration::from_millis(100));
            }
            Err(e) => return Err(err_text(&e)),
        }
    }

    // The revision history.
    let pod_revisions: HashSet<&str> = owned
        .iter()
        .map(|p| utils::pod_revision(p.metadata.labels.as_ref()))
        .collect();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    for rev in utils::history_to_delete(&set, &pod_revisions, &sorted, &current_name, &update_name)
    {
        match api.delete(&rev.name_any(), &DeleteParams::default()).await {
            Ok(_) => {}
            Err(e) if is_code(&e, 404) => {}
            Err(e) => return Err(err_text(&e)),
        }
    }
    result?;
    let min_ready = utils::min_ready_seconds(&set);
    if again.is_none()
        && min_ready > 0
        && status.available_replicas.unwrap_or(0) != utils::replicas(&set)
    {
        again = Some(Duration::from_secs(u64::from(min_ready.unsigned_abs())));
    }
    Ok(again)
}

// ---------------------------------------------------------------------------------------------
// Pod and claim writes (stateful_pod_control.go)
// ---------------------------------------------------------------------------------------------

/// Performs a plan's actions for one set.
struct Exec<'a> {
    ctx: &'a Ctx,
    set: &'a StatefulSet,
    pods: Api<CorePod>,
    claims_api: Api<PersistentVolumeClaim>,
    /// The namespace's claims, kept up to date with this sync's writes;
    /// `None` for a set without claim templates or when the API does not
    /// serve claims.
    claims: Mutex<Option<Claims>>,
}

impl Exec<'_> {
    fn claim(&self, name: &str) -> Option<PersistentVolumeClaim> {
        let claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        claims.as_ref()?.get(name).cloned()
    }

    fn remember(&self, claim: PersistentVolumeClaim) {
        let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = claims.as_mut() {
            map.insert(claim.name_any(), claim);
        }
    }

    fn set_name(&self) -> &str {
        utils::name(self.set)
    }

    /// Every phase in order; a failed step (`OrderedReady`) or batch
    /// (`Parallel`) ends the run. `counts.current` drops with each pod
    /// deleted for the update.
    async fn run(&self, plan: &Plan, counts: &mut utils::Counts) -> Result<(), String> {
        for phase in &plan.phases {
            if plan.monotonic {
                for step in phase {
                    counts.current -= self.step(step).await?;
                }
                continue;
            }
            let mut next = 0;
            for size in control::slow_start_batches(phase.len()) {
                let batch = &phase[next..next + size];
                next += size;
                let results = futures::future::join_all(batch.iter().map(|s| self.step(s))).await;
                let mut errs = Vec::new();
                for r in results {
                    match r {
                        Ok(n) => counts.current -= n,
                        Err(e) => errs.push(e),
                    }
                }
                if !errs.is_empty() {
                    return Err(aggregate(&errs));
                }
            }
        }
        Ok(())
    }

    /// One pod's actions; the number of pods deleted for the update.
    async fn step(&self, step: &Step) -> Result<i32, String> {
        let mut deleted_for_update = 0;
        for action in step {
            match action {
                Action::DeleteFailed { pod } | Action::DeleteCondemned { pod } => {
                    self.delete_pod(pod).await.map_err(|e| err_text(&e))?
                }
                Action::DeleteForUpdate { pod } => match self.delete_pod(pod).await {
                    Ok(()) => deleted_for_update += 1,
                    Err(e) if is_code(&e, 404) => deleted_for_update += 1,
                    Err(e) => return Err(err_text(&e)),
                },
                Action::Create { pod } => self.create_pod(pod).await?,
                Action::CreateMissingClaims { pod, uid } => {
                    self.create_claims(pod).await?;
                    let id = PodId { name: pod, uid };
                    if let Err(e) = self.update_claim_owners(id).await {
                        self.pod_event("update", pod, Some(&e)).await;
                        return Err(e);
                    }
                }
                Action::Update { pod } => self.update_pod(pod).await?,
                Action::FixClaims { pod, uid } => {
                    self.update_claim_owners(PodId { name: pod, uid }).await?
                }
            }
        }
        Ok(deleted_for_update)
    }

    async fn pod_event(&self, verb: &str, pod: &str, err: Option<&str>) {
        event(
            self.ctx,
            self.set,
            utils::pod_event(verb, pod, self.set_name(), err),
        )
        .await;
    }

    /// Upstream `DeleteStatefulPod`.
    async fn delete_pod(&self, pod: &str) -> Result<(), kube::Error> {
        let r = self
            .pods
            .delete(pod, &DeleteParams::default())
            .await
            .map(|_| ());
        let text = r.as_ref().err().map(err_text);
        self.pod_event("delete", pod, text.as_deref()).await;
        r
    }

    /// Upstream `CreateStatefulPod`: the claims first, then the pod, then
    /// the claims' ownerReferences as far as possible.
    async fn create_pod(&self, pod: &CorePod) -> Result<(), String> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if let Err(e) = self.create_claims(&name).await {
            self.pod_event("create", &name, Some(&e)).await;
            return Err(e);
        }
        let created = self.pods.create(&PostParams::default(), pod).await;
        if let Err(e) = &created
            && is_already_exists(e)
        {
            return Err(err_text(e));
        }
        let uid = created
            .as_ref()
            .ok()
            .and_then(|p| p.metadata.uid.clone())
            .unwrap_or_default();
        if let Err(e) = self
            .update_claim_owners(PodId {
                name: &name,
                uid: &uid,
            })
            .await
        {
            self.pod_event("update", &name, Some(&e)).await;
            return Err(e);
        }
        let text = created.as_ref().err().map(err_text);
        self.pod_event("create", &name, text.as_deref()).await;
        match text {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// Upstream `createPersistentVolumeClaims`: each missing claim of the
    /// pod is created; a claim being deleted is an error. When the API does
    /// not serve claims, the failure is recorded and the pod goes ahead.
    async fn create_claims(&self, pod: &str) -> Result<(), String> {
        let set = self.set;
        let mut errs = Vec::new();
        for (_, claim) in utils::claims_for(set, utils::ordinal(pod)) {
            let claim_name = claim.name_any();
            match self.claim(&claim_name) {
                Some(found) => {
                    if found.metadata.deletion_timestamp.is_some() {
                        errs.push(format!("pvc {claim_name} is being deleted"));
                    }
                }
                None => match self.claims_api.create(&PostParams::default(), &claim).await {
                    Ok(created) => {
                        self.remember(created);
                        self.claim_event(&claim_name, pod, None).await;
                    }
                    Err(e) if is_unserved(&e) => {
                        self.claim_event(&claim_name, pod, Some(&err_text(&e)))
                            .await;
                    }
                    Err(e) => {
                        let text = err_text(&e);
                        errs.push(format!("failed to create PVC {claim_name}: {text}"));
                        if !is_already_exists(&e) {
                            self.claim_event(&claim_name, pod, Some(&text)).await;
                        }
                    }
                },
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(aggregate(&errs))
        }
    }

    async fn claim_event(&self, claim: &str, pod: &str, err: Option<&str>) {
        event(
            self.ctx,
            self.set,
            utils::claim_event("create", claim, pod, self.set_name(), err),
        )
        .await;
    }

    /// Upstream `UpdatePodClaimForRetentionPolicy`: each existing claim of
    /// the pod gets the ownerReferences the retention policy wants.
    async fn update_claim_owners(&self, pod: PodId<'_>) -> Result<(), String> {
        let set = self.set;
        let ord = utils::ordinal(pod.name);
        for t in utils::claim_templates(set) {
            let claim_name = utils::claim_name(set, t, ord);
            let Some(mut claim) = self.claim(&claim_name) else {
                continue;
            };
            if utils::has_unexpected_controller(&claim, set, pod) {
                let msg = format!(
                    "PersistentVolumeClaim {claim_name} has a conflicting OwnerReference that acts as a manging controller, the retention policy is ignored for this claim"
                );
                event(self.ctx, set, (true, "ConflictingController".into(), msg)).await;
            }
            if utils::is_claim_owner_up_to_date(&claim, set, pod) {
                continue;
            }
            claim.metadata.owner_references =
                Some(utils::updated_claim_owner_refs(&claim, set, pod));
            match self
                .claims_api
                .replace(&claim_name, &PostParams::default(), &claim)
                .await
            {
                Ok(updated) => self.remember(updated),
                Err(e) => {
                    return Err(format!(
                        "could not update claim {claim_name} for delete policy ownerRefs: {}",
                        err_text(&e)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Upstream `UpdateStatefulPod`: the live pod's identity and storage
    /// repaired and its claims' ownership fixed, retried on conflicts.
    async fn update_pod(&self, name: &str) -> Result<(), String> {
        let set = self.set;
        let mut pod = self.pods.get(name).await.map_err(|e| err_text(&e))?;
        let mut attempted = false;
        let mut result = Ok(());
        for _ in 0..UPDATE_ATTEMPTS {
            let mut consistent = true;
            if !utils::identity_matches_full(set, &pod) {
                utils::update_identity(set, &mut pod);
                consistent = false;
            }
            if !utils::storage_matches_full(set, &pod) {
                utils::update_storage(set, &mut pod);
                consistent = false;
                if let Err(e) = self.create_claims(name).await {
                    self.pod_event("update", name, Some(&e)).await;
                    return Err(e);
                }
            }
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let id = PodId { name, uid: &uid };
            let matches = {
                let claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
                claims
                    .as_ref()
                    .is_none_or(|c| utils::claims_match_retention_policy(set, c, id))
            };
            if !matches {
                if let Err(e) = self.update_claim_owners(id).await {
                    self.pod_event("update", name, Some(&e)).await;
                    return Err(e);
                }
                consistent = false;
            }
            if consistent {
                result = Ok(());
                break;
            }
            attempted = true;
            match self.pods.replace(name, &PostParams::default(), &pod).await {
                Ok(_) => {
                    result = Ok(());
                    break;
                }
                Err(e) if is_conflict(&e) => {
                    result = Err(err_text(&e));
                    match self.pods.get(name).await {
                        Ok(p) => pod = p,
                        Err(e) => {
                            result = Err(err_text(&e));
                            break;
                        }
                    }
                }
                Err(e) => {
                    result = Err(err_text(&e));
                    break;
                }
            }
        }
        if attempted {
            self.pod_event("update", name, result.as_ref().err().map(String::as_str))
                .await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_read_as_go() {
        assert_eq!(aggregate(&["a".into()]), "a");
        assert_eq!(aggregate(&["a".into(), "b".into()]), "[a, b]");
    }
}
