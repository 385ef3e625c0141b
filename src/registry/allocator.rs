//! Service ClusterIP and NodePort allocation, as upstream's service REST
//! storage does on create (`pkg/registry/core/service/ipallocator`,
//! `portallocator`): IPv4 single-stack from `10.96.0.0/12` (the first address
//! belongs to the `kubernetes` service), node ports from 30000–32767.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::apimachinery::validation::FieldError;

/// The service CIDR.
pub const SERVICE_CIDR_BASE: u32 = 0x0A60_0000; // 10.96.0.0
pub const SERVICE_CIDR_BITS: u32 = 12;
pub const NODE_PORT_MIN: i64 = 30000;
pub const NODE_PORT_MAX: i64 = 32767;

/// The `kubernetes` service's address.
pub fn first_service_ip() -> String {
    Ipv4Addr::from(SERVICE_CIDR_BASE + 1).to_string()
}

/// What existing services already hold.
#[derive(Debug, Default)]
pub struct Used {
    pub ips: HashSet<String>,
    pub node_ports: HashSet<i64>,
}

impl Used {
    pub fn add_service(&mut self, svc: &Value) {
        if let Some(ips) = svc.pointer("/spec/clusterIPs").and_then(Value::as_array) {
            for ip in ips.iter().filter_map(Value::as_str) {
                self.ips.insert(ip.to_string());
            }
        }
        if let Some(ports) = svc.pointer("/spec/ports").and_then(Value::as_array) {
            for p in ports {
                if let Some(n) = p.get("nodePort").and_then(Value::as_i64) {
                    self.node_ports.insert(n);
                }
            }
        }
    }
}

/// One allocated value: a cluster IP or a node port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    Ip(String),
    NodePort(i64),
}

impl Used {
    pub fn add_taken(&mut self, t: &Taken) {
        match t {
            Taken::Ip(ip) => {
                self.ips.insert(ip.clone());
            }
            Taken::NodePort(p) => {
                self.node_ports.insert(*p);
            }
        }
    }
}

/// The cluster IPs (not `None`) and node ports a service holds.
pub fn values(svc: &Value) -> Vec<Taken> {
    let mut out = Vec::new();
    if let Some(ips) = svc.pointer("/spec/clusterIPs").and_then(Value::as_array) {
        for ip in ips.iter().filter_map(Value::as_str) {
            if ip != "None" && !ip.is_empty() {
                out.push(Taken::Ip(ip.to_string()));
            }
        }
    }
    if let Some(ports) = svc.pointer("/spec/ports").and_then(Value::as_array) {
        for p in ports {
            if let Some(n) = p
                .get("nodePort")
                .and_then(Value::as_i64)
                .filter(|n| *n != 0)
            {
                out.push(Taken::NodePort(n));
            }
        }
    }
    out
}

/// The values a client asked for by name (not left to the allocator).
pub fn requested(svc: &Value) -> Vec<Taken> {
    let mut out = Vec::new();
    if let Some(ip) = svc
        .pointer("/spec/clusterIP")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && *s != "None")
    {
        out.push(Taken::Ip(ip.to_string()));
    }
    out.extend(
        values(svc)
            .into_iter()
            .filter(|t| matches!(t, Taken::NodePort(_))),
    );
    out
}

/// The 422 cause for a value another service holds.
pub fn taken_error(t: &Taken) -> Vec<FieldError> {
    match t {
        Taken::Ip(ip) => vec![FieldError::invalid(
            "spec.clusterIPs",
            json!([ip]),
            format!("failed to allocate IP {ip}: provided IP is already allocated"),
        )],
        Taken::NodePort(n) => vec![FieldError::invalid(
            "spec.ports[0].nodePort",
            json!(n),
            "provided port is already allocated".to_string(),
        )],
    }
}

/// The storage key and value reserving `t` for service `owner`
/// (namespace, name): an IP as upstream's `networking.k8s.io/v1`
/// IPAddress object, a node port as a small record of ironkube's.
pub fn reservation(t: &Taken, owner: (&str, &str)) -> (String, bytes::Bytes) {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // Upstream leaves the empty (core) group out of the parent reference.
    let parent = json!({"resource": "services", "namespace": owner.0, "name": owner.1});
    let (key, v) = match t {
        Taken::Ip(ip) => (
            format!("/registry/ipaddresses/{ip}"),
            json!({
                "kind": "IPAddress",
                "apiVersion": "networking.k8s.io/v1",
                "metadata": {
                    "name": ip,
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": now,
                    "labels": {
                        "ipaddress.kubernetes.io/ip-family": "IPv4",
                        "ipaddress.kubernetes.io/managed-by": "ipallocator.k8s.io",
                    },
                },
                "spec": {"parentRef": parent},
            }),
        ),
        Taken::NodePort(p) => (
            format!("/registry/ironkube.io/servicenodeports/{p}"),
            json!({"port": p, "creationTimestamp": now, "parentRef": parent}),
        ),
    };
    (key, bytes::Bytes::from(v.to_string()))
}

