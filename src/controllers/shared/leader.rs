//! Leader election on `coordination.k8s.io/v1` Leases, with client-go's
//! semantics (`client-go/tools/leaderelection/leaderelection.go`): a
//! candidate takes a Lease that is free or whose holder has not renewed it
//! for `lease_duration` as observed on the candidate's own clock; the leader
//! renews every `retry_period` and steps down if it cannot renew within
//! `renew_deadline`; every write is a compare-and-swap on resourceVersion,
//! so two candidates never both win.
//!
//! What a leader runs lives on a runtime of its own, so stepping down stops
//! every task it spawned (informers, work queues, simulated kubelets), not
//! only the top-level ones: nothing keeps acting on a lease it lost.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::task::JoinHandle;

/// `--leader-elect*`.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub enabled: bool,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl Default for Config {
    /// kube-controller-manager's and kube-scheduler's defaults.
    fn default() -> Self {
        Config {
            enabled: true,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Where a candidate stands after one attempt.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// This candidate holds the lease now.
    Leading,
    /// Someone else does (or the attempt lost a race).
    Following,
}

/// One candidate for one Lease.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    cfg: Config,
    /// The holder record last seen and when it was first seen unchanged.
    observed: Option<(String, String, Instant)>,
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

impl Elector {
    pub fn new(
        client: kube::Client,
        namespace: &str,
        name: &str,
        identity: &str,
        cfg: Config,
    ) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            cfg,
            observed: None,
        }
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        let t = now();
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.cfg.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(acquired.unwrap_or_else(|| t.clone())),
            renew_time: Some(t),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// client-go's `tryAcquireOrRenew`.
    async fn try_acquire_or_renew(&mut self) -> kube::Result<Outcome> {
        let current = match self.api.get_opt(&self.name).await? {
            Some(l) => l,
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..Default::default()
                    },
                    spec: Some(self.spec(0, None)),
                };
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => {
                        self.observed = None;
                        Ok(Outcome::Leading)
                    }
                    Err(kube::Error::Api(e)) if e.code == 409 => Ok(Outcome::Following),
                    Err(e) => Err(e),
                };
            }
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let record = format!(
            "{holder}|{:?}|{:?}",
            spec.renew_time.as_ref().map(|t| t.0),
            spec.lease_transitions
        );
        let rv = current
            .metadata
            .resource_version
            .clone()
            .unwrap_or_default();
        // The holder's record unchanged since when (on our clock)?
        let since = match &self.observed {
            Some((r, _, at)) if *r == record => *at,
            _ => {
                let at = Instant::now();
                self.observed = Some((record, rv.clone(), at));
                at
            }
        };
        let duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.cfg.lease_duration);
        let mine = holder == self.identity;
        if !holder.is_empty() && !mine && since.elapsed() < duration {
            return Ok(Outcome::Following);
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if mine {
            self.spec(transitions, spec.acquire_time.clone())
        } else {
            self.spec(transitions + 1, None)
        };
        let mut lease = current;
        lease.spec = Some(new_spec);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.observed = None;
                Ok(Outcome::Leading)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Outcome::Following),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up so another replica need not wait it out
    /// (client-go's `ReleaseOnCancel`).
    async fn release(&mut self) {
        let mut lease = match self.api.get_opt(&self.name).await {
            Ok(Some(l)) => l,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "cannot release the lease");
                return;
            }
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(lease = %self.name, "lease released"),
            Err(e) => tracing::warn!(lease = %self.name, error = %e, "cannot release the lease"),
        }
    }

    async fn attempt(&mut self) -> Option<Outcome> {
        let bound = self.cfg.retry_period.max(Duration::from_millis(100));
        match tokio::time::timeout(bound, self.try_acquire_or_renew()).await {
            Ok(Ok(o)) => Some(o),
            Ok(Err(e)) => {
                tracing::warn!(lease = %self.name, error = %e, "leader election: error");
                None
            }
            Err(_) => None,
        }
    }

    /// Campaigns forever: while leading, `lead` has started what leads; on
    /// losing the lease it is stopped and the campaign resumes. `stop` ends
    /// the campaign, releasing the lease if held.
    pub async fn run<F>(mut self, lead: F, mut stop: tokio::sync::watch::Receiver<bool>)
    where
        F: Fn() -> Option<Leading>,
    {
        loop {
            // Acquire (client-go jitters the retry period by 1.2).
            loop {
                if self.attempt().await == Some(Outcome::Leading) {
                    break;
                }
                let jitter = self
                    .cfg
                    .retry_period
                    .mul_f64(1.0 + rand::random::<f64>() * 0.2);
                tokio::select! {
                    _ = tokio::time::sleep(jitter) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
            tracing::info!(lease = %self.name, identity = %self.identity, "successfully acquired lease");
            let leading = lead();
            let mut renewed = Instant::now();
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.retry_period) => {}
                    _ = stopped(&mut stop) => {
                        drop(leading);
                        self.release().await;
                        return;
                    }
                }
                match self.attempt().await {
                    Some(Outcome::Leading) => renewed = Instant::now(),
                    Some(Outcome::Following) => break,
                    None if renewed.elapsed() >= self.cfg.renew_deadline => break,
                    None => {}
                }
            }
            tracing::warn!(lease = %self.name, identity = %self.identity, "leaderelection lost");
            drop(leading);
        }
    }
}

/// Campaigns for the `kube-system/<lease>` Lease on a task of its own and,
/// while leading, runs what `start` starts on a runtime of its own.
pub fn campaign<F>(
    client: kube::Client,
    lease: &str,
    identity: &str,
    cfg: Config,
    start: F,
    stop: tokio::sync::watch::Receiver<bool>,
) -> JoinHandle<()>
where
    F: Fn() -> Vec<JoinHandle<()>> + Send + 'static,
{
    let elector = Elector::new(client, "kube-system", lease, identity, cfg);
    let name = lease.to_string();
    tokio::spawn(elector.run(move || Leading::start(&name, &start), stop))
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// What a leader runs: its own runtime, shut down (every task on it
/// stopped) when dropped.
pub struct Leading {
    runtime: Option<tokio::runtime::Runtime>,
    _tasks: Vec<JoinHandle<()>>,
}

impl Leading {
    /// Starts `start` on a new runtime: every task it (and they) spawn runs there.
    pub fn start(name: &str, start: impl FnOnce() -> Vec<JoinHandle<()>>) -> Option<Leading> {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(format!("ironkube-{name}"))
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start a runtime for {name}");
                return None;
            }
        };
        let tasks = {
            let _in = runtime.enter();
            start()
        };
        Some(Leading {
            runtime: Some(runtime),
            _tasks: tasks,
        })
    }
}

impl Drop for Leading {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// This process's candidate identity: the host name and an id kept in the
/// data directory, so a restarted replica recognises (and renews at once)
/// a lease it held before (upstream: host name and a fresh UUID).
pub fn identity(data_dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ironkube".into());
    let path = data_dir.join("leader-election-id");
    let id = match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => {
            let id = uuid::Uuid::new_v4().to_string();
            let _ = std::fs::write(&path, &id);
            id
        }
    };
    format!("{host}_{id}")
}
