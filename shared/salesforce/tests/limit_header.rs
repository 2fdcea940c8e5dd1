//! `Sforce-Limit-Info` in any documented arrangement: entries in any order, separated by
//! `;` (or `,`), with unknown entries such as `api-bursts`, and an optional per-app quota.

use crmsync_salesforce::{ApiUsage, AppQuotaUsage};
use proptest::prelude::*;

fn entries() -> impl Strategy<Value = (u64, u64, Option<(u64, u64)>, Vec<String>, bool)> {
    (
        0u64..10_000_000,
        1u64..10_000_000,
        proptest::option::of((0u64..100_000, 1u64..100_000)),
        proptest::collection::vec("[a-z]{2,8}-[a-z]{2,8}=[0-9]{1,4}/[0-9]{1,4}", 0..3),
        any::<bool>(),
    )
}

proptest! {
    #[test]
    fn every_arrangement_parses((used, max, app, extra, semicolons) in entries(), rotate in 0usize..5) {
        let mut parts = vec![format!("api-usage={used}/{max}")];
        if let Some((a_used, a_max)) = app {
            parts.push(format!("per-app-api-usage={a_used}/{a_max}(appName=some-app)"));
        }
        parts.extend(extra.iter().filter(|e| !e.starts_with("api-usage")).cloned());
        let n = parts.len();
        parts.rotate_left(rotate % n);
        let header = parts.join(if semicolons { "; " } else { ", " });
        let parsed = ApiUsage::parse_header(&header);
        prop_assert_eq!(
            parsed,
            Some(ApiUsage {
                used,
                max,
                per_app: app.map(|(used, max)| AppQuotaUsage { used, max }),
            }),
            "header: {}", header
        );
    }
}