/// Who a reservation is for, and how old it is.
pub fn reservation_holder(body: &[u8]) -> (Option<(String, String)>, std::time::Duration) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, std::time::Duration::MAX);
    };
    let parent = v.pointer("/spec/parentRef").or_else(|| v.get("parentRef"));
    let holder = parent.and_then(|p| {
        Some((
            p.get("namespace")?.as_str()?.to_string(),
            p.get("name")?.as_str()?.to_string(),
        ))
    });
    let created = v
        .pointer("/metadata/creationTimestamp")
        .or_else(|| v.get("creationTimestamp"))
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let age = created
        .and_then(|c| {
            (chrono::Utc::now() - c.with_timezone(&chrono::Utc))
                .to_std()
                .ok()
        })
        .unwrap_or(std::time::Duration::ZERO);
    (holder, age)
}

fn in_range(ip: &str) -> bool {
    ip.parse::<Ipv4Addr>()
        .map(|a| {
            u32::from(a) >> (32 - SERVICE_CIDR_BITS)
                == SERVICE_CIDR_BASE >> (32 - SERVICE_CIDR_BITS)
        })
        .unwrap_or(false)
}

/// Fills `spec.clusterIP(s)`, `ipFamilies`, `ipFamilyPolicy` and node ports of
/// a new service; errors for addresses or ports already taken.
pub fn allocate(svc: &mut Value, used: &Used) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let kind = svc
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return errs;
    };
    if kind != "ExternalName" {
        let requested = spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let ip = match requested {
            Some(ip) if ip == "None" => Some(ip),
            Some(ip) => {
                if !in_range(&ip) {
                    errs.push(FieldError::invalid(
                        "spec.clusterIPs",
                        json!([ip]),
                        format!(
                            "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12"
                        ),
                    ));
                    None
                } else if used.ips.contains(&ip) {
                    errs.push(FieldError::invalid(
                        "spec.clusterIPs",
                        json!([ip]),
                        format!("failed to allocate IP {ip}: provided IP is already allocated"),
                    ));
                    None
                } else {
                    Some(ip)
                }
            }
            None => {
                let size = 1u32 << (32 - SERVICE_CIDR_BITS);
                let mut found = None;
                for _ in 0..64 {
                    // Skip the network address and the first (reserved) address.
                    let off = 2 + rand::random_range(0..size - 3);
                    let ip = Ipv4Addr::from(SERVICE_CIDR_BASE + off).to_string();
                    if !used.ips.contains(&ip) {
                        found = Some(ip);
                        break;
                    }
                }
                if found.is_none() {
                    errs.push(FieldError::internal("spec.clusterIPs", "range is full"));
                }
                found
            }
        };
        if let Some(ip) = ip {
            spec.insert("clusterIP".into(), json!(ip));
            spec.insert("clusterIPs".into(), json!([ip]));
            spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
            spec.entry("ipFamilyPolicy")
                .or_insert_with(|| json!("SingleStack"));
        }
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        let mut taken = used.node_ports.clone();
        if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
            for (i, p) in ports.iter_mut().enumerate() {
                let Some(p) = p.as_object_mut() else { continue };
                match p.get("nodePort").and_then(Value::as_i64) {
                    Some(n) if n != 0 => {
                        if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&n) || !taken.insert(n) {
                            errs.push(FieldError::invalid(
                                format!("spec.ports[{i}].nodePort"),
                                json!(n),
                                "provided port is already allocated".to_string(),
                            ));
                        }
                    }
                    _ => {
                        let mut port = None;
                        for _ in 0..256 {
                            let n = rand::random_range(NODE_PORT_MIN..=NODE_PORT_MAX);
                            if taken.insert(n) {
                                port = Some(n);
                                break;
                            }
                        }
                        if let Some(n) = port {
                            p.insert("nodePort".into(), json!(n));
                        }
                    }
                }
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_unique_ips_and_ports() {
        let mut used = Used::default();
        used.ips.insert(first_service_ip());
        let mut a = json!({"spec":{"type":"NodePort","ports":[{"port":80}]}});
        assert!(allocate(&mut a, &used).is_empty());
        let ip = a["spec"]["clusterIP"].as_str().unwrap().to_string();
        assert!(in_range(&ip) && ip != "10.96.0.1");
        assert_eq!(a["spec"]["clusterIPs"], json!([ip]));
        let port = a["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!((NODE_PORT_MIN..=NODE_PORT_MAX).contains(&port));
        used.add_service(&a);
        let mut b = json!({"spec":{"clusterIP": ip.clone(), "ports":[{"port":80}]}});
        let errs = allocate(&mut b, &used);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "spec.clusterIPs");
        let mut headless = json!({"spec":{"clusterIP":"None"}});
        assert!(allocate(&mut headless, &used).is_empty());
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        let mut ext = json!({"spec":{"type":"ExternalName","externalName":"x.example.com"}});
        assert!(allocate(&mut ext, &used).is_empty());
        assert!(ext["spec"].get("clusterIP").is_none());
    }
}
