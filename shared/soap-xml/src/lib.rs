//! A small element tree over quick-xml for SOAP envelopes, shared by the Salesforce client
//! (`crmsync-salesforce`) and the emulator (`sf-emulator`): envelopes are tiny, and a tree
//! keeps their handlers free of event-loop code. Names are local (namespace prefixes
//! dropped): Salesforce answers in a default namespace, faults prefix theirs (`sf:`), and
//! SOAP clients prefix the partner namespace freely (`urn:`, `ns1:` or a default xmlns).

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

/// One element: local name, text, `xsi:nil`, children in order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub nil: bool,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of a child; `None` when absent, nil or empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .filter(|c| !c.nil)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }

    /// A descendant by a path of local names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, n| e.child(n))
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or_default().to_string()
}

/// Parses a whole document into its root element.
pub fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let open = |e: &BytesStart<'_>| -> Element {
        let nil = e
            .attributes()
            .flatten()
            .any(|a| local(a.key.as_ref()) == "nil" && matches!(a.value.as_ref(), b"true" | b"1"));
        Element {
            name: local(e.name().as_ref()),
            nil,
            ..Element::default()
        }
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(open(&e)),
            Event::Empty(e) => {
                let el = open(&e);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => return Ok(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            // `&amp;`, `&#233;`: quick-xml reports references on their own.
            Event::GeneralRef(r) => {
                let raw = format!("&{};", r.decode().map_err(|e| e.to_string())?);
                let text = quick_xml::escape::unescape(&raw).map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::Eof => return Err("no root element".into()),
            _ => {}
        }
    }
}

/// Writes elements; text is escaped by quick-xml.
pub struct Out {
    w: Writer<Vec<u8>>,
}

impl Default for Out {
    fn default() -> Self {
        Self::new()
    }
}

impl Out {
    pub fn new() -> Self {
        Out {
            w: Writer::new(Vec::new()),
        }
    }

    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) -> &mut Self {
        let mut start = BytesStart::new(name);
        for a in attrs {
            start.push_attribute(*a);
        }
        let _ = self.w.write_event(Event::Start(start));
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
        self
    }

    /// `<name>text</name>`, or `<name xsi:nil="true"/>` for `None`.
    pub fn leaf(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        match text {
            Some(t) => {
                let _ = self.w.write_event(Event::Start(BytesStart::new(name)));
                let _ = self.w.write_event(Event::Text(BytesText::new(t)));
                let _ = self.w.write_event(Event::End(BytesEnd::new(name)));
            }
            None => {
                let mut e = BytesStart::new(name);
                e.push_attribute(("xsi:nil", "true"));
                let _ = self.w.write_event(Event::Empty(e));
            }
        }
        self
    }

    pub fn finish(self) -> String {
        String::from_utf8(self.w.into_inner()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixed_names_nil_and_entities() {
        let doc = r#"<?xml version="1.0"?><s:Envelope xmlns:s="x" xmlns:xsi="y"><s:Body>
            <urn:convertLead xmlns:urn="urn:partner.soap.sforce.com"><urn:leadConverts>
            <urn:leadId>00Q1</urn:leadId><urn:accountId xsi:nil="true"/>
            <urn:opportunityName>Fry &amp; Sons &#233;</urn:opportunityName>
            </urn:leadConverts></urn:convertLead></s:Body></s:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        let lc = root.path(&["Body", "convertLead", "leadConverts"]).unwrap();
        assert_eq!(lc.text_of("leadId"), Some("00Q1"));
        assert!(lc.child("accountId").unwrap().nil);
        assert_eq!(lc.text_of("accountId"), None);
        assert_eq!(lc.text_of("opportunityName"), Some("Fry & Sons é"));
    }

    #[test]
    fn writes_escaped_text_and_nil() {
        let mut o = Out::new();
        o.open("r", &[])
            .leaf("a", Some("<&>"))
            .leaf("b", None)
            .close("r");
        assert_eq!(
            o.finish(),
            r#"<r><a>&lt;&amp;&gt;</a><b xsi:nil="true"/></r>"#
        );
        assert!(parse("<a><b></a>").is_err());
    }
}
