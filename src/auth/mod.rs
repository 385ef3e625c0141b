//! Authentication: who a request is from. Static bearer tokens (the admin
//! token, `--token-auth-file`) and service-account JWTs (legacy secret-based
//! and TokenRequest-bound), verified with the key in the data dir, and client
//! certificates ([`x509`], `--client-ca-file`). Authorization:
//! [`authorizer`] (the `--authorization-mode` chain) over [`rbac`] (the rule
//! evaluator).

pub mod authorizer;
pub mod bootstrap_policy;
pub mod escalation;
pub mod rbac;
pub mod satokens;
mod static_tokens;
pub mod x509;

pub use static_tokens::{Authenticator, UserInfo};

/// An identity inside this process (the controllers, scheduler and
/// simulated kubelets), set as a request extension by their in-process
/// client: network requests cannot carry one, and no token exists for it.
#[derive(Debug, Clone)]
pub struct InProcessUser(pub std::sync::Arc<UserInfo>);
