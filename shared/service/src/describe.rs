//! Bridges the Salesforce client's describe types to the core's: both mirror Salesforce's
//! describe JSON, so a serde round trip converts without a hand-written field list.

use crmsync_core::describe::ObjectDescribe as CoreDescribe;
use crmsync_salesforce::describe::ObjectDescribe as ClientDescribe;

use crate::error::ServiceError;

pub fn to_core(describe: &ClientDescribe) -> Result<CoreDescribe, ServiceError> {
    let value =
        serde_json::to_value(describe).map_err(|e| ServiceError::Internal(e.to_string()))?;
    serde_json::from_value(value).map_err(|e| {
        ServiceError::Internal(format!(
            "describe of {} does not convert: {e}",
            describe.name
        ))
    })
}
