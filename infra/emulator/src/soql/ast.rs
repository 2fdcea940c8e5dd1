//! SOQL syntax tree.

use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Vec<SelectItem>,
    pub object: String,
    pub object_pos: usize,
    pub filter: Option<Expr>,
    pub order_by: Vec<OrderKey>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

impl Query {
    pub fn is_count(&self) -> bool {
        matches!(self.select.as_slice(), [SelectItem::Count])
    }
}

/// A dotted field path (`Owner.Email`) with the position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub parts: Vec<String>,
    pub pos: usize,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.parts.join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    Field(Path),
    /// `COUNT()`
    Count,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// A relative date literal: `TODAY`, `YESTERDAY`, `TOMORROW`, `LAST_N_DAYS:n`, `NEXT_N_DAYS:n`.
    Relative(RelativeDate),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativeDate {
    Today,
    Yesterday,
    Tomorrow,
    LastNDays(i64),
    NextNDays(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp {
        path: Path,
        op: CmpOp,
        value: Literal,
        value_pos: usize,
    },
    In {
        path: Path,
        negated: bool,
        values: Vec<Literal>,
        value_pos: usize,
    },
    Like {
        path: Path,
        pattern: String,
        value_pos: usize,
    },
    /// `INCLUDES ('a;b', 'c')` / `EXCLUDES (…)` on multi-select picklists.
    Includes {
        path: Path,
        negated: bool,
        values: Vec<String>,
        value_pos: usize,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    pub path: Path,
    pub desc: bool,
    pub nulls_last: bool,
}
