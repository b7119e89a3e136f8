//! A section's text as the cache entry and every answer made from it share it, in the two
//! forms answers need: plain (for the model's context, the stream, the check) and as a JSON
//! string (for the JSON answer). A cache entry is decoded straight into the JSON form — the
//! escaped text exactly as stored, one copy — and a hit's response copies it rather than
//! escaping every byte again; the plain form is unescaped only if something reads it. A new
//! answer starts plain and is escaped once, when first sent. Only ever serialized to JSON.

use std::{
    fmt,
    ops::Deref,
    sync::{Arc, OnceLock},
};

use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Clone)]
pub struct Text(Arc<Forms>);

/// At least one of the two is always set.
struct Forms {
    plain: OnceLock<Box<str>>,
    json: OnceLock<Box<RawValue>>,
}

impl Text {
    pub fn new(plain: impl Into<Box<str>>) -> Self {
        Self(Arc::new(Forms {
            plain: OnceLock::from(plain.into()),
            json: OnceLock::new(),
        }))
    }

    /// From a JSON string literal (quotes and escapes included).
    fn from_json(json: Box<RawValue>) -> Self {
        Self(Arc::new(Forms {
            plain: OnceLock::new(),
            json: OnceLock::from(json),
        }))
    }

    pub fn as_str(&self) -> &str {
        self.0.plain.get_or_init(|| {
            let json = self.0.json.get().map_or("\"\"", |j| j.get());
            serde_json::from_str::<String>(json)
                .expect("checked to be a JSON string when decoded")
                .into()
        })
    }

    fn json(&self) -> &RawValue {
        self.0.json.get_or_init(|| {
            serde_json::to_string(self.as_str())
                .and_then(RawValue::from_string)
                .expect("a string serializes to a JSON string")
        })
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        // Valid JSON by now; a string, checked, so the plain form can always be made from it.
        if !json.get().starts_with('"') {
            return Err(D::Error::custom("expected a JSON string"));
        }
        Ok(Self::from_json(json))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "第一行\n\"引号\" \\ 与 </script>";

    #[test]
    fn a_new_text_serializes_as_the_json_string_of_its_text_every_time() {
        let expected = serde_json::to_string(TEXT).unwrap();
        let text = Text::new(TEXT);
        let shared = text.clone();
        assert_eq!(serde_json::to_string(&text).unwrap(), expected);
        assert_eq!(serde_json::to_string(&shared).unwrap(), expected);
    }

    #[test]
    fn a_decoded_text_keeps_the_escaped_form_and_unescapes_when_read() {
        let stored = serde_json::to_string(TEXT).unwrap();
        let text: Text = serde_json::from_str(&stored).unwrap();
        assert_eq!(serde_json::to_string(&text).unwrap(), stored);
        assert_eq!(&*text, TEXT);
        assert_eq!(text, Text::new(TEXT));
        // Inside a struct, as a cache entry is read.
        #[derive(Deserialize)]
        struct Entry {
            content: Text,
        }
        let entry: Entry = serde_json::from_str(&format!(r#"{{"content":{stored}}}"#)).unwrap();
        assert_eq!(&*entry.content, TEXT);
    }

    #[test]
    fn anything_but_a_string_is_refused() {
        assert!(serde_json::from_str::<Text>("12").is_err());
        assert!(serde_json::from_str::<Text>(r#"{"a":1}"#).is_err());
        assert!(serde_json::from_str::<Text>("null").is_err());
    }
}
