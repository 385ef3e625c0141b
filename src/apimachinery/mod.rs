//! API machinery with no I/O: `Status` errors, selectors, validation rules,
//! and the patch engines. Nothing here knows HTTP or storage.

pub mod cron;
pub mod fieldmanager;
pub mod fields;
pub mod jsonpatch;
pub mod labels;
pub mod patch_schema;
pub mod protobuf;
pub mod status;
pub mod strategicpatch;
pub mod tznames;
pub mod validation;
