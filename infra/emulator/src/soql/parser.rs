//! Recursive-descent SOQL parser for the subset crmsync and common clients use.

use super::SoqlError;
use super::ast::*;
use super::lexer::{Tok, Token, lex};
use chrono::NaiveDate;

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "OFFSET", "IN", "LIKE",
    "NULL", "TRUE", "FALSE", "GROUP", "HAVING", "NULLS",
];

pub fn parse(src: &str) -> Result<Query, SoqlError> {
    let toks = lex(src)?;
    let mut p = Parser { toks, i: 0 };
    let q = p.query()?;
    Ok(q)
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }
    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn unexpected(&self) -> SoqlError {
        let t = self.peek();
        SoqlError::malformed(t.pos, format!("unexpected token: {}", t.tok.describe()))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().tok.is_kw(kw) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }
    fn expect(&mut self, tok: Tok) -> Result<(), SoqlError> {
        if self.peek().tok == tok {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn ident(&mut self) -> Result<(String, usize), SoqlError> {
        match &self.peek().tok {
            Tok::Ident(s) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) => {
                let t = self.next();
                match t.tok {
                    Tok::Ident(s) => Ok((s, t.pos)),
                    _ => Err(self.unexpected()),
                }
            }
            _ => Err(self.unexpected()),
        }
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let (first, pos) = self.ident()?;
        let mut parts = vec![first];
        while self.peek().tok == Tok::Dot {
            self.i += 1;
            parts.push(self.ident()?.0);
        }
        Ok(Path { parts, pos })
    }

    fn query(&mut self) -> Result<Query, SoqlError> {
        self.expect_kw("SELECT")?;
        let mut select = Vec::new();
        loop {
            if self.peek().tok.is_kw("COUNT")
                && self.toks.get(self.i + 1).map(|t| &t.tok) == Some(&Tok::LParen)
            {
                self.i += 1;
                self.expect(Tok::LParen)?;
                self.expect(Tok::RParen)?;
                select.push(SelectItem::Count);
            } else {
                select.push(SelectItem::Field(self.path()?));
            }
            if self.peek().tok == Tok::Comma {
                self.i += 1;
            } else {
                break;
            }
        }
        if select.len() > 1 && select.contains(&SelectItem::Count) {
            return Err(SoqlError::malformed(
                self.peek().pos,
                "COUNT() must be the only element in the SELECT list.",
            ));
        }
        self.expect_kw("FROM")?;
        let (object, object_pos) = self.ident()?;
        let filter = if self.eat_kw("WHERE") {
            Some(self.or_expr()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                let nulls_last = if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        true
                    } else {
                        self.expect_kw("FIRST")?;
                        false
                    }
                } else {
                    desc
                };
                order_by.push(OrderKey {
                    path,
                    desc,
                    nulls_last,
                });
                if self.peek().tok == Tok::Comma {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.count_value()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.count_value()?)
        } else {
            None
        };
        if self.peek().tok != Tok::Eof {
            return Err(self.unexpected());
        }
        Ok(Query {
            select,
            object,
            object_pos,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn count_value(&mut self) -> Result<usize, SoqlError> {
        match self.peek().tok {
            Tok::Number(n) if n >= 0.0 && n.fract() == 0.0 => {
                self.i += 1;
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, SoqlError> {
        let mut left = self.and_expr()?;
        while self.eat_kw("OR") {
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, SoqlError> {
        let mut left = self.not_expr()?;
        while self.eat_kw("AND") {
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, SoqlError> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        if self.peek().tok == Tok::LParen {
            self.i += 1;
            let e = self.or_expr()?;
            self.expect(Tok::RParen)?;
            return Ok(e);
        }
        self.condition()
    }

    fn condition(&mut self) -> Result<Expr, SoqlError> {
        let path = self.path()?;
        let negated_in = self.peek().tok.is_kw("NOT")
            && self.toks.get(self.i + 1).is_some_and(|t| t.tok.is_kw("IN"));
        if negated_in || self.peek().tok.is_kw("IN") {
            if negated_in {
                self.i += 1;
            }
            self.i += 1;
            let value_pos = self.peek().pos;
            self.expect(Tok::LParen)?;
            let mut values = vec![self.literal()?];
            while self.peek().tok == Tok::Comma {
                self.i += 1;
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Expr::In {
                path,
                negated: negated_in,
                values,
                value_pos,
            });
        }
        let includes = self.peek().tok.is_kw("INCLUDES");
        if includes || self.peek().tok.is_kw("EXCLUDES") {
            self.i += 1;
            let value_pos = self.peek().pos;
            self.expect(Tok::LParen)?;
            let mut values = Vec::new();
            loop {
                match self.next().tok {
                    Tok::Str(s) => values.push(s),
                    _ => {
                        self.i -= 1;
                        return Err(self.unexpected());
                    }
                }
                if self.peek().tok == Tok::Comma {
                    self.i += 1;
                } else {
                    break;
                }
            }
            self.expect(Tok::RParen)?;
            return Ok(Expr::Includes {
                path,
                negated: !includes,
                values,
                value_pos,
            });
        }
        if self.eat_kw("LIKE") {
            let value_pos = self.peek().pos;
            return match self.next().tok {
                Tok::Str(pattern) => Ok(Expr::Like {
                    path,
                    pattern,
                    value_pos,
                }),
                _ => {
                    self.i -= 1;
                    Err(self.unexpected())
                }
            };
        }
        let op = match self.peek().tok {
            Tok::Op("=") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        let value_pos = self.peek().pos;
        let value = self.literal()?;
        Ok(Expr::Cmp {
            path,
            op,
            value,
            value_pos,
        })
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.peek().clone();
        let lit = match &t.tok {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Number(n) => Literal::Number(*n),
            Tok::Ident(s) if s.eq_ignore_ascii_case("null") => Literal::Null,
            Tok::Ident(s) if s.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(s) if s.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(s) => return self.relative_date(s.clone(), t.pos),
            Tok::DateLit(s) if s.len() == 10 => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Literal::Date)
                .map_err(|_| {
                    SoqlError::malformed(
                        t.pos,
                        format!("line 1:{} no viable alternative at character '{s}'", t.pos),
                    )
                })?,
            Tok::DateLit(s) => crate::clock::parse_datetime(s)
                .map(Literal::DateTime)
                .ok_or_else(|| SoqlError::malformed(t.pos, format!("unexpected token: {s}")))?,
            _ => return Err(self.unexpected()),
        };
        self.i += 1;
        Ok(lit)
    }

    fn relative_date(&mut self, name: String, pos: usize) -> Result<Literal, SoqlError> {
        let upper = name.to_ascii_uppercase();
        let simple = match upper.as_str() {
            "TODAY" => Some(RelativeDate::Today),
            "YESTERDAY" => Some(RelativeDate::Yesterday),
            "TOMORROW" => Some(RelativeDate::Tomorrow),
            _ => None,
        };
        self.i += 1;
        if let Some(r) = simple {
            return Ok(Literal::Relative(r));
        }
        if !matches!(upper.as_str(), "LAST_N_DAYS" | "NEXT_N_DAYS") {
            return Err(SoqlError::malformed(
                pos,
                format!("unexpected token: {name}"),
            ));
        }
        self.expect(Tok::Colon)?;
        let n = self.count_value()? as i64;
        Ok(Literal::Relative(if upper == "LAST_N_DAYS" {
            RelativeDate::LastNDays(n)
        } else {
            RelativeDate::NextNDays(n)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_sync_query() {
        let q = parse(
            "SELECT Id, Name, Owner.Email FROM Contact WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR (SystemModstamp = 2024-01-01T00:00:00.000+0000 AND Id > '003000000000001')) AND NOT Email = null ORDER BY SystemModstamp ASC, Id DESC NULLS FIRST LIMIT 200 OFFSET 5",
        )
        .expect("parses");
        assert_eq!(q.object, "Contact");
        assert_eq!(q.select.len(), 3);
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[1].desc && !q.order_by[1].nulls_last);
        assert_eq!(q.limit, Some(200));
        assert_eq!(q.offset, Some(5));
    }

    #[test]
    fn reports_position_of_bad_token() {
        let err = parse("SELECT Id FORM Contact").expect_err("fails");
        assert_eq!(err.code, "MALFORMED_QUERY");
        assert_eq!(err.pos, 10);
        let msg = err.render("SELECT Id FORM Contact");
        assert!(msg.contains("ERROR at Row:1:Column:11"), "{msg}");
        assert!(msg.contains("\n          ^\n"), "{msg}");
    }

    #[test]
    fn in_not_in_like_and_count() {
        let q = parse("SELECT COUNT() FROM Lead WHERE Status NOT IN ('a','b') AND Name LIKE 'A%'")
            .expect("parses");
        assert!(q.is_count());
        assert!(matches!(q.filter, Some(Expr::And(..))));
    }

    #[test]
    fn odd_input_never_panics() {
        for q in [
            "SELECT Id FROM Contact WHERE Name = 'a\\é'",
            "SELECT Id FROM Contact WHERE Name = 'é",
            "SELECT Id FROM Contact WHERE Name = '\\",
            "SELECT é FROM Contact",
            "SELECT Id FROM Contact WHERE Name LIKE",
            "SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:",
            "SELECT Id FROM Contact LIMIT -1",
            "",
            "SELECT",
        ] {
            let _ = parse(q).map_err(|e| e.render(q));
        }
        let q = parse("SELECT Id FROM Contact WHERE Name = 'O\\'Brien \\é'").expect("escapes");
        assert!(
            matches!(q.filter, Some(Expr::Cmp { value: Literal::String(ref s), .. }) if s == "O'Brien é")
        );
    }

    #[test]
    fn relative_dates() {
        let q =
            parse("SELECT Id FROM Contact WHERE CreatedDate = LAST_N_DAYS:7 OR CloseDate > today")
                .expect("parses");
        let Some(Expr::Or(a, b)) = q.filter else {
            panic!("or expected")
        };
        assert!(matches!(
            *a,
            Expr::Cmp {
                value: Literal::Relative(RelativeDate::LastNDays(7)),
                ..
            }
        ));
        assert!(matches!(
            *b,
            Expr::Cmp {
                value: Literal::Relative(RelativeDate::Today),
                ..
            }
        ));
        assert!(parse("SELECT Id FROM Contact WHERE CreatedDate = SOMEDAY").is_err());
    }
}
