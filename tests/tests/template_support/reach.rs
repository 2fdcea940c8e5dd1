//! What each function's code can reach, found by scanning the sources: a coarse call
//! graph over crmsync-service (by name, so it over-approximates), and the port calls in
//! each reachable function (queue sends, token-vault methods, table stores, plain secret
//! reads). The adapters in crmsync-store then say which AWS actions each port method uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::sources::{rust_files, shipped_part};

static FN_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bfn\s+([a-z_][a-z0-9_]*)").expect("valid regex"));
static IMPL_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bimpl(?:<[^>]*>)?\s+(?:([A-Za-z_][A-Za-z0-9_:]*)(?:<[^>]*>)?\s+for\s+)?([A-Z][A-Za-z0-9_]*)")
        .expect("valid regex")
});
/// A whole path (`crate::parked::replay`); its last two segments are resolved.
static PATH_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:[A-Za-z_][A-Za-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)::([a-z_][a-z0-9_]*)\b")
        .expect("valid regex")
});
static METHOD_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.\s*([a-z_][a-z0-9_]*)\s*(?:::<[^>]*>)?\(").expect("valid regex")
});
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\b").expect("valid regex"));
static ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([a-z_][a-z0-9_]*)\s+as\s+([a-z_][a-z0-9_]*)").expect("valid regex")
});
static USE_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\buse\s+(crate|super|self)::([^;]*);").expect("valid regex"));
static STRING_OR_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r##"(?s)r#".*?"#|'(?:[^'\\\n]|\\.)'|"(?:[^"\\]|\\.)*"|//[^\n]*"##)
        .expect("valid regex")
});
static QUEUE_SEND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.queues\s*\.\s*send_batch\(\s*QueueKind::([A-Za-z]+)").expect("valid regex")
});
static VAULT_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.vault\s*\.\s*([a-z_]+)\(").expect("valid regex"));
static TABLE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\.(connections|tenants|configs|cursors|links|reports|intents|runs|changes|oauth_states|idempotency|leases|quotas)\s*\.\s*[a-z_]+\(")
        .expect("valid regex")
});
static SDK_OP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.client\s*\.\s*([a-z_]+)\(\)").expect("valid regex"));
static SELF_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:self|Self)\s*(?:\.|::)\s*([a-z_]+)\(").expect("valid regex"));

/// One function item of a scanned crate.
#[derive(Debug, Clone)]
pub struct FnItem {
    /// File stem (`mod.rs`: its directory), e.g. `poll`, `http`, `oauth`.
    pub module: String,
    pub name: String,
    /// `Some(type)` inside `impl Type` or `impl Trait for Type`.
    pub impl_of: Option<String>,
    /// `true` inside `impl Trait for Type`.
    pub trait_impl: bool,
    pub body: String,
    /// Names imported by the file (`use crate::m::{a, b}`), with their module, and aliases.
    imports: BTreeMap<String, String>,
}

impl FnItem {
    pub fn id(&self) -> String {
        format!("{}::{}", self.module, self.name)
    }
}

/// What the code asks of AWS, as port calls.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PortCall {
    /// `queues.send_batch(QueueKind::X, ..)`.
    QueueSend(String),
    /// `vault.<method>(..)` on the token vault.
    Vault(String),
    /// Any table store.
    Table,
    /// `read_secret_string(..)` inside the named function.
    PlainSecretRead(String),
}

fn module_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if stem == "mod" || stem == "lib" || stem == "main" {
        let dir = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str());
        return match (stem, dir) {
            ("mod", Some(d)) => d.to_owned(),
            _ => stem.to_owned(),
        };
    }
    stem.to_owned()
}

