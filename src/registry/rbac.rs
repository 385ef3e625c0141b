//! rbac.authorization.k8s.io/v1 objects as the API server stores them:
//! defaults (`pkg/apis/rbac/v1/defaults.go`), validation
//! (`pkg/apis/rbac/validation/validation.go`) and Table rows
//! (`pkg/printers/internalversion/printers.go`). Pure; the four kind files
//! under `kinds/` wire them. Authorization itself is not here.

use serde_json::{Value, json};

use super::validation::{core_object_meta, core_object_meta_update};
use crate::apimachinery::validation::{FieldError, NameRule, str_of, validate_name};

/// The RBAC API group, the only one `roleRef` and user/group subjects may name.
pub const GROUP: &str = "rbac.authorization.k8s.io";

fn meta(obj: &Value) -> &Value {
    obj.get("metadata").unwrap_or(&Value::Null)
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A `[]string` as upstream v1.36 prints a field error's value: JSON.
fn go_strings(list: &[&str]) -> String {
    Value::Array(list.iter().map(|s| json!(s)).collect()).to_string()
}

/// `SetDefaults_RoleBinding` / `SetDefaults_ClusterRoleBinding` and
/// `SetDefaults_Subject`: an empty `roleRef.apiGroup` is RBAC's, as is the
/// `apiGroup` of user and group subjects.
pub fn default_binding(obj: &mut Value) {
    if let Some(r) = obj.get_mut("roleRef").and_then(Value::as_object_mut)
        && r.get("apiGroup")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
    {
        r.insert("apiGroup".into(), json!(GROUP));
    }
    if let Some(subjects) = obj.get_mut("subjects").and_then(Value::as_array_mut) {
        for s in subjects.iter_mut().filter_map(Value::as_object_mut) {
            let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
            let empty = s
                .get("apiGroup")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty();
            if empty && (kind == "User" || kind == "Group") {
                s.insert("apiGroup".into(), json!(GROUP));
            }
        }
    }
}

/// A role's `rules` has no `omitempty` upstream and an empty list decodes
/// to a nil slice: missing or empty, it is stored and served as `null`.
pub fn null_empty_rules(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        let empty = match m.get("rules") {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if empty {
            m.insert("rules".into(), Value::Null);
        }
    }
}

/// `ValidateRole` (`namespaced`) and `ValidateClusterRole`.
pub fn validate_role(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta(obj), namespaced, NameRule::PathSegment);
    for (i, rule) in obj
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        errs.extend(validate_policy_rule(
            rule,
            namespaced,
            &format!("rules[{i}]"),
        ));
    }
    if !namespaced && let Some(agg) = obj.get("aggregationRule").filter(|a| a.is_object()) {
        errs.extend(validate_aggregation_rule(agg));
    }
    errs
}

/// `ValidateClusterRole`'s aggregation rule: at least one selector, each a
/// valid label selector (upstream v1.36's messages).
fn validate_aggregation_rule(agg: &Value) -> Vec<FieldError> {
    let selectors = agg
        .get("clusterRoleSelectors")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if selectors.is_empty() {
        return vec![FieldError::required(
            "aggregationRule.clusterRoleSelectors",
            "at least one clusterRoleSelector required if aggregationRule is non-nil",
        )];
    }
    let mut errs = Vec::new();
    for (i, sel) in selectors.iter().enumerate() {
        let path = format!("aggregationRule.clusterRoleSelectors[{i}]");
        let found = crate::apimachinery::validation::validate_label_selector(Some(sel), &path);
        if !found.is_empty() {
            errs.extend(found);
            errs.push(FieldError::invalid_repr(
                path,
                "null".to_string(),
                "invalid label selector.",
            ));
        }
    }
    errs
}

/// `ValidateRoleUpdate` / `ValidateClusterRoleUpdate`.
pub fn validate_role_update(obj: &Value, old: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = validate_role(obj, namespaced);
    errs.extend(core_object_meta_update(meta(obj), meta(old)));
    errs
}

