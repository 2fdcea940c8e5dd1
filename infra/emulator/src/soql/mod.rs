//! SOQL: [`lexer`] → [`parser`] (recursive descent, into [`ast`]) → [`eval`] against a store.
//! Errors carry the position of the offending token, rendered Salesforce-style (query line,
//! caret, `ERROR at Row:1:Column:N`, message).

pub mod ast;
pub mod eval;
pub mod filter;
mod index;
pub mod lexer;
pub mod parser;
pub mod resolve;

/// A SOQL error: `MALFORMED_QUERY`, `INVALID_FIELD` or `INVALID_TYPE`, at a byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub code: &'static str,
    pub pos: usize,
    pub message: String,
}

impl SoqlError {
    pub fn malformed(pos: usize, message: impl Into<String>) -> Self {
        Self {
            code: "MALFORMED_QUERY",
            pos,
            message: message.into(),
        }
    }

    /// Salesforce's multi-line message with a caret under the error position.
    pub fn render(&self, query: &str) -> String {
        let (row, line_start) = query[..self.pos.min(query.len())]
            .char_indices()
            .filter(|(_, c)| *c == '\n')
            .fold((1, 0), |(r, _), (i, _)| (r + 1, i + 1));
        let line_end = query[line_start..]
            .find('\n')
            .map_or(query.len(), |i| line_start + i);
        let line = &query[line_start..line_end];
        let col = query[line_start..self.pos.min(query.len())].chars().count();
        format!(
            "\n{line}\n{}^\nERROR at Row:{row}:Column:{}\n{}",
            " ".repeat(col),
            col + 1,
            self.message
        )
    }

    pub fn to_api(&self, query: &str) -> crate::error::ApiError {
        crate::error::ApiError::bad(self.code, self.render(query))
    }
}
