//! SOQL tokens with byte positions.

use super::SoqlError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Str(String),
    Number(f64),
    /// A date (`2024-01-31`) or datetime (`2024-01-31T10:00:00Z`) literal, raw.
    DateLit(String),
    Comma,
    Dot,
    LParen,
    RParen,
    Colon,
    Op(&'static str),
    Eof,
}

impl Tok {
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => s.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Number(n) => n.to_string(),
            Tok::DateLit(s) => s.clone(),
            Tok::Comma => ",".into(),
            Tok::Dot => ".".into(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Colon => ":".into(),
            Tok::Op(o) => (*o).into(),
            Tok::Eof => "<EOF>".into(),
        }
    }
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

pub fn lex(src: &str) -> Result<Vec<Token>, SoqlError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        let tok = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b',' => (Tok::Comma, i += 1).0,
            b'.' => (Tok::Dot, i += 1).0,
            b'(' => (Tok::LParen, i += 1).0,
            b')' => (Tok::RParen, i += 1).0,
            b':' => (Tok::Colon, i += 1).0,
            b'=' => (Tok::Op("="), i += 1).0,
            b'!' if b.get(i + 1) == Some(&b'=') => (Tok::Op("!="), i += 2).0,
            b'<' if b.get(i + 1) == Some(&b'>') => (Tok::Op("!="), i += 2).0,
            b'<' if b.get(i + 1) == Some(&b'=') => (Tok::Op("<="), i += 2).0,
            b'>' if b.get(i + 1) == Some(&b'=') => (Tok::Op(">="), i += 2).0,
            b'<' => (Tok::Op("<"), i += 1).0,
            b'>' => (Tok::Op(">"), i += 1).0,
            b'\'' => {
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = b.get(i) else {
                        return Err(SoqlError::malformed(
                            start,
                            "line 1:0 mismatched character '<EOF>' expecting '''",
                        ));
                    };
                    match ch {
                        b'\\' => {
                            let esc = src[i + 1..].chars().next().ok_or_else(|| {
                                SoqlError::malformed(
                                    i,
                                    "Invalid string literal: unterminated escape",
                                )
                            })?;
                            match esc {
                                'n' => s.push('\n'),
                                't' => s.push('\t'),
                                'r' => s.push('\r'),
                                // keep LIKE escapes for the matcher
                                '%' | '_' => {
                                    s.push('\\');
                                    s.push(esc);
                                }
                                other => s.push(other),
                            }
                            i += 1 + esc.len_utf8();
                        }
                        b'\'' => {
                            i += 1;
                            break;
                        }
                        _ => {
                            let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                            s.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                Tok::Str(s)
            }
            b'0'..=b'9' | b'-' | b'+' => {
                // date/datetime literal or number
                let rest = &src[i..];
                if let Some(len) = date_literal_len(rest) {
                    i += len;
                    Tok::DateLit(rest[..len].to_string())
                } else {
                    let mut j = i + 1;
                    while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                        j += 1;
                    }
                    let text = &src[i..j];
                    let n = text.parse::<f64>().map_err(|_| {
                        SoqlError::malformed(start, format!("unexpected token: {text}"))
                    })?;
                    i = j;
                    Tok::Number(n)
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let s = src[i..j].to_string();
                i = j;
                Tok::Ident(s)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err(SoqlError::malformed(
                    start,
                    format!("line 1:{start} no viable alternative at character '{ch}'"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(out)
}

/// Length of a `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss(.fff)?(Z|±hh:mm|±hhmm)` prefix.
fn date_literal_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    if !(digits(0, 4)
        && b.get(4) == Some(&b'-')
        && digits(5, 2)
        && b.get(7) == Some(&b'-')
        && digits(8, 2))
    {
        return None;
    }
    let mut len = 10;
    if b.get(10) == Some(&b'T') {
        if !(digits(11, 2)
            && b.get(13) == Some(&b':')
            && digits(14, 2)
            && b.get(16) == Some(&b':')
            && digits(17, 2))
        {
            return None;
        }
        len = 19;
        if b.get(len) == Some(&b'.') {
            len += 1;
            while b.get(len).is_some_and(u8::is_ascii_digit) {
                len += 1;
            }
        }
        match b.get(len) {
            Some(b'Z') => len += 1,
            Some(b'+') | Some(b'-') => {
                if digits(len + 1, 2) && b.get(len + 3) == Some(&b':') && digits(len + 4, 2) {
                    len += 6;
                } else if digits(len + 1, 4) {
                    len += 5;
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(len)
}