fn validate_policy_rule(rule: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let verbs = strings(rule.get("verbs"));
    let urls = strings(rule.get("nonResourceURLs"));
    let groups = strings(rule.get("apiGroups"));
    let resources = strings(rule.get("resources"));
    let names = strings(rule.get("resourceNames"));
    if verbs.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.verbs"),
            "verbs must contain at least one value",
        ));
    }
    if !urls.is_empty() {
        let field = format!("{path}.nonResourceURLs");
        if namespaced {
            errs.push(FieldError::invalid_repr(
                field.as_str(),
                go_strings(&urls),
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if !groups.is_empty() || !resources.is_empty() || !names.is_empty() {
            errs.push(FieldError::invalid_repr(
                field,
                go_strings(&urls),
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return errs;
    }
    if groups.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.apiGroups"),
            "resource rules must supply at least one api group",
        ));
    }
    if resources.is_empty() {
        errs.push(FieldError::required(
            format!("{path}.resources"),
            "resource rules must supply at least one resource",
        ));
    }
    if !names.is_empty() && resources.len() > 1 {
        errs.push(FieldError::required(
            format!("{path}.resourceNames"),
            "resource names cannot apply to multiple resources",
        ));
    }
    errs
}

/// `ValidateRoleBinding` (`namespaced`) and `ValidateClusterRoleBinding`.
pub fn validate_binding(obj: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta(obj), namespaced, NameRule::PathSegment);
    let role_ref = obj.get("roleRef").unwrap_or(&Value::Null);
    let api_group = str_of(role_ref, "apiGroup");
    if api_group != GROUP {
        errs.push(FieldError::not_supported(
            "roleRef.apiGroup",
            api_group,
            &[GROUP],
        ));
    }
    let kind = str_of(role_ref, "kind");
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&kind) {
        errs.push(FieldError::not_supported("roleRef.kind", kind, kinds));
    }
    let name = str_of(role_ref, "name");
    if name.is_empty() {
        errs.push(FieldError::required("roleRef.name", ""));
    } else {
        for msg in validate_name(NameRule::PathSegment, name, false) {
            errs.push(FieldError::invalid("roleRef.name", name, msg));
        }
    }
    for (i, s) in obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        errs.extend(validate_subject(s, namespaced, &format!("subjects[{i}]")));
    }
    errs
}

/// `ValidateRoleBindingUpdate` / `ValidateClusterRoleBindingUpdate`:
/// `roleRef` cannot change.
pub fn validate_binding_update(obj: &Value, old: &Value, namespaced: bool) -> Vec<FieldError> {
    let mut errs = validate_binding(obj, namespaced);
    errs.extend(core_object_meta_update(meta(obj), meta(old)));
    let role_ref = |o: &Value| {
        let r = o.get("roleRef").unwrap_or(&Value::Null);
        (
            str_of(r, "apiGroup").to_string(),
            str_of(r, "kind").to_string(),
            str_of(r, "name").to_string(),
        )
    };
    let (new_ref, old_ref) = (role_ref(obj), role_ref(old));
    if new_ref != old_ref {
        // The internal Go struct, printed as JSON (its fields have no tags).
        errs.push(FieldError::invalid_repr(
            "roleRef",
            json!({"APIGroup": new_ref.0, "Kind": new_ref.1, "Name": new_ref.2}).to_string(),
            "cannot change roleRef",
        ));
    }
    errs
}

