//! A small element tree over quick-xml, for reading SOAP answers: names are local (the EWS
//! namespaces never collide in what is read), text is unescaped, and the tree is bounded in
//! depth and size so a hostile server cannot make the reader use unbounded memory or stack.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Deeper than any EWS answer (about 12 levels): a server nesting more is refused.
const MAX_DEPTH: usize = 64;
/// Elements in one answer: a page of 1,000 items with their properties stays well below.
const MAX_ELEMENTS: usize = 400_000;

/// One element: its local name, attributes (local names) and children; `text` is the
/// concatenated character data directly inside it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first element named `name` at any depth below this one (depth-first).
    pub fn find(&self, name: &str) -> Option<&Element> {
        for c in &self.children {
            if c.name == name {
                return Some(c);
            }
            if let Some(found) = c.find(name) {
                return Some(found);
            }
        }
        None
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text of the child named `name`, trimmed (`""` when absent).
    pub fn child_text(&self, name: &str) -> &str {
        self.child(name).map_or("", |c| c.text.trim())
    }
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_string()
}

fn element_of(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("a broken attribute: {e}"))?;
        let key = local(a.key.as_ref());
        // Namespace declarations carry nothing the backend reads.
        if a.key.as_ref().starts_with("xmlns") {
            continue;
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("a broken attribute value: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name: local(e.name().as_ref()),
        attrs,
        ..Element::default()
    })
}

/// The five entities XML predefines; EWS answers use no others.
fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// Parse a whole document into its root element.
pub fn parse(bytes: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(bytes);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err("the XML answer is nested too deeply or too large".into());
                }
                stack.push(element_of(&e)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err("the XML answer is too large".into());
                }
                let element = element_of(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = root.or(Some(element)),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("an end tag without a start".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = root.or(Some(done)),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => predefined(&r),
                    Err(e) => return Err(format!("a broken character reference: {e}")),
                };
                let Some(ch) = ch else {
                    return Err(format!("an unknown entity &{};", &*r));
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push(ch);
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions: nothing to read.
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("the XML answer ended inside an element".into());
    }
    root.ok_or_else(|| "an empty XML answer".into())
}

/// Text made safe inside an element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_local_text_is_unescaped_and_entities_bounded() {
        let doc = br#"<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Body>
            <m:A Id="a&amp;b"><t:V>&lt;id@host&gt; &#x41;</t:V><t:E/></m:A></s:Body></s:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        let a = root.find("A").unwrap();
        assert_eq!(a.attr("Id"), Some("a&b"));
        assert_eq!(a.child_text("V"), "<id@host> A");
        assert!(a.child("E").is_some());
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>&foo;</a>").is_err());
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
