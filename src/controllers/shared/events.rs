//! Recording events as kube-controller-manager does: core/v1 `Event`s named
//! `<object>.<hex nanoseconds>`, one per distinct message, with `count` and
//! `lastTimestamp` bumped when the same message repeats
//! (client-go `tools/record/event.go` and its correlator, simplified: no
//! "combined from similar events" aggregation).
//!
//! As client-go's broadcaster, recording never waits for the API: events go
//! through a bounded queue (dropped when it is full) to one task that writes
//! them, and the correlator's spam filter lets each source send at most 25
//! events about one object in a burst, then one every 5 minutes
//! (`EventSourceObjectSpamFilter`; a 1,000-pod ReplicaSet records 25
//! `SuccessfulCreate` events, not 1,000).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use k8s_openapi::api::core::v1::{Event, ObjectReference};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// Normal or Warning.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Normal,
    Warning,
}

/// (object uid, type, reason, message): what makes two events "the same".
type EventKey = (String, &'static str, String, String);

/// client-go's `defaultSpamBurst`.
pub const SPAM_BURST: f64 = 25.0;
/// client-go's `defaultSpamQPS`: one event every 5 minutes.
pub const SPAM_QPS: f64 = 1.0 / 300.0;
/// Events waiting to be written (client-go's `maxQueuedEvents`).
const QUEUE: usize = 1000;

/// A token bucket (`flowcontrol.NewTokenBucketRateLimiter` as the spam
/// filter uses it); pure, time passed in.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(now: Instant) -> Self {
        Bucket {
            tokens: SPAM_BURST,
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * SPAM_QPS).min(SPAM_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Item {
    obj: ObjectReference,
    kind: Kind,
    reason: String,
    message: String,
}

pub struct Recorder {
    tx: tokio::sync::mpsc::Sender<Item>,
    /// Spam filter: one bucket per involved object (this recorder is one source).
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Recorder {
    /// Starts the writer task; must be called inside the runtime.
    pub fn new(client: kube::Client, component: &str) -> Self {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Item>(QUEUE);
        let writer = Arc::new(Writer {
            client,
            component: component.to_string(),
            seen: Mutex::new(HashMap::new()),
        });
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                writer
                    .write(&item.obj, item.kind, &item.reason, &item.message)
                    .await;
            }
        });
        Recorder {
            tx,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Records an event about `obj` without waiting for the write; failures
    /// are logged, never returned (events are best effort, as upstream's).
    pub async fn publish(&self, obj: &ObjectReference, kind: Kind, reason: &str, message: &str) {
        let spam_key = format!(
            "{}/{}/{}/{}/{}",
            obj.kind.as_deref().unwrap_or_default(),
            obj.namespace.as_deref().unwrap_or_default(),
            obj.name.as_deref().unwrap_or_default(),
            obj.uid.as_deref().unwrap_or_default(),
            obj.api_version.as_deref().unwrap_or_default(),
        );
        let now = Instant::now();
        let allowed = match self.buckets.lock() {
            Ok(mut b) => {
                if b.len() > 4096 {
                    // client-go keeps an LRU of 4096; forgetting is generous.
                    b.retain(|_, v| {
                        now.saturating_duration_since(v.last) < Duration::from_secs(300)
                    });
                }
                b.entry(spam_key)
                    .or_insert_with(|| Bucket::new(now))
                    .try_take(now)
            }
            Err(_) => true,
        };
        if !allowed {
            return;
        }
        let _ = self.tx.try_send(Item {
            obj: obj.clone(),
            kind,
            reason: reason.to_string(),
            message: message.to_string(),
        });
    }
}

struct Writer {
    client: kube::Client,
    component: String,
    /// (object uid, type, reason, message) → (event name, count)
    seen: Mutex<HashMap<EventKey, (String, i32)>>,
}

impl Writer {
    async fn write(&self, obj: &ObjectReference, kind: Kind, reason: &str, message: &str) {
        let ns = obj
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let type_ = match kind {
            Kind::Normal => "Normal",
            Kind::Warning => "Warning",
        };
        let key = (
            obj.uid.clone().unwrap_or_default(),
            type_,
            reason.to_string(),
            message.to_string(),
        );
        let now = Utc::now();
        let ts = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let repeat = self.seen.lock().ok().and_then(|mut m| {
            let e = m.get_mut(&key)?;
            e.1 += 1;
            Some(e.clone())
        });
        if let Some((name, count)) = repeat {
            let patch = json!({"count": count, "lastTimestamp": ts});
            if api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .is_ok()
            {
                return;
            }
        }
        let name = format!(
            "{}.{:x}",
            obj.name.clone().unwrap_or_default(),
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        let event: Event = match serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": obj,
            "reason": reason,
            "message": message,
            "source": {"component": self.component},
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "type": type_,
            "reportingComponent": self.component,
            "reportingInstance": "",
        })) {
            Ok(e) => e,
            Err(_) => return,
        };
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                if let Ok(mut m) = self.seen.lock() {
                    if m.len() > 4096 {
                        m.clear();
                    }
                    m.insert(key, (name, 1));
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot record event"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spam_filter_allows_a_burst_of_25_then_one_per_5_minutes() {
        let start = Instant::now();
        let mut b = Bucket::new(start);
        for _ in 0..25 {
            assert!(b.try_take(start));
        }
        assert!(!b.try_take(start));
        assert!(!b.try_take(start + Duration::from_secs(299)));
        assert!(b.try_take(start + Duration::from_secs(301)));
        assert!(!b.try_take(start + Duration::from_secs(302)));
    }
}