fn validate_subject(s: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(s, "name");
    let api_group = str_of(s, "apiGroup");
    if name.is_empty() {
        errs.push(FieldError::required(format!("{path}.name"), ""));
    }
    match str_of(s, "kind") {
        "ServiceAccount" => {
            if !name.is_empty() {
                for msg in validate_name(NameRule::Dns1123Subdomain, name, false) {
                    errs.push(FieldError::invalid(format!("{path}.name"), name, msg));
                }
            }
            if !api_group.is_empty() {
                errs.push(FieldError::not_supported(
                    format!("{path}.apiGroup"),
                    api_group,
                    &[""],
                ));
            }
            if !namespaced && str_of(s, "namespace").is_empty() {
                errs.push(FieldError::required(format!("{path}.namespace"), ""));
            }
        }
        kind @ ("User" | "Group") => {
            if name.is_empty() {
                let what = if kind == "User" { "user" } else { "group" };
                errs.push(FieldError::invalid(
                    format!("{path}.name"),
                    name,
                    format!("{what} name cannot be empty"),
                ));
            }
            if api_group != GROUP {
                errs.push(FieldError::not_supported(
                    format!("{path}.apiGroup"),
                    api_group,
                    &[GROUP],
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            format!("{path}.kind"),
            other,
            &["ServiceAccount", "User", "Group"],
        )),
    }
    errs
}

/// `rbac.SubjectsStrings`: users, groups and `namespace/name` service
/// accounts, each joined with ", ".
fn subjects_strings(obj: &Value) -> [String; 3] {
    let mut out: [Vec<String>; 3] = Default::default();
    for s in obj
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = str_of(s, "name");
        match str_of(s, "kind") {
            "User" => out[0].push(name.to_string()),
            "Group" => out[1].push(name.to_string()),
            "ServiceAccount" => out[2].push(format!("{}/{name}", str_of(s, "namespace"))),
            _ => {}
        }
    }
    out.map(|v| v.join(", "))
}

/// The Role column's text: `Kind/name` of `roleRef`.
pub fn role_ref_cell(obj: &Value) -> String {
    let r = obj.get("roleRef").unwrap_or(&Value::Null);
    format!("{}/{}", str_of(r, "kind"), str_of(r, "name"))
}

/// The wide cells of a binding (users, groups, service accounts).
pub fn subject_cells(obj: &Value) -> Vec<Value> {
    subjects_strings(obj)
        .into_iter()
        .map(Value::String)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn named(v: Value) -> Value {
        let mut v = v;
        v["metadata"] = json!({"name": "r", "namespace": "ns"});
        v
    }

    #[test]
    fn policy_rules_as_upstream_validates_them() {
        let role = named(json!({"rules": [
            {"verbs": []},
            {"verbs": ["get"], "nonResourceURLs": ["/healthz"], "resources": ["pods"]},
            {"verbs": ["get"], "resources": ["pods", "secrets"], "resourceNames": ["a"],
             "apiGroups": [""]}]}));
        assert_eq!(
            msgs(&validate_role(&role, true)),
            [
                "rules[0].verbs: Required value: verbs must contain at least one value",
                "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
                "rules[0].resources: Required value: resource rules must supply at least one resource",
                "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: namespaced rules cannot apply to non-resource URLs",
                "rules[1].nonResourceURLs: Invalid value: [\"/healthz\"]: rules cannot apply to both regular resources and non-resource URLs",
                "rules[2].resourceNames: Required value: resource names cannot apply to multiple resources",
            ]
        );
        let cluster = json!({"metadata": {"name": "c"},
            "rules": [{"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]});
        assert!(validate_role(&cluster, false).is_empty());
    }

    #[test]
    fn bindings_as_upstream_validates_them() {
        let mut b = named(json!({"roleRef": {"kind": "Thing", "name": ""},
            "subjects": [{"kind": "ServiceAccount", "name": "Bad_Name", "apiGroup": "x"},
                {"kind": "User", "name": "alice"}, {"kind": "Robot", "name": "r2"}]}));
        default_binding(&mut b);
        assert_eq!(b["roleRef"]["apiGroup"], GROUP);
        assert_eq!(b["subjects"][1]["apiGroup"], GROUP);
        let m = msgs(&validate_binding(&b, true));
        assert_eq!(
            m[0],
            "roleRef.kind: Unsupported value: \"Thing\": supported values: \"Role\", \"ClusterRole\""
        );
        assert_eq!(m[1], "roleRef.name: Required value");
        assert!(
            m[2].starts_with(
                "subjects[0].name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
            ),
            "{}",
            m[2]
        );
        assert_eq!(
            m[3],
            "subjects[0].apiGroup: Unsupported value: \"x\": supported values: \"\""
        );
        assert_eq!(
            m[4],
            "subjects[2].kind: Unsupported value: \"Robot\": supported values: \"ServiceAccount\", \"User\", \"Group\""
        );
        let crb = json!({"metadata": {"name": "c"},
            "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "x"},
            "subjects": [{"kind": "ServiceAccount", "name": "default"}]});
        assert_eq!(
            msgs(&validate_binding(&crb, false)),
            [
                "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
                "subjects[0].namespace: Required value",
            ]
        );
        let old = json!({"metadata": {"name": "c", "resourceVersion": "1"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"}});
        let mut new = old.clone();
        new["roleRef"]["name"] = json!("edit");
        assert_eq!(
            msgs(&validate_binding_update(&new, &old, false)),
            [
                "roleRef: Invalid value: {\"APIGroup\":\"rbac.authorization.k8s.io\",\"Kind\":\"ClusterRole\",\"Name\":\"edit\"}: cannot change roleRef"
            ]
        );
        assert_eq!(role_ref_cell(&old), "ClusterRole/view");
        let subjects = json!({"subjects": [{"kind": "User", "name": "a"}, {"kind": "User", "name": "b"},
            {"kind": "Group", "name": "g"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]});
        assert_eq!(
            subject_cells(&subjects),
            [json!("a, b"), json!("g"), json!("n/s")]
        );
    }

    #[test]
    fn aggregation_rules_need_a_valid_selector() {
        let role = |agg: Value| json!({"metadata": {"name": "a"}, "aggregationRule": agg});
        let errs = validate_role(&role(json!({"clusterRoleSelectors": []})), false);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "aggregationRule.clusterRoleSelectors");
        assert_eq!(validate_role(&role(json!({})), false).len(), 1);
        let bad = validate_role(
            &role(json!({"clusterRoleSelectors": [{"matchLabels": {"a b": "c"}}]})),
            false,
        );
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert_eq!(bad[1].field, "aggregationRule.clusterRoleSelectors[0]");
        let ok = role(json!({"clusterRoleSelectors": [{"matchLabels": {"x": "true"}}]}));
        assert!(validate_role(&ok, false).is_empty());
    }
}
