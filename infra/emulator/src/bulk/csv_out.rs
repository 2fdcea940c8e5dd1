//! Query results as CSV: a header row, then one row per record, every value quoted as in
//! the guide's examples (`"Id","Name"`). A relationship field is a dotted column
//! (`Owner.Email`); a null value is an empty field.

use super::{Delimiter, LineEnding};
use serde_json::Value;

/// Rendered rows, kept as one string with the byte offset where each row starts, so any
/// result set is a slice (no per-request work proportional to the whole job).
#[derive(Debug, Default)]
pub struct CsvRows {
    pub header: String,
    pub rows: String,
    /// `starts[i]` is where row `i` begins; the last entry is `rows.len()`.
    pub starts: Vec<usize>,
}

impl CsvRows {
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Header plus rows `from..to`.
    pub fn page(&self, from: usize, to: usize) -> String {
        let mut out =
            String::with_capacity(self.header.len() + self.starts[to] - self.starts[from]);
        out.push_str(&self.header);
        out.push_str(&self.rows[self.starts[from]..self.starts[to]]);
        out
    }
}

fn writer(delimiter: Delimiter, ending: LineEnding) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(delimiter.byte())
        .terminator(ending.terminator())
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(Vec::new())
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The value at a dotted path of a projected record (`Owner.Email` → `rec.Owner.Email`).
fn at_path<'a>(rec: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(rec, |v, part| {
        v.get(part)
            .or_else(|| {
                v.as_object()?
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(_, v)| v)
            })
            .unwrap_or(&Value::Null)
    })
}

/// Renders `records` (the SOQL evaluator's JSON) under `columns`.
pub fn render(
    records: &[Value],
    columns: &[String],
    delimiter: Delimiter,
    ending: LineEnding,
) -> Result<CsvRows, csv::Error> {
    let mut head = writer(delimiter, ending);
    head.write_record(columns)?;
    let header = String::from_utf8_lossy(&into_bytes(head)?).into_owned();
    let mut w = writer(delimiter, ending);
    let mut starts = Vec::with_capacity(records.len() + 1);
    let mut fields: Vec<String> = Vec::with_capacity(columns.len());
    starts.push(0);
    for rec in records {
        fields.clear();
        fields.extend(columns.iter().map(|c| text(at_path(rec, c))));
        w.write_record(&fields)?;
        w.flush()?;
        starts.push(w.get_ref().len());
    }
    let rows = String::from_utf8_lossy(&into_bytes(w)?).into_owned();
    Ok(CsvRows {
        header,
        rows,
        starts,
    })
}

/// Plain rows (ingest results): the header and each row as given.
pub fn render_rows(
    header: &[String],
    rows: &[Vec<String>],
    delimiter: Delimiter,
    ending: LineEnding,
) -> Result<String, csv::Error> {
    let mut w = writer(delimiter, ending);
    w.write_record(header)?;
    for r in rows {
        w.write_record(r)?;
    }
    Ok(String::from_utf8_lossy(&into_bytes(w)?).into_owned())
}

fn into_bytes(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, csv::Error> {
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_every_value_and_slices_sets() {
        let recs = vec![
            json!({"Id": "003A", "Name": "Dunn, \"Jane\"", "Owner": {"Email": "o@x.com"}}),
            json!({"Id": "003B", "Name": null, "Owner": null}),
        ];
        let cols = vec!["Id".to_string(), "Name".into(), "Owner.Email".into()];
        let out = render(&recs, &cols, Delimiter::Comma, LineEnding::Crlf).unwrap();
        assert_eq!(out.header, "\"Id\",\"Name\",\"Owner.Email\"\r\n");
        assert_eq!(out.len(), 2);
        assert_eq!(
            out.page(0, 1),
            "\"Id\",\"Name\",\"Owner.Email\"\r\n\"003A\",\"Dunn, \"\"Jane\"\"\",\"o@x.com\"\r\n"
        );
        assert_eq!(out.page(1, 2).lines().nth(1), Some("\"003B\",\"\",\"\""));
    }

    #[test]
    fn other_delimiters() {
        let recs = vec![json!({"Id": "1", "N": "a|b"})];
        let cols = vec!["Id".to_string(), "N".into()];
        let out = render(&recs, &cols, Delimiter::Pipe, LineEnding::Lf).unwrap();
        assert_eq!(out.page(0, 1), "\"Id\"|\"N\"\n\"1\"|\"a|b\"\n");
    }
}
