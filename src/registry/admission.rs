//! Built-in admission plugins that read other stored objects, as
//! kube-apiserver's admission chain runs them (`plugin/pkg/admission/*`).
//! A kind's own, object-local admission is `Kind::admit_create` /
//! `admit_update`; these need the store, so a resource lists them in its
//! `INFO` (`admission: &[Admission::PodPriority]`) and the store runs them
//! at upstream's points: mutating ones after the kind's admission on create,
//! validating ones after validation, just before the write, and the delete
//! checks before the object is read. Every `match` on [`Admission`] is
//! exhaustive, so a new plugin is a compile error until each point decides.
//!
//! The decisions are pure functions of the object and the objects read
//! (`priority_for_pod`, `default_class_conflict`), unit-tested here.

use serde_json::Value;

use super::served::Resource;
use super::store::ApiResult;
use super::store::Store;
use super::validation::policy::SYSTEM_PRIORITY_CLASSES;
use crate::apimachinery::status::{ApiError, GroupResource};
use crate::storage::ListOptions;

/// One plugin, as a resource registers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Admission {
    /// The Priority plugin on pods (`plugin/pkg/admission/priority`
    /// `admitPod`): `spec.priority` and `spec.preemptionPolicy` from the
    /// named PriorityClass (or the global default one), refusing an unknown
    /// class and a pod that sets a different priority itself.
    PodPriority,
    /// The Priority plugin on PriorityClasses (`validatePriorityClass`): at
    /// most one `globalDefault` class; and the PriorityClass storage's
    /// refusal to delete a system class (`pkg/registry/scheduling/
    /// priorityclass/storage`).
    PriorityClasses,
}

/// `DefaultPriorityWhenNoDefaultClassExists`.
const DEFAULT_PRIORITY: i64 = 0;

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The stored PriorityClasses.
async fn priority_classes(store: &Store) -> ApiResult<Vec<Value>> {
    let Some(res) = store.registry().by_key("scheduling.k8s.io/priorityclasses") else {
        return Ok(Vec::new());
    };
    let gr = res.group_resource();
    let list = store
        .storage()
        .list(res.storage_prefix(), &ListOptions::default())
        .await
        .map_err(|e| super::store::storage_error(&gr, "", e))?;
    Ok(list
        .items
        .iter()
        .filter_map(|kv| serde_json::from_slice(&kv.value).ok())
        .collect())
}

/// The class pods without one get: the `globalDefault` class of lowest
/// value (`getDefaultPriorityClass`).
fn default_class(classes: &[Value]) -> Option<&Value> {
    classes
        .iter()
        .filter(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true))
        .min_by_key(|c| c.get("value").and_then(Value::as_i64).unwrap_or(0))
}

/// `admitPod` on create: sets `priorityClassName` (from a default class),
/// `priority` and `preemptionPolicy`; `Err` is the Forbidden reason.
pub fn priority_for_pod(pod: &mut Value, classes: &[Value]) -> Result<(), String> {
    let class_name = str_at(pod, "/spec/priorityClassName").to_string();
    let (name, priority, preemption) = if class_name.is_empty() {
        match default_class(classes) {
            Some(c) => (
                str_at(c, "/metadata/name").to_string(),
                c.get("value").and_then(Value::as_i64).unwrap_or(0),
                c.get("preemptionPolicy").cloned(),
            ),
            None => (
                String::new(),
                DEFAULT_PRIORITY,
                Some(Value::String("PreemptLowerPriority".into())),
            ),
        }
    } else {
        let Some(c) = classes
            .iter()
            .find(|c| str_at(c, "/metadata/name") == class_name)
        else {
            return Err(format!("no PriorityClass with name {class_name} was found"));
        };
        (
            class_name.clone(),
            c.get("value").and_then(Value::as_i64).unwrap_or(0),
            c.get("preemptionPolicy").cloned(),
        )
    };
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    if !name.is_empty() {
        spec.insert("priorityClassName".into(), Value::String(name));
    }
    if let Some(have) = spec.get("priority").and_then(Value::as_i64)
        && have != priority
    {
        return Err(format!(
            "the integer value of priority ({have}) must not be provided in pod spec; priority admission controller computed {priority} from the given PriorityClass name"
        ));
    }
    spec.insert("priority".into(), Value::from(priority));
    if let Some(policy) = preemption.filter(|p| !p.is_null()) {
        if let Some(have) = spec.get("preemptionPolicy").and_then(Value::as_str)
            && Some(have) != policy.as_str()
        {
            return Err(format!(
                "the string value of PreemptionPolicy ({have}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                policy.as_str().unwrap_or("")
            ));
        }
        spec.insert("preemptionPolicy".into(), policy);
    }
    Ok(())
}

/// `validatePriorityClass`: another class already marked `globalDefault`.
pub fn default_class_conflict(pc: &Value, classes: &[Value]) -> Option<String> {
    if pc.get("globalDefault").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let name = str_at(pc, "/metadata/name");
    let other = default_class(
        &classes
            .iter()
            .filter(|c| str_at(c, "/metadata/name") != name)
            .cloned()
            .collect::<Vec<_>>(),
    )
    .map(|c| str_at(c, "/metadata/name").to_string())?;
    Some(format!(
        "PriorityClass {other} is already marked as default. Only one default can exist"
    ))
}