/// The byte range of the `{ .. }` block opening at or after `from`, unless a `;` comes
/// first (a declaration without a body).
fn block_at(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() && bytes[i] != b'{' {
        if bytes[i] == b';' {
            return None;
        }
        i += 1;
    }
    let start = i;
    let mut depth = 0usize;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((start, i + 1));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn imports_of(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for c in USE_ITEM.captures_iter(text) {
        let tree = &c[2];
        let head = tree.split([':', '{']).next().unwrap_or_default().trim();
        for w in WORD.captures_iter(tree) {
            // `use crate::{poll, push}` imports modules: each names itself.
            let module = if head.is_empty() { &w[1] } else { head };
            out.insert(w[1].to_owned(), module.to_owned());
        }
        for a in ALIAS.captures_iter(tree) {
            out.insert(a[2].to_owned(), a[1].to_owned());
        }
    }
    out
}

/// Every function with a body under `dir` (shipped parts only).
pub fn fn_items(dir: &Path) -> Result<Vec<FnItem>, String> {
    let mut items = Vec::new();
    for file in rust_files(dir)? {
        let full =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        // Words in strings and comments call nothing (and braces there would mislead).
        let text =
            STRING_OR_COMMENT.replace_all(shipped_part(&full), |c: &regex::Captures| {
                match c[0].chars().next() {
                    Some('"' | 'r') => "\"\"",
                    Some('\'') => "' '",
                    _ => "",
                }
            });
        let text = text.as_ref();
        let module = module_of(&file);
        let imports = imports_of(text);
        let impls: Vec<(usize, usize, String, bool)> = IMPL_ITEM
            .captures_iter(text)
            .filter_map(|c| {
                let at = c.get(0)?.end();
                let (s, e) = block_at(text, at)?;
                Some((s, e, c[2].to_owned(), c.get(1).is_some()))
            })
            .collect();
        for c in FN_ITEM.captures_iter(text) {
            let at = c.get(0).expect("match").end();
            let Some((s, e)) = block_at(text, at) else {
                continue;
            };
            let enclosing = impls.iter().find(|(is, ie, _, _)| *is < s && e <= *ie);
            items.push(FnItem {
                module: module.clone(),
                name: c[1].to_owned(),
                impl_of: enclosing.map(|(_, _, t, _)| t.clone()),
                trait_impl: enclosing.is_some_and(|(_, _, _, t)| *t),
                body: text[s..e].to_owned(),
                imports: imports.clone(),
            });
        }
    }
    Ok(items)
}

/// The functions a body may call or hand on (a handler passed to a router), by name.
fn callees(
    items: &[FnItem],
    caller_module: &str,
    body: &str,
    imports: &BTreeMap<String, String>,
) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let resolve_module = |m: &str| imports.get(m).cloned().unwrap_or_else(|| m.to_owned());
    for c in PATH_CALL.captures_iter(body) {
        let (qual, name) = (resolve_module(&c[1]), &c[2]);
        let in_module: Vec<usize> = (0..items.len())
            .filter(|&i| {
                items[i].name == name
                    && (items[i].module == qual || items[i].impl_of.as_deref() == Some(&qual))
            })
            .collect();
        if in_module.is_empty() && qual.chars().next().is_some_and(char::is_uppercase) {
            // A type we do not know the module of: any function of that name.
            out.extend((0..items.len()).filter(|&i| items[i].name == name));
        }
        out.extend(in_module);
    }
    for c in METHOD_CALL.captures_iter(body) {
        out.extend(
            (0..items.len()).filter(|&i| items[i].name == c[1] && items[i].impl_of.is_some()),
        );
    }
    for w in WORD.captures_iter(body) {
        let word = &w[1];
        // Same module, or imported by name from another one.
        out.extend((0..items.len()).filter(|&i| {
            items[i].name == word
                && items[i].impl_of.is_none()
                && (items[i].module == caller_module
                    || imports.get(word).is_some_and(|m| m == &items[i].module))
        }));
        // Constructing a type that implements a trait hands all its methods to the caller
        // of that trait (a token provider the Salesforce client calls back).
        if word.chars().next().is_some_and(char::is_uppercase) {
            out.extend(
                (0..items.len())
                    .filter(|&i| items[i].trait_impl && items[i].impl_of.as_deref() == Some(word)),
            );
        }
    }
    out
}

/// Indices of the functions reachable from the entry expressions of a main.rs.
pub fn reachable(items: &[FnItem], main_rs: &str) -> BTreeSet<usize> {
    let main_imports = BTreeMap::new();
    let mut todo: Vec<usize> = callees(items, "main", shipped_part(main_rs), &main_imports)
        .into_iter()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        let item = &items[i];
        todo.extend(callees(items, &item.module, &item.body, &item.imports));
    }
    seen
}

/// The port calls in one body.
pub fn port_calls(item: &FnItem) -> BTreeSet<PortCall> {
    let mut out = BTreeSet::new();
    for c in QUEUE_SEND.captures_iter(&item.body) {
        out.insert(PortCall::QueueSend(c[1].to_owned()));
    }
    for c in VAULT_CALL.captures_iter(&item.body) {
        out.insert(PortCall::Vault(c[1].to_owned()));
    }
    if TABLE_CALL.is_match(&item.body) {
        out.insert(PortCall::Table);
    }
    if item.body.contains("read_secret_string(") {
        out.insert(PortCall::PlainSecretRead(item.name.clone()));
    }
    out
}

/// `put_secret_value` -> `PutSecretValue`.
pub fn camel(op: &str) -> String {
    op.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// For an adapter file implementing a port trait: method -> SDK operations (CamelCase),
/// following `self.helper(..)` calls within the file.
pub fn adapter_ops(text: &str, trait_name: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = shipped_part(text);
    let mut helpers: BTreeMap<String, String> = BTreeMap::new();
    let mut methods: BTreeMap<String, String> = BTreeMap::new();
    let trait_impl = IMPL_ITEM
        .captures_iter(text)
        .filter(|c| c.get(1).is_some_and(|t| t.as_str() == trait_name))
        .find_map(|c| block_at(text, c.get(0)?.end()));
    for c in FN_ITEM.captures_iter(text) {
        let at = c.get(0).expect("match").end();
        let Some((s, e)) = block_at(text, at) else {
            continue;
        };
        let body = text[s..e].to_owned();
        match trait_impl {
            Some((ts, te)) if ts < s && e <= te => methods.insert(c[1].to_owned(), body),
            _ => helpers.insert(c[1].to_owned(), body),
        };
    }
    let ops_of = |body: &str| -> BTreeSet<String> {
        let mut ops: BTreeSet<String> = SDK_OP.captures_iter(body).map(|c| camel(&c[1])).collect();
        for h in SELF_CALL.captures_iter(body) {
            if let Some(hb) = helpers.get(&h[1]) {
                ops.extend(SDK_OP.captures_iter(hb).map(|c| camel(&c[1])));
            }
        }
        ops
    };
    methods
        .iter()
        .map(|(name, body)| (name.clone(), ops_of(body)))
        .collect()
}

/// Every SDK operation (CamelCase) called under `dir`, e.g. the DynamoDB adapter's.
pub fn sdk_ops_under(dir: &Path) -> Result<BTreeSet<String>, String> {
    static ANY_OP: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.(get_item|put_item|update_item|delete_item|query|scan|batch_write_item|batch_get_item|transact_write_items|transact_get_items)\(\)")
            .expect("valid regex")
    });
    let mut ops = BTreeSet::new();
    for file in rust_files(dir)? {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        ops.extend(
            ANY_OP
                .captures_iter(shipped_part(&text))
                .map(|c| camel(&c[1])),
        );
    }
    Ok(ops)
}
