//! The Salesforce client re-exports the core's describe types, so a client describe is
//! already a core describe; this keeps the callers' conversion point in one place.

use crmsync_core::describe::ObjectDescribe;

use crate::error::ServiceError;

pub fn to_core(describe: &ObjectDescribe) -> Result<ObjectDescribe, ServiceError> {
    Ok(describe.clone())
}