/// Upstream's admission runs before a `generateName` is expanded, so its
/// refusals name the prefix.
fn admission_name(obj: &Value) -> &str {
    let name = str_at(obj, "/metadata/name");
    let prefix = str_at(obj, "/metadata/generateName");
    if !prefix.is_empty() && name.len() == prefix.len() + 5 && name.starts_with(prefix) {
        prefix
    } else {
        name
    }
}

fn forbidden(res: &Resource, obj: &Value, msg: &str) -> ApiError {
    let gr: GroupResource = res.group_resource();
    ApiError::forbidden_resource(&gr, admission_name(obj), msg)
}

impl Admission {
    /// Mutating admission on create (after the kind's `admit_create`).
    pub async fn admit_create(
        self,
        store: &Store,
        res: &Resource,
        obj: &mut Value,
    ) -> ApiResult<()> {
        match self {
            Admission::PodPriority => {
                let classes = priority_classes(store).await?;
                priority_for_pod(obj, &classes).map_err(|m| forbidden(res, obj, &m))
            }
            Admission::PriorityClasses => Ok(()),
        }
    }

    /// Validating admission on create and update (after validation).
    pub async fn validate_write(self, store: &Store, res: &Resource, obj: &Value) -> ApiResult<()> {
        match self {
            Admission::PodPriority => Ok(()),
            Admission::PriorityClasses => {
                if obj.get("globalDefault").and_then(Value::as_bool) != Some(true) {
                    return Ok(());
                }
                let classes = priority_classes(store).await?;
                match default_class_conflict(obj, &classes) {
                    Some(m) => Err(forbidden(res, obj, &m)),
                    None => Ok(()),
                }
            }
        }
    }

    /// A single DELETE, before the object is read.
    pub fn validate_delete(self, res: &Resource, name: &str) -> ApiResult<()> {
        match self {
            Admission::PodPriority => Ok(()),
            Admission::PriorityClasses => {
                if SYSTEM_PRIORITY_CLASSES.iter().any(|(n, _, _)| *n == name) {
                    return Err(ApiError::forbidden_resource(
                        &res.group_resource(),
                        name,
                        "this is a system priority class and cannot be deleted",
                    ));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(name: &str, value: i64, default: bool, policy: &str) -> Value {
        json!({"metadata": {"name": name}, "value": value, "globalDefault": default, "preemptionPolicy": policy})
    }

    #[test]
    fn pods_get_their_class_priority() {
        let classes = [
            class("high", 1000, false, "Never"),
            class(
                "system-node-critical",
                2_000_001_000,
                false,
                "PreemptLowerPriority",
            ),
        ];
        let mut pod = json!({"spec": {"priorityClassName": "high"}});
        assert_eq!(priority_for_pod(&mut pod, &classes), Ok(()));
        assert_eq!(pod["spec"]["priority"], 1000);
        assert_eq!(pod["spec"]["preemptionPolicy"], "Never");
        let mut missing = json!({"spec": {"priorityClassName": "nope"}});
        assert_eq!(
            priority_for_pod(&mut missing, &classes),
            Err("no PriorityClass with name nope was found".to_string())
        );
        let mut plain = json!({"spec": {}});
        assert_eq!(priority_for_pod(&mut plain, &classes), Ok(()));
        assert_eq!(
            plain,
            json!({"spec": {"priority": 0, "preemptionPolicy": "PreemptLowerPriority"}})
        );
        let mut disagrees = json!({"spec": {"priorityClassName": "high", "priority": 5}});
        assert_eq!(
            priority_for_pod(&mut disagrees, &classes),
            Err("the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000 from the given PriorityClass name".to_string())
        );
        let mut same = json!({"spec": {"priorityClassName": "high", "priority": 1000}});
        assert_eq!(priority_for_pod(&mut same, &classes), Ok(()));
        // No class, no default class: a preemption policy of its own is refused.
        let mut never = json!({"spec": {"preemptionPolicy": "Never"}});
        assert_eq!(
            priority_for_pod(&mut never, &classes),
            Err("the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name".to_string())
        );
        let named = json!({"metadata": {"name": "pg-abcde", "generateName": "pg-"}});
        assert_eq!(admission_name(&named), "pg-");
    }

    #[test]
    fn the_global_default_applies_and_is_unique() {
        let classes = [
            class("a", 10, true, "PreemptLowerPriority"),
            class("b", 5, true, "Never"),
            class("c", 1, false, "PreemptLowerPriority"),
        ];
        let mut pod = json!({"spec": {}});
        assert_eq!(priority_for_pod(&mut pod, &classes), Ok(()));
        assert_eq!(
            pod,
            json!({"spec": {"priorityClassName": "b", "priority": 5, "preemptionPolicy": "Never"}})
        );
        assert_eq!(
            default_class_conflict(&class("d", 1, true, "Never"), &classes[2..]),
            None
        );
        assert_eq!(
            default_class_conflict(&class("d", 1, true, "Never"), &classes[..1]).as_deref(),
            Some("PriorityClass a is already marked as default. Only one default can exist")
        );
        // Its own stored version is not a conflict.
        assert_eq!(default_class_conflict(&classes[0], &classes[..1]), None);
    }
}
