//! Authentication: `Authorization: Bearer <token>` against static tokens (the
//! admin token and kube-apiserver's `--token-auth-file` CSV format).
//! Authorization (RBAC) comes later; every authenticated user may do anything.

use std::collections::HashMap;

/// Who a request is from (`user.Info`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub name: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: std::collections::BTreeMap<String, Vec<String>>,
}

/// Maps bearer tokens to users.
#[derive(Debug, Default, Clone)]
pub struct Authenticator {
    tokens: HashMap<String, UserInfo>,
}

impl Authenticator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token; `system:authenticated` is always among the groups.
    pub fn add(&mut self, token: &str, mut user: UserInfo) {
        if !user.groups.iter().any(|g| g == "system:authenticated") {
            user.groups.push("system:authenticated".into());
        }
        self.tokens.insert(token.to_string(), user);
    }

    /// Reads a static token file: `token,user,uid,"group1,group2"` per line.
    pub fn load_token_file(&mut self, text: &str) -> Result<usize, String> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields = split_csv(line);
            if fields.len() < 3 {
                return Err(format!(
                    "token file: line {}: needs at least token,user,uid, found {} columns",
                    i + 1,
                    fields.len()
                ));
            }
            if fields[0].is_empty() || fields[1].is_empty() {
                return Err(format!(
                    "token file: line {}: token and user must not be empty",
                    i + 1
                ));
            }
            let groups = fields
                .get(3)
                .map(|g| {
                    g.split(',')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            self.add(
                &fields[0],
                UserInfo {
                    name: fields[1].clone(),
                    uid: fields[2].clone(),
                    groups,
                    ..Default::default()
                },
            );
            n += 1;
        }
        Ok(n)
    }

    /// The user of an `Authorization` header value, if it is a known bearer token.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<&UserInfo> {
        let value = authorization?.trim();
        let (scheme, token) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.tokens.get(token.trim())
    }
}

/// Splits one CSV line, honouring double quotes (`""` is a literal quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_and_bearer() {
        let mut a = Authenticator::new();
        let n = a
            .load_token_file("# comment\nt1,alice,u1,\"dev,ops\"\nt2,bob,u2\n")
            .unwrap();
        assert_eq!(n, 2);
        let u = a.authenticate(Some("Bearer t1")).unwrap();
        assert_eq!(u.name, "alice");
        assert_eq!(u.groups, ["dev", "ops", "system:authenticated"]);
        assert_eq!(a.authenticate(Some("bearer t2")).unwrap().uid, "u2");
        assert!(a.authenticate(Some("Bearer nope")).is_none());
        assert!(a.authenticate(Some("Basic dDE=")).is_none());
        assert!(a.authenticate(None).is_none());
        assert!(a.load_token_file("onlytoken\n").is_err());
    }
}
