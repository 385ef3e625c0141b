//! Discovery documents, legacy (`APIVersions`, `APIGroupList`, `APIGroup`,
//! `APIResourceList`) and aggregated (`apidiscovery.k8s.io/v2` and `v2beta1`
//! `APIGroupDiscoveryList`), all derived from one snapshot of the registry.
//! Upstream: `apiserver/pkg/endpoints/discovery/` and `discovery/aggregated/`.

use serde_json::{Value, json};

use crate::registry::served::{Resource, Served};

/// The aggregated-discovery version an `Accept` header asks for, if any.
pub fn aggregated_version(accept: Option<&str>) -> Option<&'static str> {
    for raw in accept?.split(',') {
        let mut parts = raw.split(';').map(str::trim);
        let essence = parts.next().unwrap_or("");
        let params: Vec<(&str, &str)> = parts.filter_map(|p| p.split_once('=')).collect();
        let get = |k: &str| params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
        if essence == "application/json"
            && get("g") == Some("apidiscovery.k8s.io")
            && get("as") == Some("APIGroupDiscoveryList")
        {
            match get("v") {
                Some("v2") => return Some("v2"),
                Some("v2beta1") => return Some("v2beta1"),
                _ => continue,
            }
        }
        if matches!(essence, "application/json" | "*/*" | "application/*") && get("as").is_none() {
            return None;
        }
    }
    None
}

/// The content type of an aggregated discovery answer.
pub fn aggregated_content_type(v: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList")
}

