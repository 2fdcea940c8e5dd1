//! Plain-text rendering: progress lines and the per-object count tables.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use crmsync_service::runs::ObjectStats;

/// Where progress lines go: stderr for the binary, nowhere for in-process tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Stderr,
    Silent,
}

impl Progress {
    /// `[n/total] text` (no newline, so `done` can finish the line).
    pub fn step(self, n: usize, total: usize, text: &str) {
        if self == Progress::Stderr {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "[{n}/{total}] {text}… ");
            let _ = err.flush();
        }
    }

    /// Ends a step's line.
    pub fn done(self, text: &str) {
        if self == Progress::Stderr {
            eprintln!("{text}");
        }
    }

    /// A line of its own (indented detail under a step).
    pub fn note(self, text: &str) {
        if self == Progress::Stderr {
            eprintln!("      {text}");
        }
    }
}

const COLUMNS: [&str; 7] = [
    "records",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "unlinked",
    "errors",
];

fn cells(s: &ObjectStats) -> [u64; 7] {
    [
        s.fetched,
        s.created,
        s.updated,
        s.unchanged,
        s.skipped,
        s.unlinked,
        s.errors,
    ]
}

/// A count table: one row per object, then a total row.
pub fn stats_table(objects: &BTreeMap<String, ObjectStats>) -> String {
    let mut out = String::new();
    let width = objects
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("total".len());
    let _ = write!(out, "  {:<width$}", "object");
    for c in COLUMNS {
        let _ = write!(out, " {c:>9}");
    }
    out.push('\n');
    if objects.is_empty() {
        out.push_str("  (no records)\n");
        return out;
    }
    let mut total = ObjectStats::default();
    for (object, s) in objects {
        row(&mut out, object, s, width);
        total.fetched += s.fetched;
        total.created += s.created;
        total.updated += s.updated;
        total.unchanged += s.unchanged;
        total.skipped += s.skipped;
        total.unlinked += s.unlinked;
        total.errors += s.errors;
    }
    if objects.len() > 1 {
        row(&mut out, "total", &total, width);
    }
    out
}

fn row(out: &mut String, name: &str, s: &ObjectStats, width: usize) {
    let _ = write!(out, "  {name:<width$}");
    for v in cells(s) {
        let _ = write!(out, " {v:>9}");
    }
    out.push('\n');
}

/// A list cut to `max` items with "and N more".
pub fn short_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!(
        "{}, and {} more",
        items[..max].join(", "),
        items.len() - max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_a_row_per_object_and_a_total() {
        let mut objects = BTreeMap::new();
        objects.insert(
            "Contact".to_string(),
            ObjectStats {
                fetched: 3,
                created: 2,
                ..Default::default()
            },
        );
        objects.insert(
            "Lead".to_string(),
            ObjectStats {
                fetched: 4,
                errors: 1,
                ..Default::default()
            },
        );
        let t = stats_table(&objects);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[3].starts_with("  total"), "{t}");
        assert!(lines[3].split_whitespace().nth(1) == Some("7"), "{t}");
        assert!(stats_table(&BTreeMap::new()).contains("no records"));
    }

    #[test]
    fn short_lists_say_how_many_were_left_out() {
        let items: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert_eq!(short_list(&items, 2), "0, 1, and 3 more");
        assert_eq!(short_list(&items[..2], 2), "0, 1");
    }
}
