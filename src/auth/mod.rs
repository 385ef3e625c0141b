//! Authentication: who a request is from. Static bearer tokens (the admin
//! token, `--token-auth-file`) and service-account JWTs (legacy secret-based
//! and TokenRequest-bound), verified with the key in the data dir. Authorization
//! (RBAC) comes later; every authenticated user may do anything.

pub mod satokens;
mod static_tokens;

pub use static_tokens::{Authenticator, UserInfo};
