//! A section's text as the cache entry and every answer made from it share it. Its JSON string
//! form — the text escaped — is made the first time an answer is sent and kept with the
//! entry, so a cache hit's response copies the escaped text instead of escaping every byte
//! again. Only ever serialized to JSON.

use std::{
    fmt,
    ops::Deref,
    sync::{Arc, OnceLock},
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

#[derive(Clone, Default)]
pub struct Text {
    plain: Arc<str>,
    json: Arc<OnceLock<Box<RawValue>>>,
}

impl Text {
    pub fn new(plain: impl Into<Arc<str>>) -> Self {
        Self {
            plain: plain.into(),
            json: Arc::default(),
        }
    }

    /// The text as a JSON string, escaped once.
    fn json(&self) -> &RawValue {
        self.json.get_or_init(|| {
            serde_json::to_string(&*self.plain)
                .and_then(RawValue::from_string)
                .expect("a string serializes to a JSON string")
        })
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.plain
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
        String::deserialize(deserializer).map(Self::new)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.plain == other.plain
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.plain, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_the_json_string_of_its_text_every_time() {
        let text = Text::new("第一行\n\"引号\" \\ 与 </script>");
        let expected = serde_json::to_string("第一行\n\"引号\" \\ 与 </script>").unwrap();
        let shared = text.clone();
        assert_eq!(serde_json::to_string(&text).unwrap(), expected);
        assert_eq!(serde_json::to_string(&shared).unwrap(), expected);
        let back: Text = serde_json::from_str(&expected).unwrap();
        assert_eq!(back, text);
        assert_eq!(&*back, "第一行\n\"引号\" \\ 与 </script>");
    }
}