/// `/api`.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_doc(served: &Served, group: &str) -> Value {
    let versions: Vec<Value> = served
        .versions(group)
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(json!({}));
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// `/apis`.
pub fn api_group_list(served: &Served) -> Value {
    let groups: Vec<Value> = served
        .groups()
        .iter()
        .map(|g| group_doc(served, &g.name))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`.
pub fn api_group(served: &Served, group: &str) -> Option<Value> {
    if group.is_empty() || served.versions(group).is_empty() {
        return None;
    }
    let mut g = group_doc(served, group);
    if let Some(m) = g.as_object_mut() {
        m.insert("kind".into(), json!("APIGroup"));
        m.insert("apiVersion".into(), json!("v1"));
    }
    // Keep kind/apiVersion first, as upstream prints them.
    let mut ordered = serde_json::Map::new();
    ordered.insert("kind".into(), json!("APIGroup"));
    ordered.insert("apiVersion".into(), json!("v1"));
    if let Some(m) = g.as_object() {
        for (k, v) in m {
            if k != "kind" && k != "apiVersion" {
                ordered.insert(k.clone(), v.clone());
            }
        }
    }
    Some(Value::Object(ordered))
}

/// `/api/v1` and `/apis/{group}/{version}`.
pub fn api_resource_list(served: &Served, group: &str, version: &str) -> Option<Value> {
    let res = served.group_version(group, version);
    if res.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for r in res {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if let Some(m) = entry.as_object_mut() {
            if !r.short_names.is_empty() {
                m.insert("shortNames".into(), json!(r.short_names));
            }
            if !r.categories.is_empty() {
                m.insert("categories".into(), json!(r.categories));
            }
            if let Some(h) = r.storage_version_hash() {
                m.insert("storageVersionHash".into(), json!(h));
            }
        }
        out.push(entry);
        let mut subs: Vec<_> = r.subresources.iter().collect();
        subs.sort_by(|a, b| a.name.cmp(&b.name));
        for s in subs {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if !s.group.is_empty()
                && s.group != r.group
                && let Some(m) = e.as_object_mut()
            {
                m.insert("group".into(), json!(s.group));
                m.insert("version".into(), json!(s.version));
            }
            out.push(e);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}),
    )
}

fn discovery_resource(r: &Resource) -> Value {
    let mut e = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if let Some(m) = e.as_object_mut() {
        if !r.short_names.is_empty() {
            m.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            m.insert("categories".into(), json!(r.categories));
        }
        if !r.subresources.is_empty() {
            let mut subs: Vec<_> = r.subresources.iter().collect();
            subs.sort_by(|a, b| a.name.cmp(&b.name));
            let subs: Vec<Value> = subs
                .iter()
                .map(|s| {
                    json!({
                        "subresource": s.name,
                        "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                        "verbs": s.verbs,
                    })
                })
                .collect();
            m.insert("subresources".into(), Value::Array(subs));
        }
    }
    e
}

fn discovery_group(served: &Served, group: &str) -> Value {
    let versions: Vec<Value> = served
        .versions(group)
        .iter()
        .map(|ver| {
            let res: Vec<Value> = served
                .group_version(group, ver)
                .into_iter()
                .map(|r| discovery_resource(r))
                .collect();
            json!({"version": ver, "resources": res, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery for `/api` (`legacy` = true) or `/apis`.
pub fn aggregated(served: &Served, legacy: bool, v: &str) -> Value {
    let items: Vec<Value> = if legacy {
        vec![discovery_group(served, "")]
    } else {
        served
            .groups()
            .iter()
            .map(|g| discovery_group(served, &g.name))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{v}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregated_accept() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(Some(kubectl)), Some("v2"));
        assert_eq!(aggregated_version(Some("application/json")), None);
        assert_eq!(aggregated_version(None), None);
    }

    #[test]
    fn resource_list_has_subresources() {
        let reg = crate::registry::served::Registry::builtin();
        let l = api_resource_list(&reg.snapshot(), "apps", "v1").unwrap();
        let names: Vec<&str> = l["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "controllerrevisions",
                "daemonsets",
                "daemonsets/status",
                "deployments",
                "deployments/scale",
                "deployments/status",
                "replicasets",
                "replicasets/scale",
                "replicasets/status",
                "statefulsets",
                "statefulsets/scale",
                "statefulsets/status"
            ]
        );
        assert_eq!(l["resources"][4]["group"], "autoscaling");
    }

    #[test]
    fn resources_added_at_run_time_are_discovered() {
        use crate::registry::served::{Registry, Resource, ResourceSpec, SubresourceInfo};
        let reg = Registry::builtin();
        let verbs: Vec<String> = ["get", "list"].iter().map(|v| v.to_string()).collect();
        let spec = ResourceSpec {
            group: "reshape.example.com".into(),
            version: "v1".into(),
            kind: "Foo".into(),
            plural: "foos".into(),
            singular: "foo".into(),
            namespaced: true,
            short_names: vec!["fo".into()],
            categories: vec!["all".into()],
            verbs,
            subresources: vec![SubresourceInfo::new(
                crate::registry::handler::SubresourceHandler::Status,
                ("reshape.example.com", "v1", "Foo"),
            )],
            storage_version: true,
            storage_gvk: None,
            stored: true,
            strategy: std::sync::Arc::new(crate::registry::kind::Unstructured),
            custom: None,
        };
        reg.set_source("foos.reshape.example.com", vec![Resource::new("", spec)])
            .unwrap();
        let s = reg.snapshot();
        let groups = api_group_list(&s);
        let names: Vec<&str> = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.last(), Some(&"reshape.example.com"));
        let g = api_group(&s, "reshape.example.com").unwrap();
        assert_eq!(
            g["preferredVersion"]["groupVersion"],
            "reshape.example.com/v1"
        );
        let l = api_resource_list(&s, "reshape.example.com", "v1").unwrap();
        assert_eq!(l["resources"][0]["shortNames"][0], "fo");
        assert_eq!(l["resources"][1]["name"], "foos/status");
        let agg = aggregated(&s, false, "v2");
        let last = agg["items"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["versions"][0]["resources"][0]["resource"], "foos");
        reg.remove_source("foos.reshape.example.com");
        assert!(api_group(&reg.snapshot(), "reshape.example.com").is_none());
        assert!(api_group(&reg.snapshot(), "").is_none());
    }
}
