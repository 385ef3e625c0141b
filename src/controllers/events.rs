//! Recording events as kube-controller-manager does: core/v1 `Event`s named
//! `<object>.<hex nanoseconds>`, one per distinct message, with `count` and
//! `lastTimestamp` bumped when the same message repeats
//! (client-go `tools/record/event.go` and its correlator, simplified: no
//! "combined from similar events" aggregation).

use std::collections::HashMap;
use std::sync::Mutex;

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

pub struct Recorder {
    client: kube::Client,
    component: String,
    /// (object uid, type, reason, message) → (event name, count)
    seen: Mutex<HashMap<EventKey, (String, i32)>>,
}

impl Recorder {
    pub fn new(client: kube::Client, component: &str) -> Self {
        Recorder {
            client,
            component: component.to_string(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Records an event about `obj`; failures are logged, never returned
    /// (events are best effort, as upstream's).
    pub async fn publish(&self, obj: &ObjectReference, kind: Kind, reason: &str, message: &str) {
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
