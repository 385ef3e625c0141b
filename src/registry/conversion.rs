//! Resources that share storage with another version: `events.k8s.io/v1`
//! `Event` is stored as core `v1` `Event` (as upstream stores both in one
//! place), converted on the way in and out. Field mapping from upstream
//! `pkg/apis/events/v1/conversion.go`.

pub mod autoscaling;

use serde_json::{Map, Value};

use super::served::Resource;

/// (events.k8s.io/v1 field, core/v1 field)
const EVENT_FIELDS: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(obj: &mut Value, pairs: &[(&str, &str)], forward: bool, api_version: &str) {
    let Some(m) = obj.as_object_mut() else { return };
    let old = std::mem::take(m);
    let mut out = Map::new();
    for (k, v) in old {
        let renamed = pairs
            .iter()
            .find(|(a, b)| if forward { a == &k } else { b == &k })
            .map(|(a, b)| {
                if forward {
                    (*b).to_string()
                } else {
                    (*a).to_string()
                }
            })
            .unwrap_or(k);
        out.insert(renamed, v);
    }
    out.insert("apiVersion".into(), Value::String(api_version.into()));
    *m = out;
}

/// Converts an object of `res`'s version into its stored form (the kind's
/// `served_to_storage`; for a custom resource, its storage version).
pub fn to_storage(res: &Resource, obj: &mut Value) {
    res.strategy.served_to_storage(obj);
}

/// Whether the stored form of `res` differs from the served one. A custom
/// resource whose schema has defaults is also converted on every read
/// (read-time defaulting needs the parsed object).
pub fn converts(res: &Resource) -> bool {
    res.converts() || res.custom.as_ref().is_some_and(|cv| cv.has_defaults)
}

/// Converts a stored object into `res`'s version (the kind's
/// `storage_to_served`).
pub fn from_storage(res: &Resource, obj: &mut Value) {
    res.strategy.storage_to_served(obj);
}

/// An events.k8s.io/v1 Event into its stored core/v1 form.
pub fn events_v1_to_core(obj: &mut Value) {
    rename(obj, EVENT_FIELDS, true, "v1");
}

/// A stored core/v1 Event into events.k8s.io/v1.
pub fn core_to_events_v1(obj: &mut Value) {
    rename(obj, EVENT_FIELDS, false, "events.k8s.io/v1");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip() {
        let res = super::super::served::Registry::builtin()
            .by_key("events.k8s.io/events")
            .unwrap();
        let mut e = json!({"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e"},
            "regarding":{"kind":"Pod","name":"p"},"note":"hello","reason":"Started","type":"Normal",
            "reportingController":"ironkube","deprecatedCount":2});
        let orig = e.clone();
        to_storage(&res, &mut e);
        assert_eq!(e["involvedObject"]["name"], "p");
        assert_eq!(e["message"], "hello");
        assert_eq!(e["count"], 2);
        assert_eq!(e["apiVersion"], "v1");
        from_storage(&res, &mut e);
        assert_eq!(e, orig);
    }
}
